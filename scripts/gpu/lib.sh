# Shared by scripts/gpu/measure.sh and validate.sh (sourced, POSIX sh): the run's log header, the
# GPU's preset, and the binaries a script needs: a kit carried from the development machine
# (scripts/gpu/kit.sh, gpu-kit/) when there is one, else a sm_90 build here.
NVCC=/usr/local/cuda/bin/nvcc
if [ -f gpu-kit/KIT ]; then
  BUILD=gpu-kit
  LD_LIBRARY_PATH="$PWD/gpu-kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
else
  BUILD=${BUILD:-build-gpu}
fi

# gpu_log_header LOG: the date, the GPU (nvidia-smi), the compiler and the kit, as the log's first
# lines.
gpu_log_header() {
  {
    date -u +"%Y-%m-%dT%H:%M:%SZ"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
      --format=csv 2>&1 || true
    "$NVCC" --version 2>&1 | tail -1
    if [ "$BUILD" = gpu-kit ]; then sed 's/^/kit: /' gpu-kit/KIT; fi
  } >"$1"
}

# gpu_preset: the llmgps preset of the GPU nvidia-smi names first (empty when there is none).
gpu_preset() {
  case "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)" in
    # No preset for these: other clocks, power and memory than the SXM boards (Grace Hopper's
    # GH200 too).
    *GH200* | *H200*NVL* | *H100*PCIe* | *H100*NVL* | *H800*PCIe*) ;;
    *H200*) echo h200-sxm ;;
    *H100*) echo h100-sxm5 ;;
    *H800*) echo h800-sxm5 ;;
    *A100-SXM4-80GB*) echo a100-sxm4-80g ;;
  esac
}

# gpu_hw ARG: ARG when given, else the GPU's preset; exits 2 naming the GPU when there is none.
gpu_hw() {
  if [ -n "$1" ]; then echo "$1"; return; fi
  p=$(gpu_preset)
  if [ -z "$p" ]; then
    echo "no llmgps preset for GPU '$(nvidia-smi --query-gpu=name --format=csv,noheader 2>&1 | head -1)':" \
      "give HW_PRESET (a preset name or a GPU file)" >&2
    exit 2
  fi
  echo "$p"
}

# gpu_cuda_libs BINARY: where the binary cannot find a CUDA library, add the folder of the
# device's copy (the CUDA toolkit's, else the one PyTorch's wheels bring) to LD_LIBRARY_PATH.
gpu_cuda_libs() {
  for lib in $(ldd "$1" 2>/dev/null | awk '$3 == "not" {print $1}'); do
    found=$(find /usr/local/cuda/ /usr/local/cuda/lib64/ /usr/lib/x86_64-linux-gnu/ /opt/ /usr/local/lib/ \
      -name "$lib" 2>/dev/null | head -1)
    if [ -n "$found" ]; then
      LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      export LD_LIBRARY_PATH
    fi
  done
}

# gpu_tree_hash: one hash of what the binaries are built from (sources, presets, build files),
# computed the same way here and on the device, where the tree travels without its git history.
gpu_tree_hash() {
  find src include data cuda CMakeLists.txt -type f 2>/dev/null | LC_ALL=C sort |
    xargs cat 2>/dev/null | sha1sum | cut -c1-40
}

# gpu_kit_ready LOG TARGET...: the kit has every target and each loads (0), else 1 with the
# reason. A kit built from another tree is used with a warning: its measurements hold, its model
# scores are that tree's (score the CSVs again with this tree's llmgps validate).
gpu_kit_ready() {
  log=$1
  shift
  if [ "$(sed -n 's/^sources //p' gpu-kit/KIT)" != "$(gpu_tree_hash)" ]; then
    echo "warning: gpu-kit was built from another tree (rerun scripts/gpu/kit.sh before a device" \
      "call); its scores are that tree's" | tee -a "$log"
  fi
  for t in "$@"; do
    b=gpu-kit/$t
    [ -x "$b" ] || b=gpu-kit/cuda/$t
    [ -x "$b" ] || { echo "the kit has no $t" | tee -a "$log"; return 1; }
    gpu_cuda_libs "$b"
    if ldd "$b" | grep -q "not found"; then
      { echo "$b cannot load:"; ldd "$b" | grep "not found"; } | tee -a "$log"
      return 1
    fi
  done
}

# gpu_build LOG TARGET...: the kit's targets when it has them and they load; else configure for
# sm_90 and build them here. Exits 2 naming the log on failure.
gpu_build() {
  log=$1
  shift
  if [ "$BUILD" = gpu-kit ]; then
    gpu_kit_ready "$log" "$@" && return
    echo "building on this machine instead of the kit" | tee -a "$log"
    BUILD=build-gpu
  fi
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMGPS_TESTS=OFF -DLLMGPS_BENCH=OFF \
    -DLLMGPS_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$NVCC" >>"$log" 2>&1 &&
    cmake --build "$BUILD" --target "$@" >>"$log" 2>&1 ||
    { echo "build failed (see $log)"; tail -20 "$log"; exit 2; }
}
