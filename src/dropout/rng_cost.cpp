#include "llmgps/dropout/rng_cost.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "llmgps/specs/presets.hpp"

namespace llmgps::dropout {

PhiloxOps philox_ops(int rounds, int bits) {
  PhiloxOps o;
  o.wide_multiplies = 2.0 * rounds;
  o.xors = 4.0 * rounds;
  o.adds = 2.0 * (rounds - 1);
  o.counter_setup = 4;
  o.elements_per_call = 128 / bits;
  return o;
}

namespace {

// The committed profile, parsed once.
const nlohmann::json& profile_doc() {
  static const nlohmann::json doc = [] {
    const char* text = specs::find_preset("kernels", "rng_mask");
    if (!text) throw std::logic_error("data/kernels/rng_mask.json is not embedded");
    return nlohmann::json::parse(text);
  }();
  return doc;
}

const nlohmann::json& variant(const std::string& arch, int bits, int rounds) {
  for (const auto& v : profile_doc().at("variants"))
    if (v.at("arch") == arch && v.at("bits") == bits && v.at("rounds") == rounds) return v;
  throw std::logic_error("rng_mask profile has no " + arch + " variant for " +
                         std::to_string(bits) + " bits, " + std::to_string(rounds) + " rounds");
}

}  // namespace

RngKernelProfile rng_kernel_profile(const GpuSpec& gpu, const DropoutRng& rng) {
  keep_threshold(rng);  // bits 8 or 32, rounds >= 1
  const std::string arch = gpu.sm_version >= 90 ? "sm_90" : "sm_80";
  const auto& r7 = variant(arch, rng.bits, 7);
  const auto& r10 = variant(arch, rng.bits, 10);
  const double t = (rng.rounds - 7) / 3.0;
  auto line = [&](double a, double b) { return std::max(0.0, a + t * (b - a)); };
  auto cls = [&](const nlohmann::json& v, const char* c) {
    return v.at("ptx_per_element_by_class").value(c, 0.0);
  };
  RngKernelProfile p;
  p.registers_per_thread = (rng.rounds <= 8 ? r7 : r10).at("registers_per_thread").get<int>();
  p.imad = line(cls(r7, "imad"), cls(r10, "imad"));
  p.alu = line(cls(r7, "alu"), cls(r10, "alu"));
  p.total = line(r7.at("ptx_instructions_per_element").get<double>(),
                 r10.at("ptx_instructions_per_element").get<double>());
  p.source = "data/kernels/rng_mask.json (" + arch + ", nvcc " +
             profile_doc().at("nvcc").get<std::string>() + ")";
  return p;
}

PerScoreWork fused_rng_work(const GpuSpec& gpu, const DropoutRng& rng) {
  const RngKernelProfile p = rng_kernel_profile(gpu, rng);
  PerScoreWork w;
  w.imad_ops = p.imad;
  w.alu_ops = p.alu;
  w.fp32_ops = 1.0;  // select: P * scale or 0
  w.issue = (p.total + 1.0) / 32.0;
  return w;
}

PerScoreWork mask_read_work() {
  PerScoreWork w;
  w.alu_ops = 2.0;   // shift/and out the bit, test it
  w.fp32_ops = 1.0;  // select
  w.issue = 3.0 / 32.0;
  w.hbm_bytes = 1.0 / 8.0;
  return w;
}

SmDemand rng_element_demand(const GpuSpec& gpu, const DropoutRng& rng) {
  const RngKernelProfile p = rng_kernel_profile(gpu, rng);
  SmDemand d;
  d.imad_ops = p.imad;
  d.alu_ops = p.alu;
  d.issue = p.total / 32.0;  // one warp instruction serves 32 threads' elements
  return d;
}

KernelSpec rng_kernel(const GpuSpec& gpu, double elements, const DropoutRng& rng, int threads) {
  KernelSpec k;
  k.name = "rng_mask";
  k.threads_per_cta = threads;
  k.registers_per_thread = rng_kernel_profile(gpu, rng).registers_per_thread;
  k.smem_per_cta_bytes = 0;
  const double per_cta = double(threads) * 128.0;
  k.ctas = std::max(1.0, std::ceil(elements / per_cta));
  k.per_cta = rng_element_demand(gpu, rng).scaled(per_cta);
  k.hbm_bytes = elements / 8.0;
  return k;
}

}  // namespace llmgps::dropout
