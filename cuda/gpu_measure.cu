// Measurements for `llmgps validate` on the GPU at hand (run by scripts/gpu/measure.sh):
//  - cuBLASLt GEMMs, FP8 and BF16: square, skinny (small M or N), short K, odd sizes, and
//    strided-batched as uniform grouped GEMMs (kind grouped_gemm), each timed with CUDA events
//    over at least 150 ms of back-to-back runs (median of 3 such windows), while the host reads
//    the SM clock and board power through NVML;
//  - HBM copy bandwidth (device-to-device cudaMemcpy, kind copy);
//  - kernel launch gaps: back-to-back empty kernels on one stream, launched one by one and
//    replayed from a CUDA graph (measured-launch.csv: what a kernel costs beyond its work, the
//    GPU spec's launch_overhead_us, and what a graph leaves of it; not a validate table).
// Writes OUT_DIR/measured-gemm.csv and OUT_DIR/measured-copy.csv in the measurement schema
// (docs/calibration.md). The clock_ghz column stays empty, so validate predicts the clock from its
// power model; the measured mean SM clock and power are in the label column.
//   llmgps_gpu_measure OUT_DIR [HW_PRESET] [SOURCE_NOTE]
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lt_gemm.cuh"

namespace {

// The five NVML entry points used, declared from NVML's documented API and loaded at run time
// (the toolkit here ships no nvml.h; the driver always ships libnvidia-ml.so.1).
struct Nvml {
  using Device = void*;
  int (*init)() = nullptr;
  int (*handle)(unsigned, Device*) = nullptr;
  int (*clock)(Device, int, unsigned*) = nullptr;  // nvmlDeviceGetClockInfo, NVML_CLOCK_SM = 1
  int (*power)(Device, unsigned*) = nullptr;       // nvmlDeviceGetPowerUsage, milliwatts
  int (*limit)(Device, unsigned*) = nullptr;       // nvmlDeviceGetEnforcedPowerLimit, milliwatts
  Device dev = nullptr;
  bool ok = false;

  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!lib) return;
    init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
    handle =
        reinterpret_cast<int (*)(unsigned, Device*)>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    clock = reinterpret_cast<int (*)(Device, int, unsigned*)>(dlsym(lib, "nvmlDeviceGetClockInfo"));
    power = reinterpret_cast<int (*)(Device, unsigned*)>(dlsym(lib, "nvmlDeviceGetPowerUsage"));
    limit =
        reinterpret_cast<int (*)(Device, unsigned*)>(dlsym(lib, "nvmlDeviceGetEnforcedPowerLimit"));
    ok = init && handle && clock && power && limit && init() == 0 && handle(0, &dev) == 0;
  }
  double sm_ghz() const {
    unsigned mhz = 0;
    return ok && clock(dev, 1, &mhz) == 0 ? mhz / 1000.0 : 0.0;
  }
  double watts() const {
    unsigned mw = 0;
    return ok && power(dev, &mw) == 0 ? mw / 1000.0 : 0.0;
  }
  double limit_watts() const {
    unsigned mw = 0;
    return ok && limit(dev, &mw) == 0 ? mw / 1000.0 : 0.0;
  }
};

struct Timing {
  double us = 0;              // median time of one run
  double ghz = 0, watts = 0;  // mean over the samples taken while the last window ran
};

// Runs `f` back to back for windows of at least 150 ms; the median window's time per run.
template <typename F>
Timing time_runs(F&& f, const Nvml& nvml) {
  cudaEvent_t a, b;
  CHECK_CUDA(cudaEventCreate(&a));
  CHECK_CUDA(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) f();  // warm up (and let the clock settle under load)
  CHECK_CUDA(cudaEventRecord(a, 0));
  f();
  CHECK_CUDA(cudaEventRecord(b, 0));
  CHECK_CUDA(cudaEventSynchronize(b));
  float once = 0;
  CHECK_CUDA(cudaEventElapsedTime(&once, a, b));
  const int reps = std::max(1, std::min(100000, int(150.0 / std::max(once, 1e-3f))));
  std::vector<double> per_run;
  Timing t;
  for (int w = 0; w < 3; ++w) {
    CHECK_CUDA(cudaEventRecord(a, 0));
    for (int i = 0; i < reps; ++i) f();
    CHECK_CUDA(cudaEventRecord(b, 0));
    if (w == 2) {  // sample while the GPU works through the last window
      double g = 0, p = 0;
      int n = 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      while (cudaEventQuery(b) == cudaErrorNotReady) {
        g += nvml.sm_ghz();
        p += nvml.watts();
        ++n;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (n > 0) t.ghz = g / n, t.watts = p / n;
    }
    CHECK_CUDA(cudaEventSynchronize(b));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, a, b));
    per_run.push_back(ms * 1e3 / reps);
  }
  std::sort(per_run.begin(), per_run.end());
  t.us = per_run[1];
  cudaEventDestroy(a), cudaEventDestroy(b);
  return t;
}

std::string fmt_double(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// An empty kernel: what is left of its time is the launch.
__global__ void empty_kernel(int* never) {
  if (never != nullptr && threadIdx.x == 0) *never = 0;
}

// Per-kernel time of `kernels` empty kernels launched back to back on one stream, one by one
// (graph false) or replayed from a graph captured from the same launches (median of 7 windows).
double launch_us(int kernels, bool graph) {
  cudaStream_t s;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  auto eager = [&] {
    for (int i = 0; i < kernels; ++i) empty_kernel<<<1, 32, 0, s>>>(nullptr);
  };
  cudaGraph_t g = nullptr;
  cudaGraphExec_t exec = nullptr;
  if (graph) {
    CHECK_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    eager();
    CHECK_CUDA(cudaStreamEndCapture(s, &g));
    CHECK_CUDA(cudaGraphInstantiate(&exec, g, 0));
  }
  auto run = [&] {
    if (graph)
      CHECK_CUDA(cudaGraphLaunch(exec, s));
    else
      eager();
  };
  cudaEvent_t a, b;
  CHECK_CUDA(cudaEventCreate(&a));
  CHECK_CUDA(cudaEventCreate(&b));
  run();  // warm up
  CHECK_CUDA(cudaStreamSynchronize(s));
  std::vector<float> ms;
  for (int w = 0; w < 7; ++w) {
    CHECK_CUDA(cudaEventRecord(a, s));
    run();
    CHECK_CUDA(cudaEventRecord(b, s));
    CHECK_CUDA(cudaEventSynchronize(b));
    float t = 0;
    CHECK_CUDA(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  if (graph) cudaGraphExecDestroy(exec), cudaGraphDestroy(g);
  cudaEventDestroy(a), cudaEventDestroy(b);
  cudaStreamDestroy(s);
  return double(ms[ms.size() / 2]) * 1e3 / kernels;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: llmgps_gpu_measure OUT_DIR [HW_PRESET] [SOURCE_NOTE]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string hw = argc > 2 ? argv[2] : "h200-sxm";
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  const Nvml nvml;
  const std::string source = std::string("llmgps scripts/gpu/measure.sh on ") + prop.name +
                             (argc > 3 ? std::string("; ") + argv[3] : std::string()) +
                             (nvml.ok ? "; power limit " + fmt_double(nvml.limit_watts(), 0) + " W"
                                      : "; NVML unavailable");
  std::printf("device: %s, %d SMs; preset %s; NVML %s\n", prop.name, prop.multiProcessorCount,
              hw.c_str(), nvml.ok ? "yes" : "no");

  const std::string header =
      "kind,hw,impl,dtype,m,n,k,batch,groups,layout,heads,kv_heads,seq,seq_k,head_dim,causal,pass,"
      "rows,cols,bytes,gpus,tokens,hidden,top_k,experts,clock_ghz,value,unit,class,harness,label,"
      "source\n";
  std::string gemm_csv = header, copy_csv = header;

  struct Shape {
    std::int64_t m, n, k, groups;  // groups > 1: strided-batched, scored as a uniform grouped GEMM
    const char* what;
  };
  const Shape shapes[] = {
      {2048, 2048, 2048, 1, "square"},
      {4096, 4096, 4096, 1, "square"},
      {8192, 8192, 8192, 1, "square"},
      {16384, 16384, 16384, 1, "square"},
      {802816, 192, 768, 1, "skinny N"},
      {65536, 128, 4096, 1, "skinny N"},
      {16, 14336, 4096, 1, "skinny M"},
      {128, 28672, 4096, 1, "skinny M"},
      {4096, 32768, 512, 1, "short K"},
      {8192, 8192, 256, 1, "short K"},
      {1024, 2145, 1024, 1, "odd"},
      {3000, 5000, 1000, 1, "odd"},
      {7001, 4097, 2049, 1, "odd"},
      {8192, 28672, 4096, 1, "MLP"},
      {512, 4096, 7168, 8, "grouped prefill"},
      {128, 4096, 7168, 32, "grouped decode"},
      {64, 7168, 2048, 32, "grouped down"},
      {2048, 14336, 4096, 8, "grouped Mixtral"},
  };
  for (bool fp8 : {true, false})
    for (const Shape& s : shapes) {
      llmgps::cuda::LtGemm g(s.m, s.n, s.k, fp8, s.groups);
      const char* dt = fp8 ? "fp8" : "bf16";
      if (!g.ok) {
        std::printf("%s %ldx%ldx%ld x%ld: no cuBLASLt algorithm, skipped\n", dt, long(s.m),
                    long(s.n), long(s.k), long(s.groups));
        continue;
      }
      const Timing t = time_runs([&] { g.run(0); }, nvml);
      const bool grouped = s.groups > 1;
      const std::string label = std::string(s.what) + "; SM " + fmt_double(t.ghz, 3) + " GHz, " +
                                fmt_double(t.watts, 0) + " W (NVML mean)";
      gemm_csv += std::string(grouped ? "grouped_gemm," : "gemm,") + hw + "," +
                  (grouped ? "cublaslt-batched," : "cublaslt,") + dt + "," + std::to_string(s.m) +
                  "," + std::to_string(s.n) + "," + std::to_string(s.k) + "," +
                  (grouped ? "," + std::to_string(s.groups) + ",contiguous" : "1,,") +
                  ",,,,,,,,,,,,,,,,," + fmt_double(t.us, 3) + ",us,gemm-" + hw + "-measured,,\"" +
                  label + "\",\"" + source + "\"\n";
      std::printf("%s %-15s %7ldx%6ldx%6ld x%-3ld %10.2f us  %.3f GHz %4.0f W\n", dt, s.what,
                  long(s.m), long(s.n), long(s.k), long(s.groups), t.us, t.ghz, t.watts);
    }

  for (double mib : {64.0, 1024.0, 4096.0}) {
    const std::size_t bytes = std::size_t(mib * 1024 * 1024);
    void *src = nullptr, *dst = nullptr;
    CHECK_CUDA(cudaMalloc(&src, bytes));
    CHECK_CUDA(cudaMalloc(&dst, bytes));
    CHECK_CUDA(cudaMemset(src, 1, bytes));
    const Timing t = time_runs(
        [&] { CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0)); }, nvml);
    cudaFree(src), cudaFree(dst);
    copy_csv += "copy," + hw + ",cudaMemcpy,,,,,,,,,,,,,,,,," + std::to_string(bytes) + ",,,,,,," +
                fmt_double(t.us, 3) + ",us,copy-" + hw + "-measured,,\"SM " + fmt_double(t.ghz, 3) +
                " GHz, " + fmt_double(t.watts, 0) + " W\",\"" + source + "\"\n";
    std::printf("copy %6.0f MiB %10.2f us  %.1f GB/s (read + write)\n", mib, t.us,
                2.0 * double(bytes) / (t.us * 1e3));
  }
  // Launch gaps, eager and from a graph.
  std::string launch_csv = "mode,kernels,per_kernel_us,gpu,source\n";
  for (int kernels : {100, 1000, 4000})
    for (bool graph : {false, true}) {
      const double us = launch_us(kernels, graph);
      launch_csv += std::string(graph ? "graph," : "eager,") + std::to_string(kernels) + "," +
                    fmt_double(us, 3) + "," + hw + ",\"" + source + "\"\n";
      std::printf("launch %s %5d empty kernels: %.3f us each\n", graph ? "graph" : "eager", kernels,
                  us);
    }
  std::ofstream(dir + "/measured-gemm.csv") << gemm_csv;
  std::ofstream(dir + "/measured-copy.csv") << copy_csv;
  std::ofstream(dir + "/measured-launch.csv") << launch_csv;
  std::printf("wrote %s/measured-gemm.csv and %s/measured-copy.csv\n", dir.c_str(), dir.c_str());
  return 0;
}
