#include "llmgps/calib/refit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "llmgps/calib/validate.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::calib {
namespace {

double median_abs(const std::vector<double>& e) {
  std::vector<double> a;
  for (double x : e) a.push_back(std::fabs(x));
  return median(std::move(a));
}

std::vector<double> errors(const FitSpec& f, const std::vector<Measurement>& rows,
                           const std::vector<double>& values) {
  std::vector<double> e;
  for (const Scored& s : score(rows, [&](SystemSpec& sys) { f.apply(sys, values); }))
    e.push_back(s.rel_error());
  return e;
}

double objective(const FitSpec& f, const std::vector<Measurement>& rows,
                 const std::vector<double>& values) {
  double sum = 0;
  for (double x : errors(f, rows, values)) sum += x * x;
  return sum;
}

std::vector<double> refit(const FitSpec& f, const std::vector<Measurement>& rows) {
  std::vector<double> v;
  for (const auto& [lo, hi] : f.bounds) v.push_back(0.5 * (lo + hi));
  const double phi = (std::sqrt(5.0) - 1) / 2;
  for (int sweep = 0; sweep < 3; ++sweep)
    for (std::size_t i = 0; i < v.size(); ++i) {
      double a = f.bounds[i].first, b = f.bounds[i].second;
      auto at = [&](double x) {
        std::vector<double> t = v;
        t[i] = x;
        return objective(f, rows, t);
      };
      double c = b - phi * (b - a), d = a + phi * (b - a), fc = at(c), fd = at(d);
      for (int it = 0; it < 40 && b - a > 1e-4 * (f.bounds[i].second - f.bounds[i].first); ++it) {
        if (fc < fd) {
          b = d, d = c, fd = fc;
          c = b - phi * (b - a), fc = at(c);
        } else {
          a = c, c = d, fc = fd;
          d = a + phi * (b - a), fd = at(d);
        }
      }
      v[i] = 0.5 * (a + b);
    }
  return v;
}

bool is_hopper(const GpuSpec& g) {
  return g.sm_version >= 90;
}

}  // namespace

std::string source_key(const Measurement& m) {
  return m.source.substr(0, m.source.find(';'));
}

const std::vector<FitSpec>& fit_specs() {
  static const std::vector<FitSpec> specs = {
      {"hopper-gemm",
       "efficiency.gemm_tensor and efficiency.gemm_fp8_promotion_hidden of the Hopper GPUs, "
       "fitted on the H100 cuBLASLt/torch GEMM rows (class gemm-h100-sxm5)",
       {"efficiency.gemm_tensor", "efficiency.gemm_fp8_promotion_hidden"},
       {{0.7, 1.0}, {0.0, 1.0}},
       [](const Measurement& m) { return m.cls == "gemm-h100-sxm5"; },
       [](SystemSpec& s, const std::vector<double>& v) {
         if (!is_hopper(s.gpu)) return;
         s.gpu.gemm_tensor_efficiency = v[0];
         s.gpu.gemm_fp8_promotion_hidden = v[1];
       }},
      {"nvls",
       "nvls.latency_us and nvls.chunk_overhead_us of the NVLink 4 links, fitted on the "
       "nccl-tests NVLS all-reduce sweeps of 8x H100 and 8x H200 (impl nccl-nvls, no CUDA graph)",
       {"nvls.latency_us", "nvls.chunk_overhead_us"},
       {{5.0, 60.0}, {0.0, 2.0}},
       [](const Measurement& m) {
         return m.kind == MeasurementKind::allreduce && m.impl == "nccl-nvls" &&
                m.harness.empty() && m.source.find("CUDA graph") == std::string::npos;
       },
       [](SystemSpec& s, const std::vector<double>& v) {
         for (LinkSpec* l : {&s.intra, &s.inter})
           if (l->nvls) {
             l->nvls_latency_s = v[0] * 1e-6;
             l->nvls_chunk_overhead_s = v[1] * 1e-6;
           }
       }},
      {"ampere-ring",
       "efficiency.collective_step_latency_scale of the A100 (sm80): its NCCL ring steps against "
       "the tuning-table step latencies, every protocol and link, fitted on the 8x A100 "
       "nccl-tests all-reduce sweeps (class allreduce-8x-a100-nvlink3)",
       {"efficiency.collective_step_latency_scale"},
       {{0.5, 8.0}},
       [](const Measurement& m) { return m.cls == "allreduce-8x-a100-nvlink3"; },
       [](SystemSpec& s, const std::vector<double>& v) {
         if (s.gpu.sm_version == 80) s.gpu.collective_step_latency_scale = v[0];
       }},
  };
  return specs;
}

const FitSpec& fit_spec(const std::string& name, const std::string& option) {
  std::string known;
  for (const auto& f : fit_specs()) {
    if (f.name == name) return f;
    known += (known.empty() ? "" : ", ") + f.name;
  }
  throw InputError(option, "unknown fit '" + name + "' (known: " + known + ")");
}

LosoReport leave_one_source_out(const FitSpec& fit, const std::vector<Measurement>& rows) {
  std::vector<Measurement> used;
  std::vector<std::string> order;
  std::map<std::string, std::vector<Measurement>> by_source;
  for (const auto& m : rows)
    if (fit.fits_on(m)) {
      used.push_back(m);
      const std::string k = source_key(m);
      if (!by_source.count(k)) order.push_back(k);
      by_source[k].push_back(m);
    }
  if (used.empty())
    throw InputError("loso.fit", fmt::format("no row of the table is one fit '{}' uses ({})",
                                             fit.name, fit.description));
  if (order.size() < 2)
    throw InputError("loso.fit", fmt::format("fit '{}' has rows from one source only ({}): nothing "
                                             "to hold out",
                                             fit.name, order.front()));
  LosoReport r;
  r.fit = fit.name;
  r.fields = fit.fields;
  r.rows = int(used.size());
  r.values = refit(fit, used);
  r.median = median_abs(errors(fit, used, r.values));
  for (const auto& src : order) {
    std::vector<Measurement> rest;
    for (const auto& m : used)
      if (source_key(m) != src) rest.push_back(m);
    LosoRow row;
    row.source = src;
    row.fit_rows = int(rest.size());
    row.held_rows = int(by_source[src].size());
    row.values = refit(fit, rest);
    row.fit_median = median_abs(errors(fit, rest, row.values));
    const std::vector<double> held = errors(fit, by_source[src], row.values);
    row.held_median = median_abs(held);
    double sum = 0;
    for (double x : held) sum += x;
    row.held_bias = sum / double(held.size());
    r.sources.push_back(std::move(row));
  }
  return r;
}

}  // namespace llmgps::calib
