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

// One profiled variant of the compiled kernel, as plain numbers.
struct Variant {
  std::string arch;
  int bits = 0, rounds = 0, registers = 0;
  double imad = 0, alu = 0, total = 0;  // per element
};

// The committed profile (data/kernels/rng_mask.json), parsed once into a table.
const std::vector<Variant>& variants() {
  static const std::vector<Variant> table = [] {
    const char* text = specs::find_preset("kernels", "rng_mask");
    if (!text) throw std::logic_error("data/kernels/rng_mask.json is not embedded");
    const nlohmann::json doc = nlohmann::json::parse(text);
    std::vector<Variant> out;
    for (const auto& v : doc.at("variants")) {
      const auto& cls = v.at("ptx_per_element_by_class");
      out.push_back({v.at("arch").get<std::string>(), v.at("bits").get<int>(),
                     v.at("rounds").get<int>(), v.at("registers_per_thread").get<int>(),
                     cls.value("imad", 0.0), cls.value("alu", 0.0),
                     v.at("ptx_instructions_per_element").get<double>()});
    }
    return out;
  }();
  return table;
}

const Variant& variant(const char* arch, int bits, int rounds) {
  for (const Variant& v : variants())
    if (v.arch == arch && v.bits == bits && v.rounds == rounds) return v;
  throw std::logic_error(std::string("rng_mask profile has no ") + arch + " variant for " +
                         std::to_string(bits) + " bits, " + std::to_string(rounds) + " rounds");
}

SmDemand demand_of(const RngKernelProfile& p) {
  SmDemand d;
  d.imad_ops = p.imad;
  d.alu_ops = p.alu;
  d.issue = p.total / 32.0;  // one warp instruction serves 32 threads' elements
  return d;
}

}  // namespace

RngKernelProfile rng_kernel_profile(const GpuSpec& gpu, const DropoutRng& rng) {
  keep_threshold(rng);  // bits 8 or 32, rounds >= 1
  const char* arch = gpu.sm_version >= 90 ? "sm_90" : "sm_80";
  const Variant& r7 = variant(arch, rng.bits, 7);
  const Variant& r10 = variant(arch, rng.bits, 10);
  const double t = (rng.rounds - 7) / 3.0;
  auto line = [&](double a, double b) { return std::max(0.0, a + t * (b - a)); };
  RngKernelProfile p;
  p.registers_per_thread = (rng.rounds <= 8 ? r7 : r10).registers;
  p.imad = line(r7.imad, r10.imad);
  p.alu = line(r7.alu, r10.alu);
  p.total = line(r7.total, r10.total);
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
  return demand_of(rng_kernel_profile(gpu, rng));
}

KernelSpec rng_kernel(const GpuSpec& gpu, double elements, const DropoutRng& rng, int threads) {
  const RngKernelProfile p = rng_kernel_profile(gpu, rng);
  KernelSpec k;
  k.name = "rng_mask";
  k.threads_per_cta = threads;
  k.registers_per_thread = p.registers_per_thread;
  k.smem_per_cta_bytes = 0;
  const double per_cta = double(threads) * 128.0;
  k.ctas = std::max(1.0, std::ceil(elements / per_cta));
  k.per_cta = demand_of(p).scaled(per_cta);
  k.hbm_bytes = elements / 8.0;
  return k;
}

}  // namespace llmgps::dropout
