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

class RecordReader {
 public:
  RecordReader(std::string file, const TraceLoadOptions& opt);
  [[noreturn]] void fail(std::int64_t line, const std::string& reason) const;
  // Parses one line (padded: SIMDJSON_PADDING readable bytes after it). Returns false for a meta
  // record; for a routing record sets layer(), pos(), seq_key(), experts().
  bool read(simdjson::dom::parser& parser, const char* data, std::size_t len, std::int64_t line);
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

  std::string file_;
  int num_experts_ = 0;
  int top_k_ = 0;
  std::int64_t max_id_ = -1;
  std::int64_t layer_ = -1, pos_ = -1, pass_ = -1;
  std::string seq_key_;
  std::vector<std::int16_t> experts_;
  std::vector<int> layers_logged_;
  bool routed_ = false;  // a routing record was read (a later meta may not remap layers)
};

// Why a trace is refused when trace layer l has no records (layers_logged as the reader has it).
std::string missing_layer_reason(const std::vector<int>& layers_logged, int l, int layers);

// Calls fn(data, len, line_number) for every non-blank line of a padded buffer.
template <typename F>
void for_each_line(const char* data, std::size_t size, std::int64_t first_line, F&& fn);

}  // namespace llmgps::moe::detail

#include "trace_reader_impl.hpp"
