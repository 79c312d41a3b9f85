// GPU validation and timing for the dropout RNG/GEMM overlap (run by scripts/gpu/validate.sh):
//  1. the GPU mask equals the CPU mask bit for bit (several shapes, 8 and 32 bits, 7 and 10
//  rounds);
//  2. a cuBLASLt GEMM alone, the RNG mask kernel alone, and both on two streams, timed with CUDA
//     events (median of repeats), beside the model's prediction for the same shapes and GPU.
// Writes CSV to the path given as the first argument. Exit code 1 when a mask differs.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "llmgps/cost/gemm.hpp"
#include "llmgps/cost/sm_model.hpp"
#include "llmgps/dropout/mask.hpp"
#include "llmgps/dropout/rng_cost.hpp"
#include "llmgps/specs/hw.hpp"
#include "lt_gemm.cuh"
#include "mask_kernel.cuh"

using namespace llmgps;

namespace {

using Gemm = llmgps::cuda::LtGemm;

template <typename F>
double median_ms(F&& f, int reps = 15) {
  cudaEvent_t a, b;
  CHECK_CUDA(cudaEventCreate(&a));
  CHECK_CUDA(cudaEventCreate(&b));
  f();  // warm up
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    CHECK_CUDA(cudaEventRecord(a, 0));
    f();
    CHECK_CUDA(cudaEventRecord(b, 0));
    CHECK_CUDA(cudaEventSynchronize(b));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  cudaEventDestroy(a), cudaEventDestroy(b);
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string out_path = argc > 1 ? argv[1] : "gpu_bench.csv";
  const std::string hw = argc > 2 ? argv[2] : "h200-sxm";
  const GpuSpec gpu = specs::load_gpu(hw);
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs; model: %s\n", prop.name, prop.multiProcessorCount, hw.c_str());

  // 1. Masks, bit for bit.
  int mismatches = 0;
  std::string csv =
      "kind,shape,bits,rounds,measured_gemm_ms,measured_rng_ms,measured_both_ms,model_gemm_ms,"
      "model_rng_ms,model_both_ms,"
      "co_resident,mask_match,gpu\n";
  for (int bits : {8, 32})
    for (int rounds : {7, 10}) {
      const dropout::MaskShape s{2, 16, 1000, 1000};  // partial last word
      const dropout::DropoutRng r{0x1234567890ABCDEFull, 5, 0.1, bits, rounds};
      const auto cpu = dropout::generate_mask(s, r, 0);
      std::uint32_t* dm = nullptr;
      CHECK_CUDA(cudaMalloc(&dm, cpu.size() * 4));
      llmgps::cuda::
          mask_kernel<<<llmgps::cuda::mask_blocks(s.words()), llmgps::cuda::kMaskThreads>>>(
              dm, s.words(), s.elements(), r.seed, r.offset, bits, rounds,
              dropout::keep_threshold(r));
      CHECK_CUDA(cudaGetLastError());
      std::vector<std::uint32_t> gpu_mask(cpu.size());
      CHECK_CUDA(cudaMemcpy(gpu_mask.data(), dm, cpu.size() * 4, cudaMemcpyDeviceToHost));
      cudaFree(dm);
      const bool same = gpu_mask == cpu;
      mismatches += !same;
      csv += "mask,2x16x1000x1000," + std::to_string(bits) + "," + std::to_string(rounds) +
             ",,,,,,,," + (same ? "1" : "0") + "," + prop.name + "\n";
      std::printf("mask bits %d rounds %d: %s\n", bits, rounds, same ? "GPU == CPU" : "MISMATCH");
    }

  // 2. GEMM alone, RNG alone, both on two streams; the model beside each.
  struct Case {
    int64_t m, n, k;
    int64_t heads,
        seq;  // the attention whose mask the RNG makes (causal tiles only, like the model)
  };
  const Case cases[] = {
      {4096, 28672, 4096, 32, 4096}, {8192, 28672, 4096, 32, 8192}, {8192, 6144, 4096, 32, 4096}};
  cudaStream_t s1, s2;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CHECK_CUDA(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaEvent_t start, rng_done, both_done;
  CHECK_CUDA(cudaEventCreateWithFlags(&start, cudaEventDisableTiming));
  CHECK_CUDA(cudaEventCreateWithFlags(&rng_done, cudaEventDisableTiming));
  CHECK_CUDA(cudaEventCreateWithFlags(&both_done, cudaEventDisableTiming));
  for (const Case& c : cases)
    for (int bits : {8, 32}) {
      const dropout::DropoutRng r{7, 0, 0.1, bits, 10};
      // Causal tiles of 128 x 128: about half the score matrix plus the diagonal blocks.
      const double elements = double(c.heads) * c.seq * (c.seq + 128) / 2.0;
      const dropout::MaskShape ms{1, 1, 1, int64_t(elements)};
      std::uint32_t* dm = nullptr;
      CHECK_CUDA(cudaMalloc(&dm, size_t(ms.words()) * 4));
      const int64_t thr = dropout::keep_threshold(r);
      auto rng = [&](cudaStream_t s) {
        llmgps::cuda::mask_kernel<<<llmgps::cuda::mask_blocks(ms.words()),
                                    llmgps::cuda::kMaskThreads, 0, s>>>(
            dm, ms.words(), ms.elements(), r.seed, r.offset, bits, r.rounds, thr);
      };
      Gemm g(c.m, c.n, c.k, true);
      if (!g.ok) {
        std::printf("no cuBLASLt FP8 algorithm for %ldx%ldx%ld\n", long(c.m), long(c.n), long(c.k));
        cudaFree(dm);
        continue;
      }
      const double gemm_ms = median_ms([&] { g.run(0); });
      const double rng_ms = median_ms([&] { rng(0); });
      const double both_ms = median_ms([&] {
        CHECK_CUDA(cudaEventRecord(start, 0));
        CHECK_CUDA(cudaStreamWaitEvent(s1, start));
        CHECK_CUDA(cudaStreamWaitEvent(s2, start));
        g.run(s1);
        rng(s2);
        CHECK_CUDA(cudaEventRecord(rng_done, s2));
        CHECK_CUDA(cudaStreamWaitEvent(s1, rng_done));
        CHECK_CUDA(cudaEventRecord(both_done, s1));
        CHECK_CUDA(cudaStreamWaitEvent(0, both_done));
      });
      cudaFree(dm);
      // The model for the same shapes.
      const GemmCost gc = gemm_cost(gpu, GemmShape{c.m, c.n, c.k, 1, DType::fp8});
      const KernelSpec rk = dropout::rng_kernel(gpu, elements, r);
      const KernelSpec gk = gemm_kernel_spec(gpu, "gemm", gc, DType::fp8);
      const KernelTime rt = kernel_alone(gpu, rk);
      const PairTime pt = kernels_together(gpu, gk, rk);
      char line[512];
      std::snprintf(line, sizeof line,
                    "overlap,%ldx%ldx%ld|h%ld s%ld,%d,10,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,,%s\n",
                    long(c.m), long(c.n), long(c.k), long(c.heads), long(c.seq), bits, gemm_ms,
                    rng_ms, both_ms, gc.time_s * 1e3, rt.time_s * 1e3, pt.time_s * 1e3,
                    pt.co_resident ? 1 : 0, prop.name);
      csv += line;
      std::printf("%s", line);
    }
  std::ofstream(out_path) << csv;
  std::printf("wrote %s\n", out_path.c_str());
  return mismatches ? 1 : 0;
}
