#!/bin/sh
# One call on a GPU machine (about 3 minutes on an H200, at most 8): build llmgps and the CUDA
# measurement tool, sweep cuBLASLt GEMMs (square, skinny, short-K, odd, strided-batched as grouped;
# FP8 and BF16) with the SM clock and board power read through NVML during each, measure HBM copy
# bandwidth and kernel launch gaps (eager and CUDA graph: measured-launch.csv), write the CSVs in
# the validate schema, and score the unchanged models on them
# (`llmgps validate`: the out-of-sample figure, before any refit).
#   scripts/gpu/measure.sh [OUT_DIR] [HW_PRESET]     (defaults: $OUT or ./gpu-out; the preset of
#   the GPU nvidia-smi names: h200-sxm, h100-sxm5, h800-sxm5 or a100-sxm4-80g)
# Commit OUT_DIR/measured-*.csv under data/measurements/ with the date and the GPU in the name.
# Exit code: 0 measured and scored, 2 the build or a run failed.
set -u
OUT_DIR=${1:-${OUT:-gpu-out}}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/measure.log"
. "$(dirname "$0")/lib.sh"
HW=$(gpu_hw "${2:-}") || exit 2
gpu_log_header "$LOG"
NOTE="$(date -u +%Y-%m-%d); driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1); $("$NVCC" --version 2>/dev/null | tail -1)"
gpu_build "$LOG" llmgps llmgps_gpu_measure
"$BUILD/cuda/llmgps_gpu_measure" "$OUT_DIR" "$HW" "$NOTE" >>"$LOG" 2>&1 ||
  { echo "measurement failed (see $LOG)"; tail -20 "$LOG"; exit 2; }
tail -45 "$LOG"
for f in "$OUT_DIR"/measured-gemm.csv "$OUT_DIR"/measured-copy.csv "$OUT_DIR"/measured-launch.csv; do
  [ -s "$f" ] || { echo "no $f written"; exit 2; }
done
# One scores file, so that this script and validate.sh together leave 8 files (what a device call
# brings back at most): measure.log, three CSVs, validate.txt; validate.log and two CSVs.
SCORES="$OUT_DIR/validate.txt"
"$BUILD/llmgps" validate --measurements "$OUT_DIR/measured-copy.csv" >"$SCORES" 2>&1 &&
  "$BUILD/llmgps" validate --measurements "$OUT_DIR/measured-gemm.csv" --samples --worst 10 \
    >>"$SCORES" 2>&1 || { cat "$SCORES"; exit 2; }
head -40 "$SCORES"
cat "$OUT_DIR/measured-launch.csv"
exit 0
