#include "llmgps/calib/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/collective.hpp"
#include "llmgps/cost/elementwise.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"

namespace llmgps::calib {
namespace {

DType dtype_or(const Measurement& m, DType fallback) {
  return m.dtype.empty() ? fallback : parse_dtype(m.dtype, "column 'dtype'");
}

// A time from the measured value: `work` is FLOPs (tflops), bytes on the bus (busbw, algbw,
// gbps) or elements (gelem_per_s) for the row's shape.
double measured_time(const Measurement& m, double work) {
  switch (m.unit) {
    case MeasuredUnit::us:
      return m.value * 1e-6;
    case MeasuredUnit::ms:
      return m.value * 1e-3;
    case MeasuredUnit::s:
      return m.value;
    case MeasuredUnit::tflops:
      return work / (m.value * 1e12);
    case MeasuredUnit::busbw_gbps:
    case MeasuredUnit::algbw_gbps:
    case MeasuredUnit::gbps:
      return work / (m.value * 1e9);
    case MeasuredUnit::gelem_per_s:
      return work / (m.value * 1e9);
  }
  return 0;
}

struct Prediction {
  OpCost cost;
  double work = 0;  // what a throughput unit divides (see measured_time)
  std::string shape;
};

Prediction predict_gemm(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  const GpuSpec& gpu = sys.gpu;
  GemmShape s{m.m, m.n, m.k, m.batch > 0 ? m.batch : 1, dtype_or(m, DType::fp16)};
  p.cost = gemm_cost(gpu, s);
  p.work = p.cost.flops;
  p.shape = s.batch > 1 ? fmt::format("{}x {}x{}x{}", s.batch, s.m, s.n, s.k)
                        : fmt::format("{}x{}x{}", s.m, s.n, s.k);
  return p;
}

Prediction predict_grouped_gemm(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  const GpuSpec& gpu = sys.gpu;
  if (m.groups > 4096) throw InputError(m.where() + ": column 'groups'", "at most 4096 groups");
  const GroupedLayout layout =
      m.layout == "masked" ? GroupedLayout::masked : GroupedLayout::contiguous;
  GroupedGemmShape s =
      GroupedGemmShape::uniform(m.groups, m.m, m.n, m.k, dtype_or(m, DType::fp8), layout);
  p.cost = grouped_gemm_cost(gpu, s);
  p.work = p.cost.flops;
  p.shape = fmt::format("{} groups x {}x{}x{} ({})", m.groups, m.m, m.n, m.k,
                        grouped_layout_name(layout));
  return p;
}

Prediction predict_attention(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  const GpuSpec& gpu = sys.gpu;
  AttentionShape s;
  s.batch = m.batch;
  s.heads = m.heads;
  s.kv_heads = m.kv_heads;
  s.seq_q = m.seq;
  s.seq_k = m.seq_k;
  s.head_dim = m.head_dim;
  s.causal = m.causal;
  s.dtype = dtype_or(m, DType::bf16);
  s.pass = m.pass == "bwd" ? AttnPass::bwd : AttnPass::fwd;
  s.impl = m.impl;
  p.cost = attention_cost(gpu, s);
  p.work = p.cost.flops;
  p.shape = fmt::format("{} {} b{} h{} s{} d{}{}", m.impl, m.pass, s.batch, s.heads, s.seq_q,
                        s.head_dim, s.causal ? " causal" : "");
  return p;
}

// All-reduce, all-gather and reduce-scatter: nccl-tests' size in `bytes`, its bus bandwidth
// convention by kind.
Prediction predict_collective(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  const CollectiveKind kind = m.kind == MeasurementKind::allgather ? CollectiveKind::allgather
                              : m.kind == MeasurementKind::reducescatter
                                  ? CollectiveKind::reducescatter
                                  : CollectiveKind::allreduce;
  const int n = m.gpus > 0 ? int(std::min<std::int64_t>(m.gpus, 1 << 20)) : sys.total_gpus();
  // impl names the algorithm the run was forced to (NCCL_ALGO): nccl (auto), nccl-ring,
  // nccl-nvls, nccl-nvls-tree, nccl-hierarchical, nccl-tree, nccl-collnet-direct,
  // nccl-collnet-chain.
  CollectiveAlgo algo = CollectiveAlgo::automatic;
  if (m.impl.rfind("nccl-", 0) == 0)
    algo = parse_collective_algo(m.impl.substr(5), m.where() + ": column 'impl'");
  else if (!m.impl.empty() && m.impl != "nccl")
    throw InputError(m.where() + ": column 'impl'",
                     "a collective's impl must be nccl or nccl-<algorithm> (ring, nvls, "
                     "nvls-tree, hierarchical, tree, collnet-direct, collnet-chain), got '" +
                         m.impl + "'");
  p.cost = collective_cost(kind, sys, m.bytes, n, algo);
  p.work = m.unit == MeasuredUnit::busbw_gbps ? m.bytes * busbw_factor(kind, n) : m.bytes;
  p.shape = fmt::format("{} GPUs, {:.0f} B", n, m.bytes);
  return p;
}

Prediction predict_alltoall(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  EpAllToAll a;
  a.tokens_per_gpu = m.tokens;
  a.hidden = m.hidden;
  a.top_k = int(std::min<std::int64_t>(m.top_k, 1 << 20));
  a.experts = int(std::min<std::int64_t>(m.experts, 1 << 20));
  a.gpus = m.gpus > 0 ? int(std::min<std::int64_t>(m.gpus, 1 << 20)) : sys.total_gpus();
  a.combine = m.kind == MeasurementKind::alltoall_combine;
  a.payload = dtype_or(m, a.combine ? DType::bf16 : DType::fp8);
  a.mode = parse_ep_alltoall_mode(m.impl.empty() ? "deepep-normal" : m.impl,
                                  m.where() + ": column 'impl'");
  EpAllToAllCost c = ep_alltoall_cost(sys, a);
  p.cost = c;
  p.work = c.logical_bytes;  // DeepEP's bandwidth counts these bytes, not the bottleneck's
  p.shape = fmt::format("{} {} GPUs, {} tokens x {} top-{} of {}",
                        m.impl.empty() ? "deepep-normal" : m.impl, a.gpus, a.tokens_per_gpu,
                        a.hidden, a.top_k, a.experts);
  return p;
}

Prediction predict_copy(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  const GpuSpec& gpu = sys.gpu;
  const DType d = DType::fp16;
  ElementwiseShape s{ElementwiseKind::copy, 1, std::int64_t(std::ceil(m.bytes / dtype_bytes(d))),
                     d};
  p.cost = elementwise_cost(gpu, s);
  p.work = 2.0 * m.bytes;
  p.shape = fmt::format("{:.0f} B", m.bytes);
  return p;
}

Prediction predict_elementwise(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  const GpuSpec& gpu = sys.gpu;
  ElementwiseShape s;
  s.dtype = dtype_or(m, DType::fp16);
  s.kind = m.kind == MeasurementKind::softmax     ? ElementwiseKind::softmax
           : m.kind == MeasurementKind::layernorm ? ElementwiseKind::layernorm
                                                  : ElementwiseKind::activation;
  s.rows = m.rows;
  s.cols = m.cols;
  p.cost = elementwise_cost(gpu, s);
  p.work = double(m.rows) * double(m.cols);
  p.shape = fmt::format("{}x{}", m.rows, m.cols);
  return p;
}

Prediction predict(const Measurement& m, const SystemSpec& sys) {
  Prediction p;
  switch (m.kind) {
    case MeasurementKind::gemm:
      p = predict_gemm(m, sys);
      break;
    case MeasurementKind::grouped_gemm:
      p = predict_grouped_gemm(m, sys);
      break;
    case MeasurementKind::attention:
      p = predict_attention(m, sys);
      break;
    case MeasurementKind::allreduce:
    case MeasurementKind::allgather:
    case MeasurementKind::reducescatter:
      p = predict_collective(m, sys);
      break;
    case MeasurementKind::alltoall_dispatch:
    case MeasurementKind::alltoall_combine:
      p = predict_alltoall(m, sys);
      break;
    case MeasurementKind::copy:
      p = predict_copy(m, sys);
      break;
    case MeasurementKind::softmax:
    case MeasurementKind::layernorm:
    case MeasurementKind::gelu:
      p = predict_elementwise(m, sys);
      break;
  }
  if (!m.label.empty()) p.shape = m.label + " " + p.shape;
  return p;
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<Scored> score(const std::vector<Measurement>& rows) {
  return score(rows, {});
}

namespace {
// A hardware file named by a relative path is looked for beside the table that names it (as a
// path inside a system file is relative to that file), so a table and its hardware travel
// together; where no such file is there, relative to the working directory (a path given on
// the command line, as `calibrate --system` passes it, or a table written before).
std::string hw_ref(const Measurement& m) {
  namespace fs = std::filesystem;
  if (!specs::looks_like_path(m.hw) || fs::path(m.hw).is_absolute()) return m.hw;
  const fs::path dir = fs::path(m.file).parent_path();
  if (dir.empty()) return m.hw;
  const std::string beside = (dir / m.hw).lexically_normal().string();
  std::error_code ec;
  return fs::exists(beside, ec) || !fs::exists(m.hw, ec) ? beside : m.hw;
}
}  // namespace

std::vector<Scored> score(const std::vector<Measurement>& rows,
                          const std::function<void(SystemSpec&)>& adjust) {
  std::map<std::string, SystemSpec> systems;
  std::vector<Scored> out;
  out.reserve(rows.size());
  for (const auto& m : rows) {
    try {
      const std::string ref = hw_ref(m);
      auto it = systems.find(ref);
      if (it == systems.end()) {
        try {
          it = systems.emplace(ref, specs::load_system(ref)).first;
        } catch (const InputError& e) {
          throw InputError("column 'hw'", e.what());
        }
        if (adjust) adjust(it->second);
      }
      const SystemSpec* sys = &it->second;
      SystemSpec locked;
      if (m.clock_ghz > 0) {
        // The run was locked at a stated clock: the kernel runs there, whatever its power.
        locked = *sys;
        locked.gpu.clock_hz = m.clock_ghz * 1e9;
        locked.gpu.full_load_clock_hz_16bit = locked.gpu.full_load_clock_hz_fp8 = 0;
        sys = &locked;
      }
      Prediction p = predict(m, *sys);
      Scored s;
      s.m = m;
      s.shape = p.shape;
      s.predicted_s = p.cost.time_s;
      s.measured_s = measured_time(m, p.work);
      s.bound = p.cost.bound;
      s.detail = p.cost.detail;
      out.push_back(std::move(s));
    } catch (const InputError& e) {
      throw InputError(m.where(), e.what());
    }
  }
  // Harness floors: what a Python-timed row adds to the kernel (launch, synchronise, timer).
  // Taken from the micro-benchmark rows of a kind (class named after the kind) where a table has
  // them, else from the launch-dominated rows of the row's own class (the model under half the
  // measurement); the median gap is the floor.
  // A harness floor is a constant the smallest measurements sit on, so only rows within twice
  // their group's smallest measurement count: a larger row the model is far under is the model's
  // own shortfall, not the harness.
  auto group = [](const Scored& s) {
    return s.m.cls == kind_name(s.m.kind) ? "kind " + s.m.cls : "class " + s.m.cls;
  };
  std::map<std::string, double> smallest;
  for (const auto& s : out)
    if (s.m.harness == "python-sync") {
      auto [it, fresh] = smallest.emplace(group(s), s.measured_s);
      if (!fresh) it->second = std::min(it->second, s.measured_s);
    }
  std::map<std::string, std::vector<double>> by_kind, by_class;
  for (const auto& s : out)
    if (s.m.harness == "python-sync" && s.predicted_s < 0.5 * s.measured_s &&
        s.measured_s <= 2 * smallest[group(s)]) {
      if (s.m.cls == kind_name(s.m.kind))
        by_kind[kind_name(s.m.kind)].push_back(s.measured_s - s.predicted_s);
      else
        by_class[s.m.cls].push_back(s.measured_s - s.predicted_s);
    }
  for (auto& s : out) {
    if (s.m.harness != "python-sync") continue;
    if (auto g = by_kind.find(kind_name(s.m.kind)); g != by_kind.end())
      s.harness_floor_s = median(g->second);
    else if (auto c = by_class.find(s.m.cls); c != by_class.end())
      s.harness_floor_s = median(c->second);
  }
  return out;
}

std::vector<ClassScore> summarise(const std::vector<Scored>& scored, int worst) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Scored*>> by;
  for (const auto& s : scored) {
    if (!by.count(s.m.cls)) order.push_back(s.m.cls);
    by[s.m.cls].push_back(&s);
  }
  std::vector<ClassScore> out;
  for (const auto& c : order) {
    auto rows = by[c];
    ClassScore cs;
    cs.cls = c;
    cs.n = int(rows.size());
    std::vector<double> abs;
    double sum = 0;
    for (const Scored* s : rows) {
      abs.push_back(std::fabs(s->rel_error()));
      sum += s->rel_error();
      cs.harness_floor_s = std::max(cs.harness_floor_s, s->harness_floor_s);
    }
    cs.median_abs_error = median(abs);
    cs.mean_signed_error = sum / cs.n;
    cs.max_abs_error = *std::max_element(abs.begin(), abs.end());
    std::stable_sort(rows.begin(), rows.end(), [](const Scored* a, const Scored* b) {
      return std::fabs(a->rel_error()) > std::fabs(b->rel_error());
    });
    rows.resize(std::min<size_t>(rows.size(), size_t(std::max(0, worst))));
    cs.worst = rows;
    out.push_back(std::move(cs));
  }
  return out;
}

}  // namespace llmgps::calib
