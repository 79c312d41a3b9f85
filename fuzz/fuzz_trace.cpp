// libFuzzer target: routing-trace JSON Lines, then the statistics over what was read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../src/moe/trace_reader.hpp"
#include "llmgps/moe/trace.hpp"
#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"

namespace {
// Differential: every line the flat scanner accepts is valid JSON to simdjson, with the same
// needed fields (a scanner bug would otherwise read a malformed line or misread a good one).
void check_fast_path(const char* data, std::size_t size) {
  simdjson::dom::parser parser;
  llmgps::moe::detail::for_each_line(
      data, size, 1, [&](const char* p, std::size_t n, std::int64_t) {
        llmgps::moe::detail::RawRecord fast;
        if (!llmgps::moe::detail::scan_flat_record(p, n, fast)) return;
        const simdjson::padded_string padded(p, n);
        simdjson::dom::element doc;
        if (parser.parse(padded).get(doc) || !doc.is_object()) __builtin_trap();
        auto int_of = [&](const char* k1, const char* k2) -> std::int64_t {
          std::int64_t v = -1;
          for (const char* k : {k1, k2}) {
            if (!k) continue;
            auto f = doc[k];
            if (!f.error() && f.get_int64().get(v)) __builtin_trap();
          }
          return v;
        };
        if (int_of("layer", nullptr) != fast.layer) __builtin_trap();
        if (int_of("token_idx", "token_pos") != fast.pos) __builtin_trap();
        if (int_of("step", "pass") != fast.pass) __builtin_trap();
        for (const char* k : {"problem_id", "req_id"}) {
          auto f = doc[k];
          if (f.error()) continue;
          std::string text;
          if (f.is_string())
            text = std::string(f.get_string().value_unsafe());
          else if (f.is_int64())
            text = std::to_string(f.get_int64().value_unsafe());
          else
            __builtin_trap();  // the scanner takes only strings and small integers here
          if (text != fast.seq) __builtin_trap();
        }
        auto type = doc["type"];
        const bool meta =
            !type.error() && type.is_string() && type.get_string().value_unsafe() == "meta";
        if (meta != fast.meta) __builtin_trap();
        for (const char* k : {"experts", "topk_ids"}) {
          auto f = doc[k];
          if (f.error()) continue;
          std::size_t i = 0;
          for (auto item : f.get_array()) {
            std::int64_t v;
            if (item.get_int64().get(v) || i >= fast.ids.size() || fast.ids[i] != v)
              __builtin_trap();
            ++i;
          }
          if (i != fast.ids.size()) __builtin_trap();
        }
      });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_fast_path(reinterpret_cast<const char*>(data), size);
  try {
    const auto tr = llmgps::moe::parse_trace(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.jsonl");
    if (tr.layers <= 64 && tr.experts <= 1024) {
      (void)llmgps::moe::trace_stats(tr, 16);
      (void)llmgps::moe::layer_transitions(tr);
    }
  } catch (const llmgps::InputError&) {
  }
  return 0;
}
