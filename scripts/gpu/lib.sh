# Shared by scripts/gpu/measure.sh and validate.sh (sourced, POSIX sh): the run's log header and
# the CUDA build of the targets a script needs.
BUILD=${BUILD:-build-gpu}
NVCC=/usr/local/cuda/bin/nvcc

# gpu_log_header LOG: the date, the GPU (nvidia-smi) and the compiler, as the log's first lines.
gpu_log_header() {
  {
    date -u +"%Y-%m-%dT%H:%M:%SZ"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
      --format=csv 2>&1 || true
    "$NVCC" --version 2>&1 | tail -1
  } >"$1"
}

# gpu_build LOG TARGET...: configure for sm_90 and build the targets, or exit 2 naming the log.
gpu_build() {
  log=$1
  shift
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMGPS_TESTS=OFF -DLLMGPS_BENCH=OFF \
    -DLLMGPS_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" >>"$log" 2>&1 &&
    cmake --build "$BUILD" --target "$@" >>"$log" 2>&1 ||
    { echo "build failed (see $log)"; tail -20 "$log"; exit 2; }
}
