#include "llmgps/api/estimate.hpp"

#include <fmt/format.h>

#include "llmgps/specs/error.hpp"
#include "sweep_lists.hpp"

namespace llmgps::api {

void EstimateRequest::validate() const {
  check_memory_fraction(step.memory_fraction);
  if (!serve) {
    if (prompt != 0) throw InputError("serve.prompt", "applies to phase serve only");
    if (output != 0) throw InputError("serve.output", "applies to phase serve only");
    return;
  }
  if (prompt < 0)
    throw InputError("serve.prompt", fmt::format("must be positive (got {})", prompt));
  if (output <= 0)
    throw InputError(
        "serve.output",
        fmt::format("phase serve needs a positive number of output tokens (got {})", output));
}

namespace {

// estimate() on specs already loaded (a sweep loads each model and system once).
// The request is validated by the caller (estimate(), or the sweep's validate()).
EstimateResult estimate_on(const EstimateRequest& r, const ModelSpec& model,
                           const SystemSpec& system) {
  EstimateResult out{model, system, r.step, {}, {}, {}, {}, {}, {}};
  if (!r.dtype.empty())
    out.step.dtype = resolve_dtype(r.dtype, out.system.gpu, out.model.fp8_checkpoint, "step.dtype");
  if (r.serve) {
    ServeConfig sc{out.step, r.prompt > 0 ? r.prompt : r.step.seq, r.output};
    out.serve = estimate_serve(out.model, out.system, sc);
    out.estimate = out.serve->prefill;
    out.step.phase = Phase::prefill;
    out.step.seq = sc.prompt;
    // The KV cache peaks at the last decode step; a long prompt's prefill may need more.
    const MemoryUse pre = step_memory(out.model, out.system, out.step, out.estimate.plan);
    out.memory_step = out.step;
    out.memory = pre;
    if (out.serve->decode_steps > 0) {
      const MemoryUse dec =
          step_memory(out.model, out.system, out.serve->last_step, out.serve->last_decode.plan);
      if (dec.total_bytes() >= pre.total_bytes()) {
        out.memory = dec;
        out.memory_step = out.serve->last_step;
      }
    }
  } else {
    out.estimate = estimate_step(out.model, out.system, out.step);
    out.memory = step_memory(out.model, out.system, out.step, out.estimate.plan);
    out.memory_step = out.step;
  }
  std::vector<StepConfig> steps{out.step};
  if (r.serve && out.serve->decode_steps > 0) steps.push_back(out.serve->last_step);
  out.limits = memory_limits(out.model, out.system, steps);
  out.memory_warning =
      memory_warning(out.memory, out.limits, out.memory_step, r.serve ? "prompt" : "seq");
  if (r.strict && !out.memory_warning.empty()) throw InputError("memory", out.memory_warning);
  return out;
}

}  // namespace

EstimateResult estimate(const EstimateRequest& r) {
  r.validate();                                        // before any file is read
  const ModelSpec model = specs::load_model(r.model);  // the model's errors first, as always
  return estimate_on(r, model, specs::load_system(r.system));
}

void EstimateSweepRequest::validate() const {
  if (base.serve) throw InputError("step.phase", "a sweep runs prefill or decode steps");
  detail::require_positive(batches, "sweep.batches");
  detail::require_positive(seqs, "sweep.seqs");
  detail::require_phases(phases);
  detail::require_dtypes(dtypes);
  for (const auto* list : {&models, &systems})
    for (const std::string& item : *list)
      if (item.empty())
        throw InputError(list == &models ? "sweep.models" : "sweep.systems", "empty item");
  base.validate();
}

EstimateSweepResult estimate_sweep(const EstimateSweepRequest& r) {
  r.validate();
  auto or_base = [](const auto& list, auto value) {
    using T = decltype(value);
    return list.empty() ? std::vector<T>{value} : std::vector<T>(list.begin(), list.end());
  };
  const auto models = or_base(r.models, r.base.model);
  const auto systems = or_base(r.systems, r.base.system);
  const auto phases = or_base(r.phases, std::string(phase_name(r.base.step.phase)));
  const auto dtypes = or_base(r.dtypes, r.base.dtype.empty() ? std::string("auto") : r.base.dtype);
  const auto batches = or_base(r.batches, r.base.step.batch);
  const auto seqs = or_base(r.seqs, r.base.step.seq);
  constexpr std::size_t kMaxPoints = 100000;
  const std::size_t n =
      models.size() * systems.size() * phases.size() * dtypes.size() * batches.size() * seqs.size();
  if (n > kMaxPoints)
    throw InputError(
        "sweep", fmt::format("{} points is more than the {} one call evaluates", n, kMaxPoints));
  EstimateSweepResult out;
  out.points.reserve(n);
  std::vector<SystemSpec> loaded_systems;  // after the first model, as estimate() reads them
  for (const auto& model : models) {
    const ModelSpec loaded_model = specs::load_model(model);
    if (loaded_systems.empty())
      for (const auto& system : systems) loaded_systems.push_back(specs::load_system(system));
    for (std::size_t si = 0; si < systems.size(); ++si)
      for (const auto& phase : phases)
        for (const auto& dtype : dtypes)
          for (std::int64_t b : batches)
            for (std::int64_t q : seqs) {
              if (r.progress) r.progress(out.points.size(), n);
              EstimateRequest p = r.base;
              p.model = model, p.system = systems[si], p.dtype = dtype;
              p.step.phase = parse_phase(phase, "sweep.phases");
              p.step.batch = b, p.step.seq = q;
              out.points.push_back(estimate_on(p, loaded_model, loaded_systems[si]));
            }
  }
  return out;
}

}  // namespace llmgps::api
