#include "llmgps/calib/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/collective.hpp"
#include "llmgps/cost/elementwise.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/specs/csv.hpp"

namespace llmgps::calib {
namespace {

bool is_a100(const specs::CsvRow& r, const std::string& file) { return r.at("hardware", file).rfind("A100", 0) == 0; }

void add_gemms(const std::string& dir, const GpuSpec& gpu, std::vector<Sample>& out) {
  const std::string f = dir + "/llmcompass_matmul_measured.csv";
  for (const auto& r : specs::read_csv(f)) {
    if (!is_a100(r, f)) continue;
    GemmShape s{std::int64_t(r.number("M", f)), std::int64_t(r.number("N", f)), std::int64_t(r.number("K", f)), 1,
                DType::fp16};
    out.push_back({"gemm", fmt::format("{}x{}x{}", s.m, s.n, s.k), "gemm", r.number("latency_ms", f) * 1e-3,
                   gemm_cost(gpu, s).time_s, 0});
  }
}

void add_elementwise(const std::string& dir, const GpuSpec& gpu, std::vector<Sample>& out) {
  const std::string f = dir + "/llmcompass_elementwise_measured.csv";
  for (const auto& r : specs::read_csv(f)) {
    if (!is_a100(r, f)) continue;
    const std::string kernel = r.at("kernel", f);
    ElementwiseShape s;
    s.dtype = DType::fp16;
    if (kernel == "gelu") {
      s.kind = ElementwiseKind::activation;
      s.rows = 1;
      s.cols = std::int64_t(r.number("M", f));
    } else {
      s.kind = kernel == "softmax" ? ElementwiseKind::softmax : ElementwiseKind::layernorm;
      s.rows = std::int64_t(r.number("M", f));
      s.cols = std::int64_t(r.number("N", f));
    }
    const double elems = double(s.rows) * double(s.cols);
    out.push_back({kernel, fmt::format("{}x{}", s.rows, s.cols), kernel, elems / (r.number("throughput", f) * 1e9),
                   elementwise_cost(gpu, s).time_s, 0});
  }
}

void add_allreduce(const std::string& dir, const SystemSpec& sys, std::vector<Sample>& out) {
  const std::string f = dir + "/llmcompass_allreduce_A100_4gpu.csv";
  for (const auto& r : specs::read_csv(f)) {
    const double bytes = r.number("size_bytes", f);
    out.push_back({"allreduce", fmt::format("{:.0f} B", bytes), "", r.number("latency_us", f) * 1e-6,
                   allreduce_cost(sys, bytes, 4).time_s, 0});
  }
}

// GPT-3 175B layer with TP=4 (d_model 12288, 96 heads of 128): the operators LLMCompass timed.
void add_gpt3_layer(const std::string& dir, const SystemSpec& sys, std::vector<Sample>& out) {
  const std::string f = dir + "/llmcompass_gpt3_layer_breakdown_A100.csv";
  const GpuSpec& gpu = sys.gpu;
  const std::int64_t d = 12288, heads = 96 / 4, hd = 128, b = 8;
  for (const auto& r : specs::read_csv(f)) {
    const bool prefill = r.at("phase", f).rfind("prefill", 0) == 0;
    const std::int64_t s = 2048, kv = 3072;
    const std::int64_t T = prefill ? b * s : b;
    const std::int64_t q = prefill ? s : 1, k = prefill ? s : kv;
    const std::string c = r.at("component", f);
    double t = 0;
    std::string floor_class = "gemm";
    auto gemm = [&](std::int64_t m, std::int64_t n, std::int64_t kk, std::int64_t batch = 1) {
      return gemm_cost(gpu, GemmShape{m, n, kk, batch, DType::fp16}).time_s;
    };
    auto elem = [&](ElementwiseKind kind, std::int64_t rows, std::int64_t cols) {
      return elementwise_cost(gpu, ElementwiseShape{kind, rows, cols, DType::fp16}).time_s;
    };
    if (c == "Q_K_V") t = gemm(T, 3 * d / 4, d);
    else if (c == "Q_mul_K") t = gemm(q, k, hd, b * heads);
    else if (c == "A_mul_V") t = gemm(q, hd, k, b * heads);
    else if (c == "Wo_proj") t = gemm(T, d, d / 4);
    else if (c == "W1_proj") t = gemm(T, 4 * d / 4, d);
    else if (c == "W2_proj") t = gemm(T, d, 4 * d / 4);
    else if (c == "Softmax") t = elem(ElementwiseKind::softmax, b * heads * q, k), floor_class = "softmax";
    else if (c == "LayerNorm_MHA" || c == "LayerNorm_FFN")
      t = elem(ElementwiseKind::layernorm, T, d), floor_class = "layernorm";
    else if (c == "GeLU") t = elem(ElementwiseKind::activation, T, 4 * d / 4), floor_class = "gelu";
    else if (c == "AllReduce_MHA" || c == "AllReduce_FFN")
      t = allreduce_cost(sys, double(T) * d * 2, 4).time_s, floor_class = "";
    else continue;
    out.push_back({prefill ? "gpt3-layer-prefill" : "gpt3-layer-decode", c, floor_class, r.number("latency_s", f), t, 0});
  }
}

}  // namespace

std::vector<Sample> run_a100_calibration(const std::string& dir, const SystemSpec& sys) {
  std::vector<Sample> samples;
  add_gemms(dir, sys.gpu, samples);
  add_elementwise(dir, sys.gpu, samples);
  add_allreduce(dir, sys, samples);
  add_gpt3_layer(dir, sys, samples);
  // Host overhead of the single-kernel micro-benchmarks: the median gap between measurement and
  // model over the shapes whose modelled GPU time is under half of the measurement (there
  // the gap is host time, whatever the GPU model's error).
  std::map<std::string, std::vector<double>> gaps;
  for (const auto& s : samples)
    if (s.kernel_class == s.floor_class)  // micro-benchmarks only
      if (s.predicted_s < 0.5 * s.measured_s) gaps[s.kernel_class].push_back(s.measured_s - s.predicted_s);
  std::map<std::string, double> floor;
  for (auto& [cls, g] : gaps) {
    std::sort(g.begin(), g.end());
    floor[cls] = g.size() % 2 ? g[g.size() / 2] : 0.5 * (g[g.size() / 2 - 1] + g[g.size() / 2]);
  }
  for (auto& s : samples)
    if (auto it = floor.find(s.floor_class); it != floor.end()) s.harness_floor_s = it->second;
  return samples;
}

std::vector<ClassSummary> summarise(const std::vector<Sample>& samples) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> errs;
  std::map<std::string, double> floors;
  for (const auto& s : samples) {
    if (!errs.count(s.kernel_class)) order.push_back(s.kernel_class);
    errs[s.kernel_class].push_back(std::fabs(s.rel_error()));
    floors[s.kernel_class] = s.harness_floor_s;
  }
  std::vector<ClassSummary> out;
  for (const auto& c : order) {
    auto e = errs[c];
    std::sort(e.begin(), e.end());
    const size_t n = e.size();
    const double median = n % 2 ? e[n / 2] : 0.5 * (e[n / 2 - 1] + e[n / 2]);
    out.push_back({c, int(n), median, e.back(), floors[c]});
  }
  return out;
}

}  // namespace llmgps::calib
