// `llmgps philox` and `llmgps dropout mask`: the RNG pieces of the dropout application.
#include <fmt/format.h>

#include <chrono>
#include <limits>

#include "common.hpp"
#include "llmgps/dropout/mask.hpp"
#include "llmgps/dropout/philox_stream.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::cli {

namespace {

// Decimal or 0x-prefixed hexadecimal, within `max`.
std::uint64_t parse_uint(const std::string& text, const std::string& where, std::uint64_t max) {
  std::string t = text;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t = t.substr(2), base = 16;
  if (t.empty() || t.find_first_not_of(base == 16 ? "0123456789abcdefABCDEF" : "0123456789") != std::string::npos)
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

std::vector<std::uint32_t> parse_words(const std::string& text, const std::string& where, std::size_t n) {
  std::vector<std::uint32_t> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    out.push_back(std::uint32_t(parse_uint(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start), where,
                                           0xFFFFFFFFull)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.size() != n) throw InputError(where, fmt::format("expected {} comma-separated 32-bit words, got {}", n, out.size()));
  return out;
}

}  // namespace

void register_dropout(CLI::App& app) {
  // --- philox ---
  static std::string key_text = "0,0", counter_text = "0,0,0,0", rounds_text = "10";
  static std::int64_t count = 1;
  auto* ph = app.add_subcommand("philox", "Philox4x32-R output words (bit-exact with Random123)");
  ph->add_option("--rounds", rounds_text, "rounds R (7 and 10 are common)")->capture_default_str();
  ph->add_option("--key", key_text, "K0,K1 (decimal or 0x hex)")->capture_default_str();
  ph->add_option("--counter", counter_text, "C0,C1,C2,C3, first word lowest")->capture_default_str();
  ph->add_option("--count", count, "lines to print, incrementing the counter after each")->capture_default_str();
  ph->callback([] {
    const int rounds = int(parse_uint(rounds_text, "--rounds", 64));
    if (rounds < 1) throw InputError("--rounds", "must be at least 1");
    if (count < 1 || count > (std::int64_t(1) << 32)) throw InputError("--count", fmt::format("must be in [1, 2^32] (got {})", count));
    const auto k = parse_words(key_text, "--key", 2);
    const auto c = parse_words(counter_text, "--counter", 4);
    philox::Counter ctr{{c[0], c[1], c[2], c[3]}};
    const philox::Key key{{k[0], k[1]}};
    std::string out;
    std::vector<std::uint32_t> buf(4 * 4096);
    for (std::int64_t done = 0; done < count;) {
      const std::size_t n = std::size_t(std::min<std::int64_t>(4096, count - done));
      philox::generate_stream(ctr, key, rounds, n, buf.data());
      for (std::size_t i = 0; i < n; ++i)
        out += fmt::format("{:08x} {:08x} {:08x} {:08x}\n", buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]);
      ctr = philox::add(ctr, n);
      done += std::int64_t(n);
      if (out.size() > (1u << 20)) {
        std::fputs(out.c_str(), stdout);
        out.clear();
      }
    }
    std::fputs(out.c_str(), stdout);
  });

  auto* dr = app.add_subcommand("dropout", "attention dropout: masks (and, later, the RNG/GEMM overlap model)");
  dr->require_subcommand(1);

  // --- dropout mask ---
  static OutputOptions mask_out;
  static std::string seed_text = "0", offset_text = "0", mask_file;
  static dropout::MaskShape shape{1, 1, 0, 0};
  static dropout::DropoutRng rng;
  static int threads = 0;
  auto* mk = dr->add_subcommand("mask", "write a bit-packed dropout mask (layout in include/llmgps/dropout/mask.hpp)");
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
  mk->add_option("--mask-out,--file", mask_file, "the mask file: little-endian 32-bit words")->required();
  mask_out.format = "table";
  mk->add_option("--format", mask_out.format, "summary format: table|json")->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  mk->callback([] {
    rng.seed = parse_uint(seed_text, "--seed", std::numeric_limits<std::uint64_t>::max());
    rng.offset = parse_uint(offset_text, "--offset", std::numeric_limits<std::uint64_t>::max());
    dropout::MaskShape s = shape;
    if (s.seq_k == 0) s.seq_k = s.seq_q;
    if (threads < 0) throw InputError("--threads", "must be >= 0");
    dropout::validate(s, rng);
    const auto t0 = std::chrono::steady_clock::now();
    const auto mask = dropout::generate_mask(s, rng, threads);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string bytes(reinterpret_cast<const char*>(mask.data()), mask.size() * sizeof(std::uint32_t));
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
    j["expected_keep_fraction"] = double(dropout::keep_threshold(rng) + 1) / std::ldexp(1.0, rng.bits);
    j["philox"] = philox::avx2_available() ? "avx2" : "scalar";
    j["generate_s"] = secs;
    emit_rendered(OutputOptions{mask_out.format, ""}, j, [&] {
      return fmt::format("wrote {} ({} bytes): {} x {} x {} x {} elements, p {}, {} bits, Philox-{}; keep fraction {:.6f} "
                         "(expected {:.6f}); generated in {}\n",
                         mask_file, bytes.size(), s.batch, s.heads, s.seq_q, s.seq_k, rng.p, rng.bits, rng.rounds,
                         j["keep_fraction"].get<double>(), j["expected_keep_fraction"].get<double>(), report::format_time(secs));
    });
  });
}

}  // namespace llmgps::cli
