#!/bin/sh
# One call on a GPU machine (about 3 minutes on an H200, at most 8): build llmgps and the CUDA
# measurement tool, sweep cuBLASLt GEMMs (square, skinny, short-K, odd, strided-batched as grouped;
# FP8 and BF16) with the SM clock and board power read through NVML during each, measure HBM copy
# bandwidth and kernel launch gaps (eager and CUDA graph: measured-launch.csv), write the CSVs in
# the validate schema, and score the unchanged models on them
# (`llmgps validate`: the out-of-sample figure, before any refit).
#   scripts/gpu/measure.sh [OUT_DIR] [HW_PRESET]     (defaults: $OUT or ./gpu-out, h200-sxm)
# Commit OUT_DIR/measured-*.csv under data/measurements/ with the date and the GPU in the name.
# Exit code: 0 measured and scored, 2 the build or a run failed.
set -u
OUT_DIR=${1:-${OUT:-gpu-out}}
HW=${2:-h200-sxm}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/measure.log"
. "$(dirname "$0")/lib.sh"
gpu_log_header "$LOG"
NOTE="$(date -u +%Y-%m-%d); driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1); $("$NVCC" --version 2>/dev/null | tail -1)"
gpu_build "$LOG" llmgps llmgps_gpu_measure
"$BUILD/cuda/llmgps_gpu_measure" "$OUT_DIR" "$HW" "$NOTE" >>"$LOG" 2>&1 ||
  { echo "measurement failed (see $LOG)"; tail -20 "$LOG"; exit 2; }
tail -45 "$LOG"
for f in "$OUT_DIR"/measured-gemm.csv "$OUT_DIR"/measured-copy.csv "$OUT_DIR"/measured-launch.csv; do
  [ -s "$f" ] || { echo "no $f written"; exit 2; }
done
"$BUILD/llmgps" validate --measurements "$OUT_DIR/measured-gemm.csv" --samples --worst 10 \
  >"$OUT_DIR/validate-gemm.txt" 2>&1 || { cat "$OUT_DIR/validate-gemm.txt"; exit 2; }
"$BUILD/llmgps" validate --measurements "$OUT_DIR/measured-copy.csv" \
  >"$OUT_DIR/validate-copy.txt" 2>&1 || { cat "$OUT_DIR/validate-copy.txt"; exit 2; }
head -20 "$OUT_DIR/validate-gemm.txt"
cat "$OUT_DIR/validate-copy.txt"
cat "$OUT_DIR/measured-launch.csv"
exit 0
