#!/bin/sh
# Run on the development machine (with nvcc) right before a device call. The device image has CUDA,
# CMake and a compiler but not necessarily the Debian libraries llmgps builds with (fmt, simdjson,
# nlohmann-json), and nothing can be installed there; so the CLI and the two CUDA tools are built
# here (Release, sm_80 and sm_90, from the tree as it is) and copied into gpu-kit/ with the shared
# libraries they load that a CUDA image lacks. measure.sh and validate.sh use the kit when it is
# there and build on the device only when it is not. One device call then does both:
#   run(command="sh scripts/gpu/measure.sh $OUT && sh scripts/gpu/validate.sh $OUT", carry=["gpu-kit"])
# gpu-kit/KIT records a hash of the sources it was built from (the scripts warn when the tree they
# run in differs), the commit, whether the tree had uncommitted changes, and the compiler.
# Exit code: 0 kit written, 2 no nvcc or the build failed.
set -eu
BUILD=${BUILD:-build}
NVCC=/usr/local/cuda/bin/nvcc
[ -x "$NVCC" ] || { echo "kit.sh: no nvcc at $NVCC: the CUDA tools cannot be built here" >&2; exit 2; }
[ -f "$BUILD/build.ninja" ] || make build BUILD="$BUILD" >/dev/null
# What the build folder was configured for, before a long build.
cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
grep -q llmgps_gpu_bench "$BUILD/build.ninja" ||
  { echo "kit.sh: $BUILD was configured without CUDA (no nvcc found then)" >&2; exit 2; }
[ "$(cache CMAKE_BUILD_TYPE)" = Release ] ||
  { echo "kit.sh: $BUILD is a $(cache CMAKE_BUILD_TYPE) build, not Release" >&2; exit 2; }
archs=$(cache LLMGPS_CUDA_ARCHITECTURES)
case ";$archs;" in
  *";90;"*) ;;
  *) echo "kit.sh: $BUILD builds CUDA for '$archs', not sm_90 (H100/H200)" >&2; exit 2 ;;
esac
cmake --build "$BUILD" --target llmgps llmgps_gpu_measure llmgps_gpu_bench ||
  { echo "kit.sh: the build in $BUILD failed" >&2; exit 2; }
rm -rf gpu-kit
mkdir -p gpu-kit/cuda gpu-kit/lib
cp "$BUILD/llmgps" gpu-kit/
cp "$BUILD/cuda/llmgps_gpu_measure" "$BUILD/cuda/llmgps_gpu_bench" gpu-kit/cuda/
# The libraries that are Debian's, not the C runtime's or CUDA's (the device has its own CUDA).
for b in gpu-kit/llmgps gpu-kit/cuda/llmgps_gpu_measure gpu-kit/cuda/llmgps_gpu_bench; do
  ldd "$b" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
done | sort -u | grep -E '/lib(fmt|simdjson)\.so' | while read -r lib; do cp -L "$lib" gpu-kit/lib/; done
for lib in libfmt libsimdjson; do
  ls gpu-kit/lib/"$lib".so.* >/dev/null 2>&1 ||
    { echo "kit.sh: $lib was not found among the tools' libraries (ldd)" >&2; exit 2; }
done
tree=$(. "$(dirname "$0")/lib.sh" && gpu_tree_hash)
{
  echo "sources $tree"
  echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown)"
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    echo "tree has uncommitted changes"
  fi
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) with $("$NVCC" --version | tail -1); CUDA archs $archs"
} >gpu-kit/KIT
cat gpu-kit/KIT
du -sh gpu-kit | sed 's/\t/ /'
