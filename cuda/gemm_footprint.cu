// Footprints of CUTLASS's GEMM kernel families as CUTLASS builds them: the sm90 TMA
// warp-specialized kernels from CUTLASS 3's collective builders (kernels 0-10, compiled for
// sm_90a) and CUTLASS 2's sm80 multistage device::Gemm (kernels 11-16, sm_80). The host prints
// threads per CTA, pipeline stages, shared memory (SharedStorageSize) and the setmaxnreg split;
// registers per thread come from `ptxas -v` on the same translation unit. One kernel per compile
// (-DFOOTPRINT_KERNEL=i), so each ptxas report names one kernel. Needs CUTLASS's headers
// (-I$CUTLASS_DIR/include); scripts/gemm-kernel-profile drives it and writes
// data/kernels/gemm_cutlass.json. Nothing here runs on a GPU.
#include <cstdio>

#include "cute/tensor.hpp"
#include "cutlass/cutlass.h"
#include "cutlass/device_kernel.h"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm.h"
#include "cutlass/gemm/kernel/gemm_universal.hpp"

namespace {

// A, B in `Element` (row-major A, column-major B: the TN layout tensor cores want), FP32
// accumulation, BF16 output, 2x1 cluster (TMA multicast of one operand), stage count chosen by the
// builder after carving out the epilogue's shared memory.
template <int M, int N, int K, class Schedule, class EpilogueSchedule, class Element>
struct Build {
  using Tile = cute::Shape<cute::Int<M>, cute::Int<N>, cute::Int<K>>;
  using Cluster = cute::Shape<cute::_2, cute::_1, cute::_1>;
  using Epilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Tile, Cluster,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, cutlass::bfloat16_t,
      cutlass::layout::RowMajor, 8, cutlass::bfloat16_t, cutlass::layout::RowMajor, 8,
      EpilogueSchedule>::CollectiveOp;
  using Mainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Element, cutlass::layout::RowMajor,
      16 / sizeof(Element), Element, cutlass::layout::ColumnMajor, 16 / sizeof(Element), float,
      Tile, Cluster,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename Epilogue::SharedStorage))>,
      Schedule>::CollectiveOp;
  using Kernel =
      cutlass::gemm::kernel::GemmUniversal<cute::Shape<int, int, int, int>, Mainloop, Epilogue>;
};

using Coop = cutlass::gemm::KernelTmaWarpSpecializedCooperative;
using CoopEpi = cutlass::epilogue::TmaWarpSpecializedCooperative;
using Ping = cutlass::gemm::KernelTmaWarpSpecializedPingpong;
using Basic = cutlass::gemm::KernelTmaWarpSpecialized;
using WsEpi = cutlass::epilogue::TmaWarpSpecialized;
using BF16 = cutlass::bfloat16_t;
using FP8 = cutlass::float_e4m3_t;

#if FOOTPRINT_KERNEL == 0
using K = Build<128, 128, 64, Coop, CoopEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws-cooperative";
#elif FOOTPRINT_KERNEL == 1
using K = Build<128, 256, 64, Coop, CoopEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws-cooperative";
#elif FOOTPRINT_KERNEL == 2
using K = Build<256, 128, 64, Coop, CoopEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws-cooperative";
#elif FOOTPRINT_KERNEL == 3
using K = Build<128, 256, 128, Coop, CoopEpi, FP8>;
constexpr const char* kFamily = "sm90-tma-ws-cooperative";
#elif FOOTPRINT_KERNEL == 4
using K = Build<128, 128, 64, Ping, WsEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws-pingpong";
#elif FOOTPRINT_KERNEL == 5
using K = Build<64, 256, 64, Ping, WsEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws-pingpong";
#elif FOOTPRINT_KERNEL == 6
using K = Build<128, 128, 128, Ping, WsEpi, FP8>;
constexpr const char* kFamily = "sm90-tma-ws-pingpong";
#elif FOOTPRINT_KERNEL == 7
using K = Build<64, 128, 64, Basic, WsEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws";
#elif FOOTPRINT_KERNEL == 8
using K = Build<128, 128, 64, Basic, WsEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws";
#elif FOOTPRINT_KERNEL == 9
using K = Build<128, 128, 128, Basic, WsEpi, FP8>;
constexpr const char* kFamily = "sm90-tma-ws";
#elif FOOTPRINT_KERNEL == 10
using K = Build<128, 256, 64, Basic, WsEpi, BF16>;
constexpr const char* kFamily = "sm90-tma-ws";
#elif FOOTPRINT_KERNEL >= 11 && FOOTPRINT_KERNEL <= 16
#define FOOTPRINT_SM80 1
#else
#error "FOOTPRINT_KERNEL out of range"
#endif
constexpr int kCount = 17;

#ifdef FOOTPRINT_SM80
// CUTLASS 2 sm80 multistage: FP16 in, FP32 accumulation, 3 stages, mma.sync 16x8x16; the
// threadblock and warp tiles of its default configurations.
template <int M, int N, int WM, int WN>
using Sm80Gemm = cutlass::gemm::device::Gemm<
    cutlass::half_t, cutlass::layout::RowMajor, cutlass::half_t, cutlass::layout::ColumnMajor,
    cutlass::half_t, cutlass::layout::RowMajor, float, cutlass::arch::OpClassTensorOp,
    cutlass::arch::Sm80, cutlass::gemm::GemmShape<M, N, 64>, cutlass::gemm::GemmShape<WM, WN, 64>,
    cutlass::gemm::GemmShape<16, 8, 16>,
    cutlass::epilogue::thread::LinearCombination<cutlass::half_t, 8, float, float>,
    cutlass::gemm::threadblock::GemmIdentityThreadblockSwizzle<>, 3>;
#if FOOTPRINT_KERNEL == 11
using G = Sm80Gemm<128, 256, 64, 64>;
#elif FOOTPRINT_KERNEL == 12
using G = Sm80Gemm<256, 128, 64, 64>;
#elif FOOTPRINT_KERNEL == 13
using G = Sm80Gemm<128, 128, 64, 64>;
#elif FOOTPRINT_KERNEL == 14
using G = Sm80Gemm<64, 128, 32, 64>;
#elif FOOTPRINT_KERNEL == 15
using G = Sm80Gemm<128, 64, 64, 32>;
#else
using G = Sm80Gemm<64, 64, 32, 32>;
#endif
using Sm80Kernel = typename G::GemmKernel;
using Sm80Tile = typename Sm80Kernel::Mma::Shape;
#else
using Kernel = K::Kernel;
using Tile = typename Kernel::TileShape;
#endif

// setmaxnreg budgets where the kernel has them (the basic kernel runs at ptxas's count).
template <class T>
constexpr int load_registers(...) {
  return 0;
}
template <class T>
constexpr int load_registers(decltype(T::LoadRegisterRequirement)*) {
  return int(T::LoadRegisterRequirement);
}
template <class T>
constexpr int mma_registers(...) {
  return 0;
}
template <class T>
constexpr int mma_registers(decltype(T::MmaRegisterRequirement)*) {
  return int(T::MmaRegisterRequirement);
}

}  // namespace

#ifdef FOOTPRINT_SM80
void* keep_kernel = reinterpret_cast<void*>(&cutlass::Kernel<Sm80Kernel>);

int main() {
  std::printf(
      "{\"index\": %d, \"count\": %d, \"arch\": \"sm_80\", \"family\": \"sm80-multistage\", "
      "\"dtype\": \"fp16\", \"tile_m\": %d, \"tile_n\": %d, \"tile_k\": %d, "
      "\"threads_per_cta\": %d, \"stages\": %d, \"smem_bytes\": %d, \"producer_registers\": 0, "
      "\"consumer_registers\": 0}\n",
      FOOTPRINT_KERNEL, kCount, int(Sm80Tile::kM), int(Sm80Tile::kN), int(Sm80Tile::kK),
      int(Sm80Kernel::kThreadCount), int(Sm80Kernel::Mma::kStages),
      int(sizeof(typename Sm80Kernel::SharedStorage)));
  return 0;
}
#else
// Taking the kernel's address makes nvcc compile it, so ptxas reports its registers.
void* keep_kernel = reinterpret_cast<void*>(&cutlass::device_kernel<Kernel>);

int main() {
  std::printf(
      "{\"index\": %d, \"count\": %d, \"arch\": \"sm_90a\", \"family\": \"%s\", \"dtype\": "
      "\"%s\", \"tile_m\": %d, "
      "\"tile_n\": %d, \"tile_k\": %d, \"threads_per_cta\": %d, \"stages\": %d, "
      "\"smem_bytes\": %d, \"producer_registers\": %d, \"consumer_registers\": %d}\n",
      FOOTPRINT_KERNEL, kCount, kFamily, sizeof(typename Kernel::ElementA) == 1 ? "fp8" : "bf16",
      int(cute::size<0>(Tile{})), int(cute::size<1>(Tile{})), int(cute::size<2>(Tile{})),
      int(Kernel::MaxThreadsPerBlock), int(Kernel::CollectiveMainloop::DispatchPolicy::Stages),
      int(Kernel::SharedStorageSize), load_registers<Kernel>(nullptr),
      mma_registers<Kernel>(nullptr));
  return 0;
}
#endif
