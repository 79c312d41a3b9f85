#include "trace_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "llmgps/specs/error.hpp"

namespace llmgps::moe::detail {

namespace sj = simdjson;

RecordReader::RecordReader(std::string file, const TraceLoadOptions& opt)
    : file_(std::move(file)), num_experts_(opt.num_experts) {
  if (opt.num_experts < 0 || opt.num_experts > kMaxExpertId + 1)
    throw InputError("trace.experts",
                     fmt::format("must be in [1, {}] (got {})", kMaxExpertId + 1, opt.num_experts));
}

void RecordReader::fail(std::int64_t line, const std::string& reason) const {
  throw InputError(fmt::format("{}:{}", file_, line), reason);
}

std::int64_t RecordReader::int_field(const sj::dom::element& v, std::int64_t line,
                                     std::string_view name) const {
  std::int64_t x;
  if (v.get_int64().get(x)) fail(line, fmt::format("field '{}' must be an integer", name));
  if (x < 0) fail(line, fmt::format("field '{}' must not be negative (got {})", name, x));
  return x;
}

std::string RecordReader::scalar_text(const sj::dom::element& v, std::int64_t line,
                                      std::string_view name) const {
  if (v.is_string()) return std::string(v.get_string().value_unsafe());
  if (v.is_int64()) return std::to_string(v.get_int64().value_unsafe());
  if (v.is_uint64()) return std::to_string(v.get_uint64().value_unsafe());
  fail(line, fmt::format("field '{}' must be a string or an integer", name));
}

// The DOM API dispatches to the best SIMD kernel at run time (On Demand picks at compile time,
// which would be the portable fallback in a generic x86-64 build).
bool RecordReader::read(sj::dom::parser& parser, const char* data, std::size_t len,
                        std::int64_t line) {
  sj::dom::element doc;
  if (auto err = parser.parse(data, len, false).get(doc))
    fail(line, std::string("not valid JSON: ") + sj::error_message(err));
  return read(doc, line);
}

bool RecordReader::read(const sj::dom::element& doc, std::int64_t line) {
  sj::dom::object obj;
  if (doc.get_object().get(obj)) fail(line, "a record must be a JSON object");
  layer_ = -1, pos_ = -1, pass_ = -1;
  bool have_experts = false, meta = false;
  std::int64_t meta_experts = 0, meta_top_k = 0;
  std::vector<int> logged;
  bool have_logged = false;
  const char* experts_key = "experts";
  seq_key_.clear();
  experts_.clear();
  for (sj::dom::key_value_pair kv : obj) {
    const std::string_view key = kv.key;
    const sj::dom::element v = kv.value;
    if (key == "layer") {
      layer_ = int_field(v, line, "layer");
    } else if (key == "token_idx" || key == "token_pos") {
      pos_ = int_field(v, line, key);
    } else if (key == "step" || key == "pass") {
      pass_ = int_field(v, line, key);
    } else if (key == "experts" || key == "topk_ids") {
      sj::dom::array arr;
      if (v.get_array().get(arr))
        fail(line, fmt::format("field '{}' must be an array of expert ids", key));
      for (sj::dom::element item : arr) {
        std::int64_t id;
        if (item.get_int64().get(id))
          fail(line, fmt::format("field '{}' must hold integer expert ids", key));
        if (id < 0 || id > kMaxExpertId || (num_experts_ > 0 && id >= num_experts_))
          fail(line, num_experts_ > 0
                         ? fmt::format("expert id {} out of range [0, {})", id, num_experts_)
                         : fmt::format("expert id {} out of range [0, {}]", id, kMaxExpertId));
        if (experts_.size() >= std::size_t(kMaxTopK))
          fail(line, fmt::format("more than {} experts per token", kMaxTopK));
        experts_.push_back(std::int16_t(id));
      }
      have_experts = true;
      experts_key = key == "experts" ? "experts" : "topk_ids";
    } else if (key == "problem_id" || key == "req_id") {
      seq_key_ = scalar_text(v, line, key);
    } else if (key == "type") {
      std::string_view type;
      if (v.get_string().get(type)) fail(line, "field 'type' must be a string");
      meta = (type == "meta");
    } else if (key == "num_experts") {
      meta_experts = int_field(v, line, "num_experts");
    } else if (key == "top_k") {
      meta_top_k = int_field(v, line, "top_k");
    } else if (key == "layers_logged") {
      sj::dom::array arr;
      if (v.get_array().get(arr)) fail(line, "field 'layers_logged' must be an array of layer ids");
      for (sj::dom::element item : arr) {
        std::int64_t id;
        if (item.get_int64().get(id) || id < 0 || id >= kMaxLayers)
          fail(line,
               fmt::format("field 'layers_logged' must hold layer ids in [0, {})", kMaxLayers));
        if (std::find(logged.begin(), logged.end(), int(id)) != logged.end())
          fail(line, fmt::format("field 'layers_logged' lists layer {} twice", id));
        logged.push_back(int(id));
      }
      have_logged = true;
    }
    // Other fields (gating_probs, topk_weights, dataset, ...) are not needed and skipped.
  }
  if (meta) {
    if (meta_experts > 0) {
      if (meta_experts > kMaxExpertId + 1)
        fail(line, fmt::format("num_experts {} is too large", meta_experts));
      if (max_id_ >= meta_experts)
        fail(line, fmt::format("num_experts {} but expert id {} was already seen", meta_experts,
                               max_id_));
      if (num_experts_ == 0) num_experts_ = int(meta_experts);
    }
    if (meta_top_k > 0) {
      if (meta_top_k > kMaxTopK)
        fail(line, fmt::format("field 'top_k' {} is too large", meta_top_k));
      if (top_k_ != 0 && top_k_ != meta_top_k)
        fail(line, fmt::format("field 'top_k' is {} but earlier records have {} experts",
                               meta_top_k, top_k_));
      top_k_ = int(meta_top_k);
    }
    if (have_logged) {
      if (logged.empty()) fail(line, "field 'layers_logged' is empty");
      if (routed_)
        fail(line, "field 'layers_logged' comes after routing records (the meta record must lead)");
      if (!layers_logged_.empty() && layers_logged_ != logged)
        fail(line, "field 'layers_logged' differs from an earlier meta record's");
      std::sort(logged.begin(), logged.end());
      layers_logged_ = std::move(logged);
    }
    return false;
  }
  routed_ = true;
  if (layer_ < 0) fail(line, "missing field 'layer'");
  if (layer_ >= kMaxLayers)
    fail(line, fmt::format("layer {} is out of range [0, {})", layer_, kMaxLayers));
  if (!layers_logged_.empty()) {
    const auto it = std::lower_bound(layers_logged_.begin(), layers_logged_.end(), int(layer_));
    if (it == layers_logged_.end() || *it != int(layer_))
      fail(line, fmt::format("field 'layer': layer {} is not among the meta record's "
                             "layers_logged [{}]",
                             layer_, fmt::join(layers_logged_, ", ")));
    layer_ = it - layers_logged_.begin();
  }
  if (pos_ < 0) fail(line, "missing field 'token_idx' (or 'token_pos')");
  if (pos_ >= kMaxPos) fail(line, fmt::format("token position {} is too large", pos_));
  if (!have_experts) fail(line, "missing field 'experts' (or 'topk_ids')");
  if (experts_.empty()) fail(line, "empty expert list");
  if (top_k_ == 0) top_k_ = int(experts_.size());
  if (int(experts_.size()) != top_k_)
    fail(line, fmt::format("field '{}': {} experts, but the meta record or earlier records "
                           "have {} (top-k must be the same in every pass)",
                           experts_key, experts_.size(), top_k_));
  for (std::size_t i = 0; i < experts_.size(); ++i) {
    max_id_ = std::max<std::int64_t>(max_id_, experts_[i]);
    for (std::size_t j = 0; j < i; ++j)
      if (experts_[i] == experts_[j])
        fail(line, fmt::format("expert {} listed twice", experts_[i]));
  }
  return true;
}

std::string missing_layer_reason(const std::vector<int>& layers_logged, int l, int layers) {
  if (!layers_logged.empty())
    return fmt::format("layer {} is in layers_logged but has no records",
                       layers_logged[std::size_t(l)]);
  return fmt::format(
      "layer {} has no records (layers 0..{} must all appear, or a meta record's "
      "layers_logged must list the logged ones)",
      l, layers - 1);
}

}  // namespace llmgps::moe::detail
