#include "llmgps/calib/calibration.hpp"

#include <fmt/format.h>

#include <cmath>

#include "llmgps/specs/csv.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"

namespace llmgps::calib {
namespace {

bool is_a100(const specs::CsvRow& r, const std::string& file) {
  return r.at("hardware", file).rfind("A100", 0) == 0;
}

Measurement base(const specs::CsvRow& r, const std::string& file, MeasurementKind kind,
                 const std::string& hw) {
  Measurement m;
  m.file = file;
  m.line = r.line;
  m.kind = kind;
  m.hw = hw;
  m.cls = kind_name(kind);
  m.source = r.at("source", file);
  return m;
}

// A bad cell of the set: file, line and column, as validate names them.
[[noreturn]] void bad_cell(const specs::CsvRow& r, const std::string& file, const char* column,
                           const std::string& reason) {
  throw InputError(fmt::format("{}:{}: column '{}'", file, r.line, column), reason);
}

// A measured time or throughput: a positive finite number.
double positive_cell(const specs::CsvRow& r, const std::string& file, const char* column) {
  const double v = r.number(column, file);
  if (!(v > 0) || !std::isfinite(v))
    bad_cell(r, file, column, fmt::format("must be a positive number (got {})", v));
  return v;
}

// One file of the set: from `dir`, or (dir empty) the copy built into the binary
// (data/calibration-a100). Returns the name errors give it and its rows.
std::pair<std::string, std::vector<specs::CsvRow>> read_set(const std::string& dir,
                                                            const std::string& name) {
  if (dir.empty()) {
    const std::string f = "data/calibration-a100/" + name + ".csv (built in)";
    const char* text = specs::find_preset("calibration-a100", name);
    if (text == nullptr) throw InputError(f, "missing from this build");
    return {f, specs::parse_csv(text, f)};
  }
  const std::string f = dir + "/" + name + ".csv";
  return {f, specs::read_csv(f)};
}

void add_gemms(const std::string& dir, const std::string& gpu, std::vector<Measurement>& out) {
  const auto [f, rows] = read_set(dir, "llmcompass_matmul_measured");
  for (const auto& r : rows) {
    if (!is_a100(r, f)) continue;
    Measurement m = base(r, f, MeasurementKind::gemm, gpu);
    m.impl = "torch";
    m.dtype = "fp16";
    m.m = std::int64_t(r.number("M", f));
    m.n = std::int64_t(r.number("N", f));
    m.k = std::int64_t(r.number("K", f));
    m.value = positive_cell(r, f, "latency_ms");
    m.unit = MeasuredUnit::ms;
    m.harness = "python-sync";
    out.push_back(m);
  }
}

void add_elementwise(const std::string& dir, const std::string& gpu,
                     std::vector<Measurement>& out) {
  const auto [f, rows] = read_set(dir, "llmcompass_elementwise_measured");
  for (const auto& r : rows) {
    if (!is_a100(r, f)) continue;
    const std::string kernel = r.at("kernel", f);
    if (kernel != "gelu" && kernel != "softmax" && kernel != "layernorm")
      bad_cell(r, f, "kernel",
               fmt::format("unknown kernel '{}' (expected gelu, softmax or layernorm)", kernel));
    const MeasurementKind kind = kernel == "gelu"      ? MeasurementKind::gelu
                                 : kernel == "softmax" ? MeasurementKind::softmax
                                                       : MeasurementKind::layernorm;
    Measurement m = base(r, f, kind, gpu);
    m.impl = "torch";
    m.dtype = "fp16";
    m.rows = kind == MeasurementKind::gelu ? 1 : std::int64_t(r.number("M", f));
    m.cols = kind == MeasurementKind::gelu ? std::int64_t(r.number("M", f))
                                           : std::int64_t(r.number("N", f));
    m.value = positive_cell(r, f, "throughput");
    m.unit = MeasuredUnit::gelem_per_s;
    m.harness = "python-sync";
    out.push_back(m);
  }
}

void add_allreduce(const std::string& dir, const std::string& system,
                   std::vector<Measurement>& out) {
  const auto [f, rows] = read_set(dir, "llmcompass_allreduce_A100_4gpu");
  for (const auto& r : rows) {
    Measurement m = base(r, f, MeasurementKind::allreduce, system);
    m.impl = "nccl";
    m.dtype = "fp16";
    m.gpus = 4;
    m.bytes = r.number("size_bytes", f);
    m.value = positive_cell(r, f, "latency_us");
    m.unit = MeasuredUnit::us;
    // test_allreduce.py times torch.distributed.all_reduce from Python like the other kernels.
    m.harness = "python-sync";
    out.push_back(m);
  }
}

// GPT-3 175B layer with TP=4 (d_model 12288, 96 heads of 128): the operators LLMCompass timed.
void add_gpt3_layer(const std::string& dir, const std::string& gpu, const std::string& system,
                    std::vector<Measurement>& out) {
  const auto [f, rows] = read_set(dir, "llmcompass_gpt3_layer_breakdown_A100");
  const std::int64_t d = 12288, heads = 96 / 4, hd = 128, b = 8;
  for (const auto& r : rows) {
    const std::string& phase = r.at("phase", f);
    const bool prefill = phase.rfind("prefill", 0) == 0;
    if (!prefill && phase.rfind("decode", 0) != 0)
      bad_cell(r, f, "phase",
               fmt::format("'{}' is neither a prefill nor a decode phase (it must start with "
                           "one of them)",
                           phase));
    const std::int64_t s = 2048, kv = 3072;
    const std::int64_t T = prefill ? b * s : b;
    const std::int64_t q = prefill ? s : 1, k = prefill ? s : kv;
    const std::string c = r.at("component", f);
    Measurement m = base(r, f, MeasurementKind::gemm, gpu);
    m.dtype = "fp16";
    m.impl = "torch";
    m.harness = "python-sync";
    auto gemm = [&](std::int64_t mm, std::int64_t nn, std::int64_t kk, std::int64_t batch = 0) {
      m.kind = MeasurementKind::gemm;
      m.m = mm, m.n = nn, m.k = kk, m.batch = batch;
    };
    auto elem = [&](MeasurementKind kind, std::int64_t n_rows, std::int64_t n_cols) {
      m.kind = kind;
      m.rows = n_rows, m.cols = n_cols;
    };
    if (c == "Q_K_V")
      gemm(T, 3 * d / 4, d);
    else if (c == "Q_mul_K")
      gemm(q, k, hd, b * heads);
    else if (c == "A_mul_V")
      gemm(q, hd, k, b * heads);
    else if (c == "Wo_proj")
      gemm(T, d, d / 4);
    else if (c == "W1_proj")
      gemm(T, 4 * d / 4, d);
    else if (c == "W2_proj")
      gemm(T, d, 4 * d / 4);
    else if (c == "Softmax")
      elem(MeasurementKind::softmax, b * heads * q, k);
    else if (c == "LayerNorm_MHA" || c == "LayerNorm_FFN")
      elem(MeasurementKind::layernorm, T, d);
    else if (c == "GeLU")
      elem(MeasurementKind::gelu, T, 4 * d / 4);
    else if (c == "AllReduce_MHA" || c == "AllReduce_FFN") {
      m.kind = MeasurementKind::allreduce;
      m.hw = system;
      m.impl = "nccl";
      m.gpus = 4;
      m.bytes = double(T) * d * 2;
    } else {
      bad_cell(r, f, "component",
               fmt::format("unknown component '{}' (expected Q_K_V, Q_mul_K, A_mul_V, Wo_proj, "
                           "W1_proj, W2_proj, Softmax, LayerNorm_MHA, LayerNorm_FFN, GeLU, "
                           "AllReduce_MHA or AllReduce_FFN)",
                           c));
    }
    m.cls = prefill ? "gpt3-layer-prefill" : "gpt3-layer-decode";
    m.label = c;
    m.value = positive_cell(r, f, "latency_s");
    m.unit = MeasuredUnit::s;
    out.push_back(m);
  }
}

}  // namespace

std::vector<Measurement> llmcompass_a100_measurements(const std::string& dir,
                                                      const std::string& system) {
  const std::string gpu = "a100-sxm4-80g";
  std::vector<Measurement> rows;
  add_gemms(dir, gpu, rows);
  add_elementwise(dir, gpu, rows);
  add_allreduce(dir, system, rows);
  add_gpt3_layer(dir, gpu, system, rows);
  return rows;
}

}  // namespace llmgps::calib
