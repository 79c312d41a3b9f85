// The dropout-mask kernel variants scripts/rng-kernel-profile compiles and counts (PTX
// instructions per element, registers from ptxas): bits 8 and 32, Philox-7 and Philox-10.
#include "mask_kernel.cuh"

template __global__ void llmgps::cuda::mask_kernel_fixed<32, 10>(std::uint32_t*, std::int64_t,
                                                                 std::int64_t, std::uint64_t,
                                                                 std::uint64_t, std::int64_t);
template __global__ void llmgps::cuda::mask_kernel_fixed<32, 7>(std::uint32_t*, std::int64_t,
                                                                std::int64_t, std::uint64_t,
                                                                std::uint64_t, std::int64_t);
template __global__ void llmgps::cuda::mask_kernel_fixed<8, 10>(std::uint32_t*, std::int64_t,
                                                                std::int64_t, std::uint64_t,
                                                                std::uint64_t, std::int64_t);
template __global__ void llmgps::cuda::mask_kernel_fixed<8, 7>(std::uint32_t*, std::int64_t,
                                                               std::int64_t, std::uint64_t,
                                                               std::uint64_t, std::int64_t);
