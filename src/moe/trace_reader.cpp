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

namespace {

bool json_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Eight bytes at a time (SWAR): a byte of the result has its high bit set where the condition
// holds; the lowest such byte is exact (the borrow tricks may also flag bytes above it).
constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
std::uint64_t load8(const char* p) {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
std::uint64_t flag_non_digit(std::uint64_t x) {
  const std::uint64_t a = x ^ (kOnes * '0');  // digits become 0..9
  return ((a + kOnes * 0x76) | a) & kHighs;   // >= 10, or not ASCII
}
std::uint64_t flag_byte(std::uint64_t x, unsigned char c) {
  const std::uint64_t v = x ^ (kOnes * c);
  return (v - kOnes) & ~v & kHighs;
}
// A quote, a backslash, a control character or a non-ASCII byte: where a plain string stops.
std::uint64_t flag_string_stop(std::uint64_t x) {
  return flag_byte(x, '"') | flag_byte(x, '\\') | ((x - kOnes * 0x20) & ~x & kHighs) | (x & kHighs);
}
// Index of the lowest flagged byte (flags != 0).
std::size_t first_flag(std::uint64_t flags) {
  return std::size_t(__builtin_ctzll(flags)) / 8;
}

// The fast path's scanner: a record that is one flat JSON object of plain ASCII (strings without
// escapes, numbers, flat arrays of numbers or strings, true/false/null), which is every record
// real loggers write. It fills the fields the reader needs and checks the JSON grammar of the rest;
// anything else (nesting, escapes, non-ASCII, a negative or non-integer value where an integer is
// needed, a repeated field, trailing text) makes it decline, and simdjson reads the line and
// names what is wrong.
class FlatScanner {
 public:
  FlatScanner(const char* p, std::size_t n) : p_(p), end_(p + n) {}

  bool scan(RawRecord& r) {
    ws();
    if (!eat('{')) return false;
    ws();
    if (eat('}')) return tail();
    unsigned seen = 0;
    while (true) {
      std::string_view key;
      if (!string(key)) return false;
      ws();
      if (!eat(':')) return false;
      ws();
      const int id = field_id(key);
      if (id >= 0) {
        if (seen & (1u << id)) return false;  // a repeated field: simdjson's path decides
        seen |= 1u << id;
      }
      bool ok = true;
      switch (id) {
        case 0:
          ok = uint(r.layer);
          break;
        case 1:
          ok = uint(r.pos);
          break;
        case 2:
          ok = uint(r.pass);
          break;
        case 3:
          ok = uint_array(r.ids);
          r.have_experts = true;
          r.experts_key = key.size() == 7 ? "experts" : "topk_ids";
          break;
        case 4: {
          std::string_view v;
          if (peek() == '"') {
            ok = string(v);
          } else {
            const char* start = p_;
            std::int64_t x;
            ok = uint(x);
            v = std::string_view(start, std::size_t(p_ - start));
          }
          if (ok) r.seq = v;  // points into the line; apply() copies it
          break;
        }
        case 5: {
          std::string_view v;
          ok = string(v);
          r.meta = v.size() == 4 && std::memcmp(v.data(), "meta", 4) == 0;
          break;
        }
        case 6:
          ok = uint(r.meta_experts);
          break;
        case 7:
          ok = uint(r.meta_top_k);
          break;
        case 8:
          ok = uint_array(r.logged);
          r.have_logged = true;
          break;
        default:
          ok = skip_value();
      }
      if (!ok) return false;
      ws();
      if (eat(',')) {
        ws();
        continue;
      }
      if (eat('}')) return tail();
      return false;
    }
  }

 private:
  // Which needed field a key names (-1: none); by length first, then one comparison.
  static int field_id(std::string_view k) {
    auto is = [&](const char* w) { return std::memcmp(k.data(), w, k.size()) == 0; };
    switch (k.size()) {
      case 4:
        if (is("step") || is("pass")) return 2;
        if (is("type")) return 5;
        return -1;
      case 5:
        if (is("layer")) return 0;
        if (is("top_k")) return 7;
        return -1;
      case 6:
        return is("req_id") ? 4 : -1;
      case 7:
        return is("experts") ? 3 : -1;
      case 8:
        return is("topk_ids") ? 3 : -1;
      case 9:
        return is("token_idx") || is("token_pos") ? 1 : -1;
      case 10:
        return is("problem_id") ? 4 : -1;
      case 11:
        return is("num_experts") ? 6 : -1;
      case 13:
        return is("layers_logged") ? 8 : -1;
      default:
        return -1;
    }
  }
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  bool eat(char c) {
    if (p_ < end_ && *p_ == c) return ++p_, true;
    return false;
  }
  void ws() {
    while (p_ < end_ && json_ws(*p_)) ++p_;
  }
  bool tail() {
    ws();
    return p_ == end_;
  }
  // A string of printable ASCII without escapes.
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* start = p_;
    while (end_ - p_ >= 8) {
      const std::uint64_t f = flag_string_stop(load8(p_));
      if (f) {
        p_ += first_flag(f);
        break;
      }
      p_ += 8;
    }
    while (p_ < end_) {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, std::size_t(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    return false;
  }
  // Past a run of digits.
  void digits() {
    while (end_ - p_ >= 8) {
      const std::uint64_t f = flag_non_digit(load8(p_));
      if (f) {
        p_ += first_flag(f);
        return;
      }
      p_ += 8;
    }
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
  }
  // A non-negative integer as JSON writes it (no sign, no leading zero, no fraction or
  // exponent), small enough for an int64.
  bool uint(std::int64_t& out) {
    const char* start = p_;
    std::int64_t x = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      if (p_ - start == 18) return false;  // a 19th digit: let simdjson judge (no overflow here)
      x = x * 10 + (*p_++ - '0');
    }
    const std::size_t digits = std::size_t(p_ - start);
    if (digits == 0 || (digits > 1 && *start == '0')) return false;
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    out = x;
    return true;
  }
  bool uint_array(std::vector<std::int64_t>& out) {
    out.clear();
    if (!eat('[')) return false;
    ws();
    if (eat(']')) return true;
    while (true) {
      std::int64_t x;
      if (!uint(x)) return false;
      out.push_back(x);
      ws();
      if (eat(']')) return true;
      if (!eat(',')) return false;
      ws();
    }
  }
  // Any JSON number simdjson also takes (the grammar checked, the value not needed). Numbers
  // near the edges of what simdjson represents are declined and left to it: integer parts of
  // more than 18 digits (beyond 64 bits it refuses integers, and hundreds of digits overflow a
  // double) and exponents of more than two digits (1e400 overflows).
  bool number() {
    eat('-');
    const char* int_start = p_;
    if (eat('0')) {
    } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      digits();
    } else {
      return false;
    }
    if (p_ - int_start > 18) return false;
    if (eat('.')) {
      const char* d = p_;
      digits();
      if (p_ == d) return false;
    }
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      const char* d = p_;
      digits();
      if (p_ == d || p_ - d > 2) return false;
    }
    return true;
  }
  bool word(const char* w) {
    const std::size_t n = std::strlen(w);
    if (std::size_t(end_ - p_) < n || std::memcmp(p_, w, n) != 0) return false;
    p_ += n;
    return true;
  }
  bool scalar() {
    const char c = peek();
    if (c == '"') {
      std::string_view v;
      return string(v);
    }
    if (c == 't') return word("true");
    if (c == 'f') return word("false");
    if (c == 'n') return word("null");
    return number();
  }
  bool skip_value() {
    if (!eat('[')) return scalar();
    ws();
    if (eat(']')) return true;
    while (true) {
      if (!scalar()) return false;  // nested arrays or objects: simdjson's path
      ws();
      if (eat(']')) return true;
      if (!eat(',')) return false;
      ws();
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool scan_flat_record(const char* data, std::size_t len, RawRecord& out) {
  out.clear();
  return FlatScanner(data, len).scan(out);
}

// The DOM API dispatches to the best SIMD kernel at run time (On Demand picks at compile time,
// which would be the portable fallback in a generic x86-64 build). Records of the usual flat shape
// take the scanner above first: parsing a 150-byte document is mostly simdjson's setup.
bool RecordReader::read_fast(const char* data, std::size_t len, std::int64_t line, bool& record) {
  if (!scan_flat_record(data, len, raw_)) return false;
  record = apply(raw_, line);
  return true;
}

bool RecordReader::read(sj::dom::parser& parser, const char* data, std::size_t len,
                        std::int64_t line) {
  bool record = false;
  if (read_fast(data, len, line, record)) return record;
  sj::dom::element doc;
  if (auto err = parser.parse(data, len, false).get(doc))
    fail(line, std::string("not valid JSON: ") + sj::error_message(err));
  return read(doc, line);
}

bool RecordReader::read(const sj::dom::element& doc, std::int64_t line) {
  sj::dom::object obj;
  if (doc.get_object().get(obj)) fail(line, "a record must be a JSON object");
  RawRecord& r = raw_;
  r.clear();
  for (sj::dom::key_value_pair kv : obj) {
    const std::string_view key = kv.key;
    const sj::dom::element v = kv.value;
    if (key == "layer") {
      r.layer = int_field(v, line, "layer");
    } else if (key == "token_idx" || key == "token_pos") {
      r.pos = int_field(v, line, key);
    } else if (key == "step" || key == "pass") {
      r.pass = int_field(v, line, key);
    } else if (key == "experts" || key == "topk_ids") {
      sj::dom::array arr;
      if (v.get_array().get(arr))
        fail(line, fmt::format("field '{}' must be an array of expert ids", key));
      for (sj::dom::element item : arr) {
        std::int64_t id;
        if (item.get_int64().get(id))
          fail(line, fmt::format("field '{}' must hold integer expert ids", key));
        r.ids.push_back(id);
      }
      r.have_experts = true;
      r.experts_key = key == "experts" ? "experts" : "topk_ids";
    } else if (key == "problem_id" || key == "req_id") {
      seq_storage_ = scalar_text(v, line, key);
      r.seq = seq_storage_;
    } else if (key == "type") {
      std::string_view type;
      if (v.get_string().get(type)) fail(line, "field 'type' must be a string");
      r.meta = (type == "meta");
    } else if (key == "num_experts") {
      r.meta_experts = int_field(v, line, "num_experts");
    } else if (key == "top_k") {
      r.meta_top_k = int_field(v, line, "top_k");
    } else if (key == "layers_logged") {
      sj::dom::array arr;
      if (v.get_array().get(arr)) fail(line, "field 'layers_logged' must be an array of layer ids");
      for (sj::dom::element item : arr) {
        std::int64_t id;
        if (item.get_int64().get(id) || id < 0)
          fail(line,
               fmt::format("field 'layers_logged' must hold layer ids in [0, {})", kMaxLayers));
        r.logged.push_back(id);
      }
      r.have_logged = true;
    }
    // Other fields (gating_probs, topk_weights, dataset, ...) are not needed and skipped.
  }
  return apply(r, line);
}

bool RecordReader::apply(const RawRecord& r, std::int64_t line) {
  layer_ = r.layer, pos_ = r.pos, pass_ = r.pass;
  seq_key_.assign(r.seq.data(), r.seq.size());
  experts_.clear();
  for (std::int64_t id : r.ids) {
    if (id < 0 || id > kMaxExpertId || (num_experts_ > 0 && id >= num_experts_))
      fail(line, num_experts_ > 0
                     ? fmt::format("expert id {} out of range [0, {})", id, num_experts_)
                     : fmt::format("expert id {} out of range [0, {}]", id, kMaxExpertId));
    if (experts_.size() >= std::size_t(kMaxTopK))
      fail(line, fmt::format("more than {} experts per token", kMaxTopK));
    experts_.push_back(std::int16_t(id));
  }
  if (r.meta) {
    if (r.meta_experts > 0) {
      if (r.meta_experts > kMaxExpertId + 1)
        fail(line, fmt::format("num_experts {} is too large", r.meta_experts));
      if (max_id_ >= r.meta_experts)
        fail(line, fmt::format("num_experts {} but expert id {} was already seen", r.meta_experts,
                               max_id_));
      if (num_experts_ == 0) num_experts_ = int(r.meta_experts);
    }
    if (r.meta_top_k > 0) {
      if (r.meta_top_k > kMaxTopK)
        fail(line, fmt::format("field 'top_k' {} is too large", r.meta_top_k));
      if (top_k_ != 0 && top_k_ != r.meta_top_k)
        fail(line, fmt::format("field 'top_k' is {} but earlier records have {} experts",
                               r.meta_top_k, top_k_));
      top_k_ = int(r.meta_top_k);
    }
    if (r.have_logged) {
      std::vector<int> logged;
      for (std::int64_t id : r.logged) {
        if (id < 0 || id >= kMaxLayers)
          fail(line,
               fmt::format("field 'layers_logged' must hold layer ids in [0, {})", kMaxLayers));
        if (std::find(logged.begin(), logged.end(), int(id)) != logged.end())
          fail(line, fmt::format("field 'layers_logged' lists layer {} twice", id));
        logged.push_back(int(id));
      }
      if (logged.empty()) fail(line, "field 'layers_logged' is empty");
      std::sort(logged.begin(), logged.end());
      if (!layers_logged_.empty() && layers_logged_ != logged)
        fail(line, "field 'layers_logged' differs from an earlier meta record's");
      // Records already read were taken as every layer: a first layers_logged after them would
      // reinterpret them (a repeat of the leading one changes nothing).
      if (routed_ && layers_logged_.empty())
        fail(line, "field 'layers_logged' comes after routing records (the meta record must lead)");
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
  if (!r.have_experts) fail(line, "missing field 'experts' (or 'topk_ids')");
  if (experts_.empty()) fail(line, "empty expert list");
  if (top_k_ == 0) top_k_ = int(experts_.size());
  if (int(experts_.size()) != top_k_)
    fail(line, fmt::format("field '{}': {} experts, but the meta record or earlier records "
                           "have {} (top-k must be the same in every pass)",
                           r.experts_key, experts_.size(), top_k_));
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
