// `llmgps philox` and `llmgps dropout mask`: the RNG pieces of the dropout application.
#include <fmt/format.h>

#include <chrono>
#include <limits>

#include "common.hpp"
#include "llmgps/dropout/block.hpp"
#include "llmgps/dropout/mask.hpp"
#include "llmgps/dropout/philox_stream.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps::cli {

namespace {

// Decimal or 0x-prefixed hexadecimal, within `max`.
std::uint64_t parse_uint(const std::string& text, const std::string& where, std::uint64_t max) {
  std::string t = text;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t = t.substr(2), base = 16;
  if (t.empty() || t.find_first_not_of(base == 16 ? "0123456789abcdefABCDEF" : "0123456789") !=
                       std::string::npos)
    throw InputError(where, fmt::format("'{}' is not a decimal or 0x-hexadecimal number", text));
  std::uint64_t v = 0;
  try {
    std::size_t used = 0;
    v = std::stoull(t, &used, base);
  } catch (const std::exception&) {
    throw InputError(where, fmt::format("'{}' is out of range", text));
  }
  if (v > max) throw InputError(where, fmt::format("'{}' exceeds {}", text, max));
  return v;
}

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

struct BlockArgs {
  std::string model_ref, hw_ref, dtype = "fp8", scope = "train", impl;
  double p = 0.1;
  int bits = 32, rounds = 10;  // PyTorch's: one 32-bit uniform per element from Philox4x32-10
  void add(CLI::App* c) {
    c->add_option("--model", model_ref, "dense model preset or config.json (Llama-style)")
        ->required();
    c->add_option("--hw", hw_ref, "GPU preset or JSON")->required();
    c->add_option("--dtype", dtype, "fp8|bf16|fp16")->capture_default_str();
    c->add_option("--scope", scope, "fwd (forward pass) or train (forward + backward)")
        ->capture_default_str();
    c->add_option("--p", p, "dropout probability")->capture_default_str();
    c->add_option("--bits", bits, "random bits per element: 8|32 (shared by every strategy)")
        ->capture_default_str();
    c->add_option("--rounds", rounds, "Philox rounds (shared by every strategy)")
        ->capture_default_str();
    c->add_option("--impl", impl,
                  "attention implementation fa2|fa3 (default: fa3 where supported)");
  }
  dropout::BlockConfig config(std::int64_t batch, std::int64_t seq) const {
    dropout::BlockConfig c;
    c.batch = batch;
    c.seq = seq;
    c.dtype = parse_dtype(dtype, "--dtype");
    c.scope = dropout::parse_scope(scope, "--scope");
    c.rng.p = p;
    c.rng.bits = bits;
    c.rng.rounds = rounds;
    c.attn_impl = impl;
    return c;
  }
};

nlohmann::ordered_json block_json(const dropout::BlockResult& r, const BlockArgs& a,
                                  std::int64_t batch, std::int64_t seq) {
  nlohmann::ordered_json j;
  j["model"] = a.model_ref;
  j["hw"] = a.hw_ref;
  j["dtype"] = a.dtype;
  j["scope"] = a.scope;
  j["batch"] = batch;
  j["seq"] = seq;
  j["p"] = a.p;
  j["bits"] = a.bits;
  j["rounds"] = a.rounds;
  nlohmann::ordered_json st;
  for (const auto& s : r.strategies) {
    nlohmann::ordered_json o;
    o["time_s"] = s.time_s;
    nlohmann::ordered_json ops = nlohmann::ordered_json::array();
    for (const auto& op : s.ops)
      ops.push_back({{"name", op.name},
                     {"pass", op.pass},
                     {"time_s", op.time_s},
                     {"bound", op.bound},
                     {"stream", op.stream == 1 ? "rng" : "compute"}});
    o["ops"] = ops;
    st[s.name] = o;
  }
  j["strategies"] = st;
  j["speedup_vs_sequential"] = r.speedup_vs_sequential;
  j["speedup_vs_fused"] = r.speedup_vs_fused;
  j["host_gemm"] = r.host_gemm;
  j["host_co_resident"] = r.host_pair.co_resident;
  j["rng_kernel_s"] = r.rng_alone.time_s;
  j["rng_elements"] = r.rng_elements;
  nlohmann::ordered_json util;
  for (const auto& u : r.rng_alone.resources) util[u.resource] = u.utilisation;
  j["rng_kernel_utilisation"] = util;
  nlohmann::ordered_json hutil;
  for (const auto& u : r.host_pair.resources) hutil[u.resource] = u.utilisation;
  j["host_pair_utilisation"] = hutil;
  j["attention_fwd_s"] = {{"none", r.attention_fwd_none.time_s},
                          {"fused", r.attention_fwd_fused.time_s},
                          {"mask", r.attention_fwd_mask.time_s}};
  j["attention_bwd_s"] = {{"none", r.attention_bwd_none.time_s},
                          {"fused", r.attention_bwd_fused.time_s},
                          {"mask", r.attention_bwd_mask.time_s}};
  j["binding"] = r.binding;
  return j;
}

std::vector<std::int64_t> parse_int_list(const std::string& text, const std::string& where) {
  std::vector<std::int64_t> out;
  for (const std::string& item : split_commas(text)) {
    const std::uint64_t v = parse_uint(item, where, std::uint64_t(1) << 40);
    if (v == 0) throw InputError(where, "values must be positive");
    out.push_back(std::int64_t(v));
  }
  return out;
}

// One function per subcommand; each binds its options to statics, as CLI11 callbacks need.
void register_philox(CLI::App& app) {
  static std::string key_text = "0,0", counter_text = "0,0,0,0", rounds_text = "10";
  static std::int64_t count = 1;
  auto* ph = app.add_subcommand("philox", "Philox4x32-R output words (bit-exact with Random123)");
  ph->add_option("--rounds", rounds_text, "rounds R (7 and 10 are common)")->capture_default_str();
  ph->add_option("--key", key_text, "K0,K1 (decimal or 0x hex)")->capture_default_str();
  ph->add_option("--counter", counter_text, "C0,C1,C2,C3, first word lowest")
      ->capture_default_str();
  ph->add_option("--count", count, "lines to print, incrementing the counter after each")
      ->capture_default_str();
  ph->callback([] {
    const int rounds = int(parse_uint(rounds_text, "--rounds", 64));
    if (rounds < 1) throw InputError("--rounds", "must be at least 1");
    if (count < 1 || count > (std::int64_t(1) << 32))
      throw InputError("--count", fmt::format("must be in [1, 2^32] (got {})", count));
    const auto k = parse_words(key_text, "--key", 2);
    const auto c = parse_words(counter_text, "--counter", 4);
    if (dry_run()) return;  // options checked; nothing computed
    philox::Counter ctr{{c[0], c[1], c[2], c[3]}};
    const philox::Key key{{k[0], k[1]}};
    std::string out;
    std::vector<std::uint32_t> buf(4 * 4096);
    for (std::int64_t done = 0; done < count;) {
      const std::size_t n = std::size_t(std::min<std::int64_t>(4096, count - done));
      philox::generate_stream(ctr, key, rounds, n, buf.data());
      for (std::size_t i = 0; i < n; ++i)
        out += fmt::format("{:08x} {:08x} {:08x} {:08x}\n", buf[4 * i], buf[4 * i + 1],
                           buf[4 * i + 2], buf[4 * i + 3]);
      ctr = philox::add(ctr, n);
      done += std::int64_t(n);
      if (out.size() > (1u << 20)) {
        std::fputs(out.c_str(), stdout);
        out.clear();
      }
    }
    std::fputs(out.c_str(), stdout);
  });
}

void register_dropout_mask(CLI::App* dr) {
  static OutputOptions mask_out;
  static std::string seed_text = "0", offset_text = "0", mask_file;
  static dropout::MaskShape shape{1, 1, 0, 0};
  static dropout::DropoutRng rng;
  static int threads = 0;
  auto* mk = dr->add_subcommand(
      "mask", "write a bit-packed dropout mask (layout in include/llmgps/dropout/mask.hpp)");
  mk->add_option("--seed", seed_text, "64-bit seed (decimal or 0x hex)")->capture_default_str();
  mk->add_option("--offset", offset_text, "64-bit Philox offset")->capture_default_str();
  mk->add_option("--batch", shape.batch, "batch")->required();
  mk->add_option("--heads", shape.heads, "attention heads")->required();
  mk->add_option("--seq", shape.seq_q, "query length")->required();
  mk->add_option("--seq-k", shape.seq_k, "key length (default: --seq)");
  mk->add_option("--p", rng.p, "drop probability in [0, 1)")->required();
  mk->add_option("--bits", rng.bits, "random bits per element: 8|32")->capture_default_str();
  mk->add_option("--rounds", rng.rounds, "Philox rounds")->capture_default_str();
  mk->add_option("--threads", threads, "threads (0: all cores)")->capture_default_str();
  mk->add_option("--mask-out,--file", mask_file, "the mask file: little-endian 32-bit words")
      ->required();
  mask_out.format = "table";
  mk->add_option("--format", mask_out.format, "summary format: table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  mk->callback([] {
    rng.seed = parse_uint(seed_text, "--seed", std::numeric_limits<std::uint64_t>::max());
    rng.offset = parse_uint(offset_text, "--offset", std::numeric_limits<std::uint64_t>::max());
    dropout::MaskShape s = shape;
    if (s.seq_k == 0) s.seq_k = s.seq_q;
    if (threads < 0) throw InputError("--threads", "must be >= 0");
    dropout::validate(s, rng);
    if (dry_run()) return;  // options and shape checked; no mask generated
    const auto t0 = std::chrono::steady_clock::now();
    const auto mask = dropout::generate_mask(s, rng, threads);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string bytes(reinterpret_cast<const char*>(mask.data()),
                      mask.size() * sizeof(std::uint32_t));
    report::write_file_atomic(mask_file, bytes);
    nlohmann::ordered_json j;
    j["file"] = mask_file;
    j["batch"] = s.batch, j["heads"] = s.heads, j["seq_q"] = s.seq_q, j["seq_k"] = s.seq_k;
    j["elements"] = s.elements();
    j["bytes"] = bytes.size();
    j["p"] = rng.p, j["bits"] = rng.bits, j["rounds"] = rng.rounds;
    j["seed"] = rng.seed, j["offset"] = rng.offset;
    j["keep_threshold"] = dropout::keep_threshold(rng);
    j["keep_fraction"] = dropout::keep_fraction(mask, s.elements());
    j["expected_keep_fraction"] =
        double(dropout::keep_threshold(rng) + 1) / std::ldexp(1.0, rng.bits);
    j["philox"] = philox::avx2_available() ? "avx2" : "scalar";
    j["generate_s"] = secs;
    emit_rendered(OutputOptions{mask_out.format, ""}, j, [&] {
      return fmt::format(
          "wrote {} ({} bytes): {} x {} x {} x {} elements, p {}, {} bits, Philox-{}; keep "
          "fraction {:.6f} "
          "(expected {:.6f}); generated in {}\n",
          mask_file, bytes.size(), s.batch, s.heads, s.seq_q, s.seq_k, rng.p, rng.bits, rng.rounds,
          j["keep_fraction"].get<double>(), j["expected_keep_fraction"].get<double>(),
          report::format_time(secs));
    });
  });
}

void register_dropout_block(CLI::App* dr) {
  static OutputOptions block_out;
  static BlockArgs ba;
  static std::int64_t block_batch = 1, block_seq = 4096;
  static std::string block_trace, block_strategy = "overlapped";
  auto* bl = dr->add_subcommand(
      "block",
      "one transformer block under each dropout strategy (none, fused, sequential, overlapped)");
  ba.add(bl);
  bl->add_option("--batch", block_batch, "sequences")->capture_default_str();
  bl->add_option("--seq", block_seq, "sequence length")->capture_default_str();
  bl->add_option("--trace", block_trace, "write a Chrome trace of one strategy's block to FILE");
  bl->add_option("--trace-strategy", block_strategy, "strategy for --trace")
      ->check(CLI::IsMember({"none", "fused", "sequential", "overlapped"}))
      ->capture_default_str();
  add_output_options(bl, block_out, {"table", "json"});
  bl->callback([] {
    if (dry_run()) return;  // options checked; no spec file read, no model run
    const ModelSpec m = specs::load_model(ba.model_ref);
    const GpuSpec gpu = specs::load_gpu(ba.hw_ref);
    const auto r = dropout::block_dropout(m, gpu, ba.config(block_batch, block_seq));
    if (!block_trace.empty())
      for (const auto& s : r.strategies)
        if (s.name == block_strategy)
          report::write_file_atomic(block_trace, dropout::block_chrome_trace(s));
    const auto j = block_json(r, ba, block_batch, block_seq);
    emit_rendered(block_out, j, [&] {
      report::Table t;
      t.headers = {"op", "pass", "none", "fused", "sequential", "overlapped"};
      t.right_align = {false, false, true, true, true, true};
      for (std::size_t i = 0, k = 0; i < r.strategies[3].ops.size(); ++i) {
        const auto& o = r.strategies[3].ops[i];
        if (o.stream == 1) continue;
        std::vector<std::string> row = {o.name, o.pass};
        for (int si = 0; si < 4; ++si) {
          std::string cell = "-";
          for (const auto& x : r.strategies[std::size_t(si)].ops)
            if (x.name == o.name && x.pass == o.pass && x.stream == 0)
              cell = report::format_time(x.time_s);
          row.push_back(cell);
        }
        t.add_row(row);
        ++k;
      }
      std::vector<std::string> rng_row = {"rng_mask",
                                          "fwd",
                                          "-",
                                          "-",
                                          report::format_time(r.rng_alone.time_s),
                                          "(beside " + r.host_gemm + ")"};
      t.add_row(rng_row);
      t.add_row({"total", "", report::format_time(r.strategies[0].time_s),
                 report::format_time(r.strategies[1].time_s),
                 report::format_time(r.strategies[2].time_s),
                 report::format_time(r.strategies[3].time_s)});
      return fmt::format(
                 "{} on {}, {} {}, batch {}, seq {}, dropout {} (Philox4x32-{}, {} bits)\n\n",
                 m.name, gpu.name, ba.dtype, ba.scope, block_batch, block_seq, ba.p, ba.rounds,
                 ba.bits) +
             report::render_table(t) +
             fmt::format(
                 "\noverlapped: {:.3f}x vs sequential, {:.3f}x vs fused; host GEMM {}\n{}\n",
                 r.speedup_vs_sequential, r.speedup_vs_fused, r.host_gemm, r.binding);
    });
  });
}

void register_dropout_sweep(CLI::App* dr) {
  static OutputOptions sweep_out;
  static BlockArgs sa;
  static std::string sweep_seqs = "1024,2048,4096,8192", sweep_batches = "1,2,4";
  auto* sw = dr->add_subcommand("sweep", "block speedups over sequence lengths and batch sizes");
  sa.add(sw);
  sw->add_option("--seqs", sweep_seqs, "comma-separated sequence lengths")->capture_default_str();
  sw->add_option("--batches", sweep_batches, "comma-separated batch sizes")->capture_default_str();
  add_output_options(sw, sweep_out, {"table", "json", "csv"});
  sw->callback([] {
    const auto seqs = parse_int_list(sweep_seqs, "--seqs");
    const auto batches = parse_int_list(sweep_batches, "--batches");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    const ModelSpec m = specs::load_model(sa.model_ref);
    const GpuSpec gpu = specs::load_gpu(sa.hw_ref);
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    report::Table t;
    t.headers = {"batch",
                 "seq",
                 "none_s",
                 "fused_s",
                 "sequential_s",
                 "overlapped_s",
                 "speedup_vs_sequential",
                 "speedup_vs_fused",
                 "host_gemm"};
    t.right_align = {true, true, true, true, true, true, true, true, false};
    for (std::int64_t b : batches)
      for (std::int64_t q : seqs) {
        const auto r = dropout::block_dropout(m, gpu, sa.config(b, q));
        nlohmann::ordered_json row;
        row["batch"] = b;
        row["seq"] = q;
        for (const auto& s : r.strategies) row[s.name + "_s"] = s.time_s;
        row["speedup_vs_sequential"] = r.speedup_vs_sequential;
        row["speedup_vs_fused"] = r.speedup_vs_fused;
        row["host_gemm"] = r.host_gemm;
        rows.push_back(row);
        t.add_row({std::to_string(b), std::to_string(q),
                   fmt::format("{:.6g}", r.strategies[0].time_s),
                   fmt::format("{:.6g}", r.strategies[1].time_s),
                   fmt::format("{:.6g}", r.strategies[2].time_s),
                   fmt::format("{:.6g}", r.strategies[3].time_s),
                   fmt::format("{:.4f}", r.speedup_vs_sequential),
                   fmt::format("{:.4f}", r.speedup_vs_fused), r.host_gemm});
      }
    nlohmann::ordered_json j;
    j["model"] = sa.model_ref;
    j["hw"] = sa.hw_ref;
    j["dtype"] = sa.dtype;
    j["scope"] = sa.scope;
    j["rows"] = rows;
    emit_rendered(
        sweep_out, j, [&] { return report::render_table(t); },
        [&] { return report::render_csv(t); });
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
