// GPU validation and timing for the dropout RNG/GEMM overlap (run by scripts/gpu/validate.sh):
//  1. the GPU mask equals the CPU mask bit for bit (several shapes, 8 and 32 bits, 7 and 10
//  rounds);
//  2. cuBLASLt FP8 GEMMs under the heuristic's top algorithms (tile, stages, cluster as
//     cublasLtMatmulAlgoConfig reports them) and limited to S - p SMs, the RNG mask kernel alone,
//     and both on two streams, timed with CUDA events (median of repeats); whether the RNG CTAs
//     ran beside the GEMM (SM ids and global-timer stamps per CTA against markers around the
//     GEMM); the model's way and times for the same shapes and GPU beside each row.
// Writes the mask checks to the CSV path given as the first argument and the overlap rows beside
// it (NAME_overlap.csv). Exit code 1 when a mask differs.
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
#include "llmgps/dropout/block.hpp"
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
  std::string csv = "kind,shape,bits,rounds,mask_match,gpu\n";
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
      csv += "mask,2x16x1000x1000," + std::to_string(bits) + "," + std::to_string(rounds) + "," +
             (same ? "1" : "0") + "," + prop.name + "\n";
      std::printf("mask bits %d rounds %d: %s\n", bits, rounds, same ? "GPU == CPU" : "MISMATCH");
    }

  // 2. For each case and each of cuBLASLt's top algorithms (their tile, stages and cluster from
  //    cublasLtMatmulAlgoConfig): the GEMM alone, the RNG kernel alone, both on two streams, and
  //    where the RNG CTAs ran (SM ids and global-timer stamps from the stamped mask kernel) against
  //    the GEMM's span (timer markers around it on its stream). Then an SM partition: the GEMM
  //    limited to S - p SMs (CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET) beside the RNG. The model's way
  //    and times for the same shapes beside every row.
  struct Case {
    int64_t m, n, k;
    int64_t heads, seq;  // the attention whose mask the RNG makes (causal tiles, like the model)
  };
  const Case cases[] = {
      {4096, 28672, 4096, 32, 4096}, {8192, 28672, 4096, 32, 8192}, {8192, 6144, 4096, 32, 4096}};
  constexpr int kAlgos = 6;
  cudaStream_t s1, s2;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CHECK_CUDA(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaEvent_t start, rng_done, both_done;
  CHECK_CUDA(cudaEventCreateWithFlags(&start, cudaEventDisableTiming));
  CHECK_CUDA(cudaEventCreateWithFlags(&rng_done, cudaEventDisableTiming));
  CHECK_CUDA(cudaEventCreateWithFlags(&both_done, cudaEventDisableTiming));
  std::uint64_t* marks = nullptr;  // GEMM start and end on the global timer
  CHECK_CUDA(cudaMalloc(&marks, 2 * sizeof(std::uint64_t)));
  std::string overlap_csv =
      "case,bits,algo,algo_id,tile_id,stages_id,cluster_id,splitk,swizzle,custom,sm_target,"
      "measured_gemm_ms,measured_rng_ms,measured_both_ms,hidden_fraction,rng_ctas,"
      "rng_ctas_during_gemm,rng_sms_during_gemm,model_way,model_gemm_ms,model_rng_ms,"
      "model_both_ms,model_gemm_family,model_tile,gpu\n";
  for (const Case& c : cases)
    for (int bits : {8, 32}) {
      const dropout::DropoutRng r{7, 0, 0.1, bits, 10};
      // Causal tiles of 128 x 128: about half the score matrix plus the diagonal blocks.
      const double elements = double(c.heads) * c.seq * (c.seq + 128) / 2.0;
      const dropout::MaskShape ms{1, 1, 1, int64_t(elements)};
      std::uint32_t* dm = nullptr;
      CHECK_CUDA(cudaMalloc(&dm, size_t(ms.words()) * 4));
      const unsigned blocks = llmgps::cuda::mask_blocks(ms.words());
      llmgps::cuda::CtaStamp* stamps = nullptr;
      CHECK_CUDA(cudaMalloc(&stamps, blocks * sizeof(llmgps::cuda::CtaStamp)));
      const int64_t thr = dropout::keep_threshold(r);
      auto rng = [&](cudaStream_t s) {
        llmgps::cuda::mask_kernel_stamped<<<blocks, llmgps::cuda::kMaskThreads, 0, s>>>(
            dm, ms.words(), ms.elements(), r.seed, r.offset, bits, r.rounds, thr, stamps);
      };
      // The model for the same shapes: every way, the best one (dropout::rng_beside_gemm).
      dropout::BlockConfig cfg;
      cfg.rng = r;
      const GemmShape shape{c.m, c.n, c.k, 1, DType::fp8};
      const dropout::HostShare model = dropout::rng_beside_gemm(gpu, "gemm", shape, elements, cfg);
      const double model_rng_ms = model.rng_alone_s * 1e3;
      char name[96];
      std::snprintf(name, sizeof name, "%ldx%ldx%ld|h%ld s%ld", long(c.m), long(c.n), long(c.k),
                    long(c.heads), long(c.seq));
      auto measure = [&](Gemm& g, std::size_t algo, int sm_target) {
        g.use(algo);
        const double gemm_ms = median_ms([&] { g.run(0); });
        const double rng_ms = median_ms([&] { rng(0); });
        const double both_ms = median_ms([&] {
          CHECK_CUDA(cudaEventRecord(start, 0));
          CHECK_CUDA(cudaStreamWaitEvent(s1, start));
          CHECK_CUDA(cudaStreamWaitEvent(s2, start));
          llmgps::cuda::time_marker<<<1, 1, 0, s1>>>(marks);
          g.run(s1);
          llmgps::cuda::time_marker<<<1, 1, 0, s1>>>(marks + 1);
          rng(s2);
          CHECK_CUDA(cudaEventRecord(rng_done, s2));
          CHECK_CUDA(cudaStreamWaitEvent(s1, rng_done));
          CHECK_CUDA(cudaEventRecord(both_done, s1));
          CHECK_CUDA(cudaStreamWaitEvent(0, both_done));
        });
        // The last repeat's stamps: RNG CTAs that started before the GEMM ended ran beside it.
        std::vector<llmgps::cuda::CtaStamp> st(blocks);
        std::uint64_t span[2] = {0, 0};
        CHECK_CUDA(cudaMemcpy(st.data(), stamps, blocks * sizeof(llmgps::cuda::CtaStamp),
                              cudaMemcpyDeviceToHost));
        CHECK_CUDA(cudaMemcpy(span, marks, sizeof span, cudaMemcpyDeviceToHost));
        long during = 0;
        std::vector<char> sms(std::size_t(prop.multiProcessorCount), 0);
        for (const auto& x : st)
          if (x.start_ns < span[1] && x.end_ns > span[0]) {
            ++during;
            if (x.sm < sms.size()) sms[x.sm] = 1;
          }
        long sm_count = 0;
        for (char v : sms) sm_count += v;
        const llmgps::cuda::LtAlgoConfig k = g.config(algo);
        const double hidden = rng_ms > 0 ? (gemm_ms + rng_ms - both_ms) / rng_ms : 0.0;
        char line[768];
        std::snprintf(line, sizeof line,
                      "%s,%d,%zu,%d,%d,%d,%d,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.3f,%u,%ld,%ld,%s,%.4f,"
                      "%.4f,%.4f,%s,%dx%d,%s\n",
                      name, bits, algo, k.id, k.tile_id, k.stages_id, k.cluster_id, k.splitk,
                      k.swizzle, k.custom, sm_target, gemm_ms, rng_ms, both_ms, hidden, blocks,
                      during, sm_count, dropout::way_name(model.way), model.gemm_alone_s * 1e3,
                      model_rng_ms, model.time_s * 1e3, model.gemm_kernel.family.c_str(),
                      model.gemm_kernel.tile_m, model.gemm_kernel.tile_n, prop.name);
        overlap_csv += line;
        std::printf("%s", line);
      };
      Gemm g(c.m, c.n, c.k, true, 1, kAlgos);
      if (!g.ok) {
        std::printf("no cuBLASLt FP8 algorithm for %s\n", name);
      } else {
        for (std::size_t i = 0; i < g.algos.size(); ++i) measure(g, i, 0);
      }
      for (int p : {8, 16}) {
        Gemm part(c.m, c.n, c.k, true, 1, 1, prop.multiProcessorCount - p);
        if (part.ok) measure(part, 0, prop.multiProcessorCount - p);
      }
      cudaFree(dm);
      cudaFree(stamps);
    }
  cudaFree(marks);
  {
    std::string overlap_path = out_path;
    const std::size_t dot = overlap_path.rfind(".csv");
    overlap_path =
        (dot == std::string::npos ? overlap_path : overlap_path.substr(0, dot)) + "_overlap.csv";
    std::ofstream(overlap_path) << overlap_csv;
    std::printf("wrote %s\n", overlap_path.c_str());
  }
  std::ofstream(out_path) << csv;
  std::printf("wrote %s\n", out_path.c_str());
  return mismatches ? 1 : 0;
}
