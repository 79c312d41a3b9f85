// `llmgps estimate`: a whole model's prefill or decode step on a system, op by op.
#include "common.hpp"
#include "llmgps/api/estimate.hpp"
#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::cli {

void register_estimate(CLI::App& app) {
  static OutputOptions out;
  static std::string phase = "prefill", trace, layout = "vllm-tp", svg;
  static std::string models, systems, phases, dtypes, batches, seqs;
  static api::EstimateRequest req;
  auto& cfg = req.step;
  auto* c = app.add_subcommand(
      "estimate", "a whole model's prefill or decode step on a system, or a sweep of them");
  c->add_option("--model", req.model, "model preset or path to config.json (or --models)");
  c->add_option("--system", req.system,
                "system preset, system JSON, or a GPU (one-GPU system) (or --systems)");
  c->add_option("--models", models, "sweep: comma-separated models");
  c->add_option("--systems", systems, "sweep: comma-separated systems");
  c->add_option("--phases", phases, "sweep: comma-separated phases (prefill, decode)");
  c->add_option("--dtypes", dtypes, "sweep: comma-separated dtypes (or auto)");
  c->add_option("--batches", batches, "sweep: comma-separated batch sizes");
  c->add_option("--seqs", seqs, "sweep: comma-separated sequence lengths");
  c->add_option("--svg", svg, "sweep: also draw throughput vs batch (or seq) as SVG to FILE");
  c->add_option("--batch", cfg.batch, "sequences")->capture_default_str();
  c->add_option("--seq", cfg.seq, "prompt length (prefill) or cached context length (decode)")
      ->capture_default_str();
  c->add_option("--phase", phase,
                "prefill|decode|serve (serve: TTFT and TPOT for --prompt tokens in, --output out)")
      ->capture_default_str();
  c->add_option("--prompt", req.prompt, "serve: prompt tokens per sequence (default: --seq)");
  c->add_option("--output", req.output, "serve: output tokens per sequence");
  c->add_option("--memory-fraction", cfg.memory_fraction,
                "share of GPU memory the engine uses for weights, KV cache and activations "
                "(vLLM's gpu_memory_utilization)")
      ->capture_default_str();
  c->add_flag("--strict", req.strict, "exit with status 2 when the step does not fit in memory");
  c->add_flag("--cuda-graphs", cfg.cuda_graphs,
              "the engine replays each step from CUDA graphs (vLLM's and SGLang's decode): every "
              "kernel pays the GPU's graph launch gap, not an eager launch");
  req.dtype = "auto";
  c->add_option("--dtype", req.dtype,
                "fp32|tf32|fp16|bf16|fp8, or auto: fp8 for an FP8 checkpoint (DeepSeek-V3) where "
                "the GPU has it, else bf16")
      ->capture_default_str();
  c->add_option("--tp", cfg.tp,
                "tensor parallelism for attention and dense FFN (default: GPUs per node for a "
                "dense model or --layout paper; an MoE model's layout fixes it: every GPU for "
                "vllm-tp, 1 for dp-a2a and dp-agrs)");
  c->add_option("--ep", cfg.ep, "expert parallelism for MoE layers (default: all GPUs)");
  c->add_option("--layout", layout,
                "MoE models: vllm-tp (TP attention over every GPU, one all-reduce combine), "
                "dp-a2a (DP attention, DeepEP dispatch and combine), dp-agrs (DP attention, "
                "all-gather dispatch and reduce-scatter combine: vLLM's default EP backend) or "
                "paper (MoE-GPS's accounting: TP attention within a node, all-to-all dispatch and "
                "combine)")
      ->capture_default_str();
  c->add_option("--impl", cfg.attn_impl,
                "attention implementation fa2|fa3 (default: fa3 on Hopper, else fa2)");
  c->add_option("--chrome-trace", trace,
                "also write a Chrome trace of the step to FILE (phase serve: of its prefill)");
  add_old_spelling(c, "--trace", "--chrome-trace", trace);
  add_output_options(c, out, {"table", "json", "csv"});
  one_or_the_list(c, {{"--model", "--models"},
                      {"--system", "--systems"},
                      {"--phase", "--phases"},
                      {"--dtype", "--dtypes"},
                      {"--batch", "--batches"},
                      {"--seq", "--seqs"}});
  c->callback([] {
    const bool sweep = !(models.empty() && systems.empty() && phases.empty() && dtypes.empty() &&
                         batches.empty() && seqs.empty());
    if (req.model.empty() && models.empty())
      throw InputError("--model", "is required (or --models for a sweep)");
    if (req.system.empty() && systems.empty())
      throw InputError("--system", "is required (or --systems for a sweep)");
    if (!svg.empty() && !sweep)
      throw InputError("--svg", "draws a sweep: give a list (--batches, --seqs, ...)");
    if (phase != "prefill" && phase != "decode" && phase != "serve")
      throw InputError("--phase", "must be 'prefill', 'decode' or 'serve', got '" + phase + "'");
    req.serve = phase == "serve";
    req.step.phase = req.serve ? Phase::prefill : parse_phase(phase, "step.phase");
    if (req.dtype != "auto") req.step.dtype = parse_dtype(req.dtype, "step.dtype");
    req.step.moe_layout = parse_moe_layout(layout, "step.layout");
    if (sweep) {
      if (!trace.empty()) throw InputError("--chrome-trace", "traces one step, not a sweep");
      api::EstimateSweepRequest sw;
      sw.base = req;
      if (!models.empty()) sw.models = split_commas(models);
      if (!systems.empty()) sw.systems = split_commas(systems);
      if (!phases.empty()) sw.phases = split_commas(phases);
      if (!dtypes.empty()) sw.dtypes = split_commas(dtypes);
      if (!batches.empty()) sw.batches = parse_int_list(batches, "--batches");
      if (!seqs.empty()) sw.seqs = parse_int_list(seqs, "--seqs");
      sw.validate();
      if (dry_run()) return;
      api::EstimateSweepResult r;
      {
        TerminalProgress progress("estimating sweep points");
        sw.progress = progress.fn();
        r = api::estimate_sweep(sw);
      }
      report::FileSet side;
      if (!svg.empty()) side.add(svg, report::svg(r));
      emit_rendered(
          out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); },
          &side);
      return;
    }
    req.validate();
    if (dry_run()) return;  // options checked; no spec file read, no model run
    const auto r = api::estimate(req);
    if (!r.memory_warning.empty()) warn("memory: " + r.memory_warning);
    report::FileSet side;
    if (!trace.empty()) side.add(trace, report::chrome_trace(r));
    emit_rendered(
        out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); },
        &side);
  });
}

}  // namespace llmgps::cli
