#!/bin/sh
# One call on a GPU machine: build the CUDA pieces, check the GPU dropout mask against the CPU one
# bit for bit, time cuBLASLt FP8 GEMMs under the heuristic's top algorithm configurations (tile,
# stages, cluster) and limited to fewer SMs, the RNG mask kernel alone and both on two streams,
# record whether the RNG CTAs ran beside the GEMM (SM ids and timer stamps per CTA), and write
# gpu_bench.csv (masks) and gpu_bench_overlap.csv (timings, with the model's way and times for the
# same shapes beside each row). Commit them under data/measurements/ with the date and the GPU.
#   scripts/gpu/validate.sh [OUT_DIR] [HW_PRESET]     (defaults: $OUT or ./gpu-out; the preset of
#   the GPU nvidia-smi names: h200-sxm, h100-sxm5, h800-sxm5 or a100-sxm4-80g)
# Exit code: 0 all masks matched, 1 a mask differed, 2 the build or the run failed.
set -u
OUT_DIR=${1:-${OUT:-gpu-out}}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/validate.log"
. "$(dirname "$0")/lib.sh"
HW=$(gpu_hw "${2:-}") || exit 2
gpu_log_header "$LOG"
gpu_build "$LOG" llmgps_gpu_bench
"$BUILD/cuda/llmgps_gpu_bench" "$OUT_DIR/gpu_bench.csv" "$HW" 2>&1 | tee -a "$LOG"
# POSIX sh has no PIPESTATUS: read the bench's status from its CSV and log instead.
if [ ! -s "$OUT_DIR/gpu_bench.csv" ]; then echo "no CSV written"; exit 2; fi
if grep -q "MISMATCH" "$LOG"; then exit 1; fi
exit 0
