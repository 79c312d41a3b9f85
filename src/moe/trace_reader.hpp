#pragma once
// Internal: one routing-trace record per JSON line, parsed and validated (shared by the in-memory
// reader and the streaming statistics). Errors name FILE:LINE.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llmgps/moe/trace.hpp"

namespace llmgps::moe::detail {

constexpr int kMaxLayers = 4096;
constexpr int kMaxExpertId = 32767;  // stored as int16
constexpr int kMaxTopK = 64;
constexpr std::int64_t kMaxPos = std::int64_t(1) << 40;

// One record's fields as read, before they are checked (both parsers fill it).
struct RawRecord {
  std::int64_t layer = -1, pos = -1, pass = -1;
  std::vector<std::int64_t> ids, logged;  // experts; meta layers_logged
  std::string_view seq;                   // into the line, or the reader's own copy
  const char* experts_key = "experts";
  bool have_experts = false, meta = false, have_logged = false;
  std::int64_t meta_experts = 0, meta_top_k = 0;
  void clear() {
    layer = pos = pass = -1;
    ids.clear(), logged.clear(), seq = {};
    experts_key = "experts";
    have_experts = meta = have_logged = false;
    meta_experts = meta_top_k = 0;
  }
};

// The fast path's scanner alone: true when the line is one flat JSON object of plain ASCII it
// could read (then `out` holds its fields); false when simdjson must read it. Whatever it
// accepts, simdjson accepts with the same fields (fuzz_trace checks this on every input).
bool scan_flat_record(const char* data, std::size_t len, RawRecord& out);

class RecordReader {
 public:
  RecordReader(std::string file, const TraceLoadOptions& opt);
  [[noreturn]] void fail(std::int64_t line, const std::string& reason) const;
  // Parses one line (padded: SIMDJSON_PADDING readable bytes after it). Returns false for a meta
  // record; for a routing record sets layer(), pos(), seq_key(), experts().
  bool read(simdjson::dom::parser& parser, const char* data, std::size_t len, std::int64_t line);
  // The flat-record fast path alone (no padding needed): false when it declines the line (then
  // read() it), else `record` says whether it was a routing record.
  bool read_fast(const char* data, std::size_t len, std::int64_t line, bool& record);
  // The same for a record already parsed (by a document stream).
  bool read(const simdjson::dom::element& doc, std::int64_t line);

  std::int64_t layer() const { return layer_; }
  std::int64_t pos() const { return pos_; }
  std::int64_t pass_field() const { return pass_; }  // explicit "step"/"pass", -1 when absent
  const std::string& seq_key() const { return seq_key_; }
  const std::vector<std::int16_t>& experts() const { return experts_; }
  const std::string& file() const { return file_; }
  int num_experts() const { return num_experts_; }  // 0 until known
  int top_k() const { return top_k_; }
  std::int64_t max_id() const { return max_id_; }
  // The model layers the file logs (a meta record's "layers_logged"); records' layers are then
  // indices into it (layer() is dense). Empty: every layer, layer() as written.
  const std::vector<int>& layers_logged() const { return layers_logged_; }

 private:
  std::int64_t int_field(const simdjson::dom::element& v, std::int64_t line,
                         std::string_view name) const;
  std::string scalar_text(const simdjson::dom::element& v, std::int64_t line,
                          std::string_view name) const;
  // Checks a record's fields and takes them (false for a meta record).
  bool apply(const RawRecord& r, std::int64_t line);

  std::string file_;
  int num_experts_ = 0;
  int top_k_ = 0;
  std::int64_t max_id_ = -1;
  std::int64_t layer_ = -1, pos_ = -1, pass_ = -1;
  std::string seq_key_;
  std::vector<std::int16_t> experts_;
  std::vector<int> layers_logged_;
  RawRecord raw_;
  std::string seq_storage_;  // the DOM path's sequence name (raw_.seq points here)
  bool routed_ = false;      // a routing record was read (a later meta may not remap layers)
};

// Why a trace is refused when trace layer l has no records (layers_logged as the reader has it).
std::string missing_layer_reason(const std::vector<int>& layers_logged, int l, int layers);

// The text starts with a UTF-8 byte-order mark (editors and spreadsheets write one), which is not
// part of the first record.
inline bool starts_with_bom(const char* data, std::size_t size) {
  return size >= 3 && data[0] == '\xEF' && data[1] == '\xBB' && data[2] == '\xBF';
}

// Calls fn(data, len, line_number) for every non-blank line of a padded buffer.
template <typename F>
void for_each_line(const char* data, std::size_t size, std::int64_t first_line, F&& fn);

}  // namespace llmgps::moe::detail

#include "trace_reader_impl.hpp"
