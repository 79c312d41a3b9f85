#pragma once
// The standalone dropout-mask kernel: the same element definition as the CPU (mask.hpp, philox.hpp
// compiled for the device), 256 threads per CTA by default (128 or 64 to fit beside a
// register-hungry GEMM), each thread writing 4 mask words (128 elements). The SM resource model's
// rng_kernel() describes exactly this launch, with the registers and instruction mix that
// scripts/rng-kernel-profile measures on mask_kernel_fixed (data/kernels/rng_mask.json).
#include <cstdint>

#include "llmgps/dropout/mask.hpp"

namespace llmgps::cuda {

constexpr int kMaskThreads = 256;
constexpr int kWordsPerThread = 4;

// One thread's 4 words. Bits and rounds are template parameters in the profiled variant, so its
// code is what a launch with those values runs, straight-line.
__device__ __forceinline__ void mask_words(std::uint32_t* mask, std::int64_t words,
                                           std::int64_t elements, std::uint64_t seed,
                                           std::uint64_t offset, int bits, int rounds,
                                           std::int64_t threshold) {
  const std::int64_t first =
      (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * kWordsPerThread;
  const int per_call = dropout::elements_per_call(bits);
  const philox::Key key = dropout::key_of(seed);
#pragma unroll
  for (int i = 0; i < kWordsPerThread; ++i) {
    const std::int64_t w = first + i;
    if (w >= words) return;
    std::uint32_t word = 0;
#pragma unroll
    for (int c = 0; c < 32 / per_call; ++c) {
      const std::uint64_t call = std::uint64_t(w * 32 / per_call + c);
      const philox::Counter r = philox::generate(dropout::counter_of(call, offset), key, rounds);
#pragma unroll
      for (int lane = 0; lane < per_call; ++lane) {
        const std::uint32_t v =
            bits == 32 ? r.v[lane] : (r.v[lane / 4] >> (8 * (lane % 4))) & 0xFFu;
        word |= std::uint32_t(std::int64_t(v) <= threshold) << (c * per_call + lane);
      }
    }
    const std::int64_t valid = elements - w * 32;
    if (valid < 32) word &= (1u << valid) - 1u;
    mask[w] = word;
  }
}

__global__ void mask_kernel(std::uint32_t* mask, std::int64_t words, std::int64_t elements,
                            std::uint64_t seed, std::uint64_t offset, int bits, int rounds,
                            std::int64_t threshold) {
  mask_words(mask, words, elements, seed, offset, bits, rounds, threshold);
}

// The same kernel with bits and rounds fixed at compile time (profiled; bit-identical output).
template <int Bits, int Rounds>
__global__ void mask_kernel_fixed(std::uint32_t* mask, std::int64_t words, std::int64_t elements,
                                  std::uint64_t seed, std::uint64_t offset,
                                  std::int64_t threshold) {
  mask_words(mask, words, elements, seed, offset, Bits, Rounds, threshold);
}

// Where and when one CTA of the mask kernel ran: its SM and the global timer (ns) at its start and
// end, written by thread 0 (scripts/gpu/validate.sh: do the RNG CTAs run beside the GEMM's?).
struct CtaStamp {
  std::uint32_t sm;
  std::uint32_t pad;
  std::uint64_t start_ns, end_ns;
};

__device__ __forceinline__ std::uint64_t global_ns() {
  std::uint64_t t;
  asm volatile("mov.u64 %0, %globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ std::uint32_t sm_id() {
  std::uint32_t id;
  asm volatile("mov.u32 %0, %smid;" : "=r"(id));
  return id;
}

// The mask kernel with a stamp per CTA (same words, bit-identical).
__global__ void mask_kernel_stamped(std::uint32_t* mask, std::int64_t words, std::int64_t elements,
                                    std::uint64_t seed, std::uint64_t offset, int bits, int rounds,
                                    std::int64_t threshold, CtaStamp* stamps) {
  const std::uint64_t start = global_ns();
  mask_words(mask, words, elements, seed, offset, bits, rounds, threshold);
  __syncthreads();
  if (threadIdx.x == 0) stamps[blockIdx.x] = CtaStamp{sm_id(), 0, start, global_ns()};
}

// One thread stamps the global timer: marks a stream's position (the GEMM's start and end).
__global__ void time_marker(std::uint64_t* at) {
  *at = global_ns();
}

inline unsigned mask_blocks(std::int64_t words, int threads = kMaskThreads) {
  const std::int64_t per_block = std::int64_t(threads) * kWordsPerThread;
  return unsigned((words + per_block - 1) / per_block);
}

}  // namespace llmgps::cuda
