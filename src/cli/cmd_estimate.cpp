// `llmgps estimate`: a whole model's prefill or decode step on a system, op by op.
#include "common.hpp"
#include "llmgps/report/estimate_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/schedule/estimate.hpp"

namespace llmgps::cli {

void register_estimate(CLI::App& app) {
  static OutputOptions out;
  static std::string model_ref, system_ref, phase = "prefill", dtype = "fp16", trace;
  static StepConfig cfg;
  auto* c = app.add_subcommand("estimate", "a whole model's prefill or decode step on a system");
  c->add_option("--model", model_ref, "model preset or path to config.json")->required();
  c->add_option("--system", system_ref, "system preset, system JSON, or a GPU (one-GPU system)")
      ->required();
  c->add_option("--batch", cfg.batch, "sequences")->capture_default_str();
  c->add_option("--seq", cfg.seq, "prompt length (prefill) or cached context length (decode)")
      ->capture_default_str();
  c->add_option("--phase", phase, "prefill|decode")->capture_default_str();
  c->add_option("--dtype", dtype, "fp32|tf32|fp16|bf16|fp8")->capture_default_str();
  c->add_option("--tp", cfg.tp,
                "tensor parallelism for attention and dense FFN (default: GPUs per node)");
  c->add_option("--ep", cfg.ep, "expert parallelism for MoE layers (default: all GPUs)");
  c->add_option("--impl", cfg.attn_impl,
                "attention implementation fa2|fa3 (default: fa3 on Hopper, else fa2)");
  c->add_option("--trace", trace, "also write a Chrome trace of the step to FILE");
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] {
    cfg.phase = parse_phase(phase, "--phase");
    cfg.dtype = parse_dtype(dtype, "--dtype");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    ModelSpec m = specs::load_model(model_ref);
    SystemSpec sys = specs::load_system(system_ref);
    StepEstimate e = estimate_step(m, sys, cfg);
    if (!trace.empty()) report::write_file_atomic(trace, step_chrome_trace(e, m));
    emit_rendered(
        out, report::estimate_json(e, m, sys, cfg),
        [&] { return report::estimate_table(e, m, sys, cfg); },
        [&] { return report::estimate_csv(e); });
  });
}

}  // namespace llmgps::cli
