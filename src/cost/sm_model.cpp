#include "llmgps/cost/sm_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "llmgps/cost/gemm.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps {

SmDemand& SmDemand::operator+=(const SmDemand& o) {
  tensor_flops += o.tensor_flops;
  fp32_ops += o.fp32_ops;
  imad_ops += o.imad_ops;
  alu_ops += o.alu_ops;
  mufu_ops += o.mufu_ops;
  issue += o.issue;
  return *this;
}

SmDemand SmDemand::scaled(double k) const {
  return SmDemand{tensor_flops * k, fp32_ops * k, imad_ops * k,
                  alu_ops * k,      mufu_ops * k, issue * k};
}

int allocated_registers(int regs_per_thread) {
  return (regs_per_thread + 7) / 8 * 8;
}

int ctas_per_sm(const GpuSpec& g, int threads, int regs, int smem) {
  if (threads <= 0 || regs <= 0 || smem < 0) return 0;
  int n = g.max_ctas_per_sm;
  n = std::min(n, g.max_threads_per_sm / threads);
  n = std::min(n, g.registers_per_sm / (threads * allocated_registers(regs)));
  if (smem > 0) n = std::min(n, g.smem_per_sm_bytes / smem);
  return std::max(0, n);
}

namespace {

// Seconds one SM needs for a demand, resource by resource.
std::vector<ResourceUse> sm_times(const GpuSpec& g, const SmDemand& d, DType dt,
                                  double tensor_eff) {
  const double clk = g.clock_hz;
  const double tensor_cap = g.peak_flops(dt) / g.sm_count * std::max(1e-9, tensor_eff);
  return {{"tensor", tensor_cap > 0 ? d.tensor_flops / tensor_cap : 0.0, 0},
          {"fp32", d.fp32_ops / (g.fp32_fma_per_clk * clk), 0},
          {"imad", d.imad_ops / (g.int32_per_clk * clk), 0},
          {"fma", (d.fp32_ops + d.imad_ops) / (g.fp32_fma_per_clk * clk), 0},
          {"alu", d.alu_ops / (g.alu_per_clk * clk), 0},
          {"mufu", d.mufu_ops / (g.mufu_per_clk * clk), 0},
          {"issue", d.issue / (g.issue_per_clk * clk), 0}};
}

void finish(std::vector<ResourceUse>& r, double time_s) {
  for (auto& u : r) u.utilisation = time_s > 0 ? u.time_s / time_s : 0.0;
}

std::string max_resource(const std::vector<ResourceUse>& r) {
  const auto it = std::max_element(
      r.begin(), r.end(),
      [](const ResourceUse& a, const ResourceUse& b) { return a.time_s < b.time_s; });
  return it == r.end() ? "" : it->resource;
}

void check(const GpuSpec& g, const KernelSpec& k) {
  if (!(k.ctas > 0)) throw InputError(k.name, "a kernel needs at least one CTA");
  if (ctas_per_sm(g, k.threads_per_cta, k.registers_per_thread, k.smem_per_cta_bytes) < 1)
    throw InputError(
        k.name,
        fmt::format(
            "one CTA ({} threads x {} registers, {} B shared memory) does not fit on an SM of {}",
            k.threads_per_cta, k.registers_per_thread, k.smem_per_cta_bytes, g.name));
}

}  // namespace

KernelTime kernel_alone(const GpuSpec& g, const KernelSpec& k) {
  check(g, k);
  KernelTime t;
  t.ctas_per_sm = ctas_per_sm(g, k.threads_per_cta, k.registers_per_thread, k.smem_per_cta_bytes);
  t.waves = k.ctas / (double(t.ctas_per_sm) * g.sm_count);
  // The busiest SM runs ceil(ctas / SMs) CTAs' worth of demand (resident CTAs share its pipes).
  const double per_sm_ctas = std::ceil(k.ctas / g.sm_count);
  t.resources = sm_times(g, k.per_cta.scaled(per_sm_ctas), k.tensor_dtype, k.tensor_efficiency);
  t.resources.push_back({"hbm", k.hbm_bytes / (g.hbm_bw_bytes_per_s * g.hbm_efficiency), 0});
  double body = 0;
  for (const auto& u : t.resources) body = std::max(body, u.time_s);
  t.bound = max_resource(t.resources);
  if (k.fixed_time_s >= 0) {
    body = k.fixed_time_s;
    t.bound = "modelled";
  }
  t.time_s = body + (k.fixed_time_s >= 0 ? 0.0 : g.launch_overhead_s);
  finish(t.resources, t.time_s);
  return t;
}

KernelSpec gemm_kernel_spec(const GpuSpec& g, const std::string& name, const GemmCost& cost,
                            DType dtype) {
  KernelSpec k;
  k.name = name;
  k.ctas = std::max(1.0, std::ceil(cost.waves * cost.ctas_per_sm * g.sm_count));
  // The footprint of the very kernel the GEMM was timed with.
  k.threads_per_cta = cost.kernel.threads_per_cta;
  k.registers_per_thread = cost.kernel.registers_per_thread;
  k.smem_per_cta_bytes = cost.kernel.smem_bytes;
  k.tensor_dtype = dtype;
  k.tensor_efficiency = g.gemm_tensor_efficiency;
  // One warpgroup MMA instruction per 64 x 256 x 32 step: negligible issue; its time is modelled.
  k.per_cta.tensor_flops = cost.flops / k.ctas;
  k.per_cta.issue = cost.flops / k.ctas / (2.0 * 64 * 256 * 32) * 4;
  k.hbm_bytes = cost.hbm_bytes;
  k.fixed_time_s = cost.time_s;
  return k;
}

PairTime kernels_together(const GpuSpec& g, const KernelSpec& a, const KernelSpec& b) {
  check(g, a);
  check(g, b);
  PairTime p;
  const KernelTime ta = kernel_alone(g, a), tb = kernel_alone(g, b);
  p.a_alone_s = ta.time_s;
  p.b_alone_s = tb.time_s;
  // Co-residency: a at its own occupancy, then room for at least one CTA of b.
  const int na = std::max(1, std::min(ta.ctas_per_sm, int(std::ceil(a.ctas / g.sm_count))));
  const int threads_left = g.max_threads_per_sm - na * a.threads_per_cta;
  const int regs_left =
      g.registers_per_sm - na * a.threads_per_cta * allocated_registers(a.registers_per_thread);
  const int smem_left = g.smem_per_sm_bytes - na * a.smem_per_cta_bytes;
  const int slots_left = g.max_ctas_per_sm - na;
  const int b_regs = b.threads_per_cta * allocated_registers(b.registers_per_thread);
  int nb = std::min({threads_left / b.threads_per_cta, regs_left / std::max(1, b_regs), slots_left,
                     int(std::ceil(b.ctas / g.sm_count))});
  if (b.smem_per_cta_bytes > 0) nb = std::min(nb, smem_left / b.smem_per_cta_bytes);
  const bool fits = threads_left >= 0 && regs_left >= 0 && smem_left >= 0 && nb >= 1;
  p.co_resident = fits;
  if (fits) {
    p.a_ctas_per_sm = na;
    p.b_ctas_per_sm = nb;
    // Both spread over every SM: per SM, the demands add resource by resource. A kernel with a
    // modelled time occupies its binding resource (tensor, for a GEMM) for that whole time.
    const double a_sm_ctas = std::ceil(a.ctas / g.sm_count),
                 b_sm_ctas = std::ceil(b.ctas / g.sm_count);
    auto ra = sm_times(g, a.per_cta.scaled(a_sm_ctas), a.tensor_dtype, a.tensor_efficiency);
    auto rb = sm_times(g, b.per_cta.scaled(b_sm_ctas), b.tensor_dtype, b.tensor_efficiency);
    if (a.fixed_time_s >= 0)
      for (auto& u : ra)
        if (u.resource == "tensor") u.time_s = std::max(u.time_s, a.fixed_time_s);
    // A warp issues at most one instruction per clock: b's few resident warps (one small CTA
    // beside a GEMM) may not reach all of the SM's schedulers.
    const double b_warps = double(nb) * std::ceil(b.threads_per_cta / 32.0);
    const double b_issue_floor =
        b.per_cta.issue * b_sm_ctas / (std::min(g.issue_per_clk, b_warps) * g.clock_hz);
    double body = 0;
    for (std::size_t i = 0; i < ra.size(); ++i) {
      ResourceUse u{ra[i].resource, ra[i].time_s + rb[i].time_s, 0};
      if (u.resource == "issue") u.time_s = std::max(u.time_s, b_issue_floor);
      p.resources.push_back(u);
      body = std::max(body, u.time_s);
    }
    const double hbm = (a.hbm_bytes + b.hbm_bytes) / (g.hbm_bw_bytes_per_s * g.hbm_efficiency);
    p.resources.push_back({"hbm", hbm, 0});
    body = std::max(body, hbm);
    p.bound = max_resource(p.resources);
    // Never faster than either kernel alone.
    p.time_s = std::max({body + g.launch_overhead_s, ta.time_s, tb.time_s});
    p.detail = fmt::format("co-resident: {} + {} CTA(s) per SM; combined demand binds on {}", na,
                           nb, p.bound);
  } else {
    // Split the SMs: with both kernels' time inversely proportional to their SM share, the best
    // split finishes both at ta + tb, no earlier than running them back to back.
    p.time_s = ta.time_s + tb.time_s;
    p.bound = "sm-partition";
    p.detail = fmt::format(
        "not co-resident (after {} CTA(s) of {}: {} threads, {} registers, {} B shared memory "
        "left); "
        "splitting SMs hides nothing",
        na, a.name, threads_left, regs_left, smem_left);
  }
  finish(p.resources, p.time_s);
  return p;
}

}  // namespace llmgps
