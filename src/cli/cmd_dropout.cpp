// `llmgps philox` and `llmgps dropout mask|block|sweep`: the dropout application on the command
// line. Each subcommand fills an api request from its options, calls the library and renders.
#include <fmt/format.h>

#include <cstdio>
#include <limits>

#include "common.hpp"
#include "llmgps/api/dropout.hpp"
#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::cli {

namespace {

std::vector<std::uint32_t> parse_words(const std::string& text, const std::string& where,
                                       std::size_t n) {
  std::vector<std::uint32_t> out;
  for (const std::string& item : split_commas(text))
    out.push_back(std::uint32_t(parse_uint(item, where, 0xFFFFFFFFull)));
  if (out.size() != n)
    throw InputError(
        where, fmt::format("expected {} comma-separated 32-bit words, got {}", n, out.size()));
  return out;
}

// The options block and sweep share, bound to one setup.
void add_block_options(CLI::App* c, api::BlockSetup& s, bool sweep = false) {
  auto* model =
      c->add_option("--model", s.model, "dense model preset or config.json (Llama-style)");
  if (!sweep) model->required();
  c->add_option("--hw", s.hw, "GPU preset or JSON")->required();
  c->add_option("--dtype", s.dtype, "fp8|bf16|fp16, or auto: fp8 where the GPU has it, else bf16")
      ->capture_default_str();
  c->add_option("--scope", s.scope, "fwd (forward pass) or train (forward + backward)")
      ->capture_default_str();
  c->add_option("--p", s.p, "dropout probability")->capture_default_str();
  c->add_option(
       "--bits", s.bits,
       "random bits per element of the mask kernel: 8|32 (fused on fa2 runs FlashAttention-2's 8)")
      ->capture_default_str();
  c->add_option("--rounds", s.rounds,
                "Philox rounds of the mask kernel (fused on fa2 runs FlashAttention-2's 7)")
      ->capture_default_str();
  c->add_option("--impl", s.impl,
                "attention implementation fa2|fa3 (default: fa3 where supported)");
  c->add_option("--what-if", s.what_ifs,
                "apply one of the paper's assumptions (repeatable): gemm-room, or paper for all "
                "(docs/dropout.md)");
}

// One function per subcommand; each binds its options to statics, as CLI11 callbacks need.
void register_philox(CLI::App& app) {
  static std::string key_text = "0,0", counter_text = "0,0,0,0";
  static api::PhiloxRequest req;
  auto* ph = app.add_subcommand("philox", "Philox4x32-R output words (bit-exact with Random123)");
  ph->add_option("--rounds", req.rounds, "rounds R (7 and 10 are common)")->capture_default_str();
  ph->add_option("--key", key_text, "K0,K1 (decimal or 0x hex)")->capture_default_str();
  ph->add_option("--counter", counter_text, "C0,C1,C2,C3, first word lowest")
      ->capture_default_str();
  ph->add_option("--count", req.count, "lines to print, incrementing the counter after each")
      ->capture_default_str();
  ph->callback([] {
    req.validate();
    const auto k = parse_words(key_text, "--key", 2);
    const auto c = parse_words(counter_text, "--counter", 4);
    req.key = {k[0], k[1]};
    req.counter = {c[0], c[1], c[2], c[3]};
    if (dry_run()) return;  // options checked; nothing computed
    std::string out;
    api::philox(req, [&](const std::uint32_t* words, std::size_t n) {
      out += report::philox_lines(words, n);
      if (out.size() > (1u << 20)) {
        std::fputs(out.c_str(), stdout);
        out.clear();
      }
    });
    std::fputs(out.c_str(), stdout);
  });
}

void register_dropout_mask(CLI::App* dr) {
  static std::string format = "table";
  static std::string seed_text = "0", offset_text = "0", mask_file;
  static api::MaskRequest req;
  auto* mk = dr->add_subcommand(
      "mask", "write a bit-packed dropout mask (layout in include/llmgps/dropout/mask.hpp)");
  mk->add_option("--seed", seed_text, "64-bit seed (decimal or 0x hex)")->capture_default_str();
  mk->add_option("--offset", offset_text, "64-bit Philox offset")->capture_default_str();
  mk->add_option("--batch", req.shape.batch, "batch")->required();
  mk->add_option("--heads", req.shape.heads, "attention heads")->required();
  mk->add_option("--seq", req.shape.seq_q, "query length")->required();
  mk->add_option("--seq-k", req.shape.seq_k, "key length (default: --seq)");
  mk->add_option("--p", req.rng.p, "drop probability in [0, 1)")->required();
  mk->add_option("--bits", req.rng.bits, "random bits per element: 8|32")->capture_default_str();
  mk->add_option("--rounds", req.rng.rounds, "Philox rounds")->capture_default_str();
  mk->add_option("--threads", req.threads, "threads (0: all cores)")->capture_default_str();
  mk->add_option("--out", mask_file, "the mask file: little-endian 32-bit words (required)");
  add_old_spelling(mk, "--mask-out", "--out", mask_file);
  add_old_spelling(mk, "--file", "--out", mask_file);
  mk->add_option("--format", format, "summary format: table|json|csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
  mk->callback([] {
    if (mask_file.empty())
      throw InputError("--out", "is required: the file the mask is written to");
    req.rng.seed = parse_uint(seed_text, "--seed", std::numeric_limits<std::uint64_t>::max());
    req.rng.offset = parse_uint(offset_text, "--offset", std::numeric_limits<std::uint64_t>::max());
    req.validate();
    if (dry_run()) return;  // options and shape checked; no mask generated
    const auto r = api::dropout_mask(req);
    report::write_file_atomic(mask_file, std::string(reinterpret_cast<const char*>(r.words.data()),
                                                     r.words.size() * sizeof(std::uint32_t)));
    emit_records(
        OutputOptions{format, "", false}, report::json(r, mask_file),
        [&] { return report::table(r, mask_file); }, "");
  });
}

void register_dropout_block(CLI::App* dr) {
  static OutputOptions out;
  static api::BlockRequest req;
  static std::string trace, trace_strategy = "overlapped";
  auto* bl = dr->add_subcommand(
      "block",
      "one transformer block under each dropout strategy (none, fused, sequential, overlapped)");
  add_block_options(bl, req);
  bl->add_option("--batch", req.batch, "sequences")->capture_default_str();
  bl->add_option("--seq", req.seq, "sequence length")->capture_default_str();
  bl->add_option("--chrome-trace", trace, "write a Chrome trace of one strategy's block to FILE");
  add_old_spelling(bl, "--trace", "--chrome-trace", trace);
  bl->add_option("--trace-strategy", trace_strategy, "strategy for --chrome-trace")
      ->check(CLI::IsMember({"none", "fused", "sequential", "overlapped"}))
      ->capture_default_str();
  add_output_options(bl, out, {"table", "json", "csv"});
  bl->callback([] {
    req.validate();
    if (dry_run()) return;  // options checked; no spec file read, no model run
    const auto r = api::dropout_block(req);
    report::FileSet side;
    if (!trace.empty()) side.add(trace, report::chrome_trace(r, trace_strategy));
    emit_rendered(
        out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); },
        &side);
  });
}

void register_dropout_sweep(CLI::App* dr) {
  static OutputOptions out;
  static api::SweepRequest req;
  static std::string seqs = "1024,2048,4096,8192", batches = "1,2,4", models, dtypes, svg;
  auto* sw = dr->add_subcommand("sweep", "block speedups over sequence lengths and batch sizes");
  add_block_options(sw, req, true);
  sw->add_option("--seqs", seqs, "comma-separated sequence lengths")->capture_default_str();
  sw->add_option("--batches", batches, "comma-separated batch sizes")->capture_default_str();
  sw->add_option("--models", models, "comma-separated models (instead of --model)");
  sw->add_option("--dtypes", dtypes, "comma-separated dtypes (or auto)");
  sw->add_option("--svg", svg, "also draw the speedups vs sequence length as SVG to FILE");
  add_output_options(sw, out, {"table", "json", "csv"});
  one_or_the_list(sw, {{"--model", "--models"}, {"--dtype", "--dtypes"}});
  sw->callback([] {
    req.seqs = parse_int_list(seqs, "--seqs");
    req.batches = parse_int_list(batches, "--batches");
    if (!models.empty()) req.models = split_commas(models);
    if (!dtypes.empty()) req.dtypes = split_commas(dtypes);
    if (req.model.empty() && req.models.empty())
      throw InputError("--model", "is required (or --models)");
    if (req.model.empty()) req.model = req.models.front();
    req.validate();
    if (dry_run()) return;  // options checked; no spec file read, no model run
    const auto r = api::dropout_sweep(req);
    report::FileSet side;
    if (!svg.empty()) side.add(svg, report::svg(r));
    emit_rendered(
        out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); },
        &side);
  });
}

}  // namespace

void register_dropout(CLI::App& app) {
  register_philox(app);
  auto* dr = app.add_subcommand(
      "dropout", "attention dropout: masks, the block with its RNG beside a GEMM, and sweeps");
  dr->require_subcommand(1);
  register_dropout_mask(dr);
  register_dropout_block(dr);
  register_dropout_sweep(dr);
}

}  // namespace llmgps::cli
