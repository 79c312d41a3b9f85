#include "llmgps/calib/measurement.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "llmgps/report/output.hpp"
#include "llmgps/specs/csv.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/json_fields.hpp"

namespace llmgps::calib {
namespace {

struct KindInfo {
  MeasurementKind kind;
  const char* name;
  std::vector<const char*> required;  // fields that must be present and non-empty
  std::vector<MeasuredUnit> units;    // units besides the times
};

const std::vector<KindInfo>& kinds() {
  using U = MeasuredUnit;
  static const std::vector<KindInfo> k = {
      {MeasurementKind::gemm, "gemm", {"m", "n", "k", "dtype"}, {U::tflops}},
      {MeasurementKind::grouped_gemm,
       "grouped_gemm",
       {"groups", "m", "n", "k", "dtype"},
       {U::tflops}},
      {MeasurementKind::attention,
       "attention",
       {"batch", "heads", "seq", "head_dim", "dtype", "impl"},
       {U::tflops}},
      {MeasurementKind::allreduce, "allreduce", {"bytes"}, {U::busbw_gbps, U::algbw_gbps}},
      {MeasurementKind::allgather, "allgather", {"bytes"}, {U::busbw_gbps, U::algbw_gbps}},
      {MeasurementKind::reducescatter, "reducescatter", {"bytes"}, {U::busbw_gbps, U::algbw_gbps}},
      {MeasurementKind::alltoall_dispatch,
       "dispatch",
       {"tokens", "hidden", "top_k", "experts"},
       {U::algbw_gbps}},
      {MeasurementKind::alltoall_combine,
       "combine",
       {"tokens", "hidden", "top_k", "experts"},
       {U::algbw_gbps}},
      {MeasurementKind::copy, "copy", {"bytes"}, {U::gbps}},
      {MeasurementKind::softmax, "softmax", {"rows", "cols"}, {U::gelem_per_s}},
      {MeasurementKind::layernorm, "layernorm", {"rows", "cols"}, {U::gelem_per_s}},
      {MeasurementKind::gelu, "gelu", {"rows", "cols"}, {U::gelem_per_s}},
  };
  return k;
}

const KindInfo& info(MeasurementKind k) {
  for (const auto& i : kinds())
    if (i.kind == k) return i;
  return kinds().front();
}

const std::map<std::string, MeasuredUnit>& units() {
  static const std::map<std::string, MeasuredUnit> u = {{"us", MeasuredUnit::us},
                                                        {"ms", MeasuredUnit::ms},
                                                        {"s", MeasuredUnit::s},
                                                        {"tflops", MeasuredUnit::tflops},
                                                        {"busbw_gbps", MeasuredUnit::busbw_gbps},
                                                        {"algbw_gbps", MeasuredUnit::algbw_gbps},
                                                        {"gbps", MeasuredUnit::gbps},
                                                        {"gelem_per_s", MeasuredUnit::gelem_per_s}};
  return u;
}

bool is_time(MeasuredUnit u) {
  return u == MeasuredUnit::us || u == MeasuredUnit::ms || u == MeasuredUnit::s;
}

// Reads one row's fields, naming the line and column of anything wrong.
class RowReader {
 public:
  RowReader(const specs::CsvTable& t, const specs::CsvRow& r, const std::string& file)
      : t_(t), r_(r), file_(file) {}

  std::string where(const std::string& col) const {
    return fmt::format("{}:{}: column '{}' (column {})", file_, r_.line, col,
                       t_.column_number(col));
  }
  std::string text(const std::string& col) const {
    auto it = r_.fields.find(col);
    return it == r_.fields.end() ? std::string() : it->second;
  }
  bool has(const std::string& col) const { return !text(col).empty(); }

  std::int64_t count(const std::string& col) const {
    const std::string s = text(col);
    if (s.empty()) return 0;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (end != s.c_str() + s.size()) {
      // Integers written as 4096.0 or 1e6 are accepted when exact.
      const double d = number(col);
      if (d != std::floor(d) || d < 1 || d > 9.0e15)
        throw InputError(where(col), "must be a positive integer, got '" + s + "'");
      return std::int64_t(d);
    }
    if (errno == ERANGE || v > 9000000000000000LL)
      throw InputError(where(col), "is out of range: '" + s + "'");
    if (v <= 0) throw InputError(where(col), "must be a positive integer, got '" + s + "'");
    return v;
  }
  double number(const std::string& col) const {
    const std::string s = text(col);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
      throw InputError(where(col), "is not a number: '" + s + "'");
    if (!(v > 0)) throw InputError(where(col), "must be positive, got '" + s + "'");
    return v;
  }

 private:
  const specs::CsvTable& t_;
  const specs::CsvRow& r_;
  const std::string& file_;
};

Measurement read_row(const specs::CsvTable& t, const specs::CsvRow& r, const std::string& file) {
  RowReader rd(t, r, file);
  Measurement m;
  m.file = file;
  m.line = r.line;
  for (const char* col : {"kind", "hw", "value", "unit", "source"})
    if (!rd.has(col)) throw InputError(rd.where(col), "is required and empty");
  const std::string kind = rd.text("kind");
  const KindInfo* ki = nullptr;
  for (const auto& i : kinds())
    if (kind == i.name) ki = &i;
  if (!ki) {
    std::string known;
    for (const auto& i : kinds()) {
      if (!known.empty()) known.append(", ");
      known.append(i.name);
    }
    throw InputError(rd.where("kind"), "unknown kind '" + kind + "' (known: " + known + ")");
  }
  m.kind = ki->kind;
  for (const char* col : ki->required)
    if (!rd.has(col))
      throw InputError(rd.where(col), std::string("is required for kind '") + ki->name + "'");
  m.hw = rd.text("hw");
  m.impl = rd.text("impl");
  m.dtype = rd.text("dtype");
  m.m = rd.count("m");
  m.n = rd.count("n");
  m.k = rd.count("k");
  m.batch = rd.count("batch");
  m.groups = rd.count("groups");
  m.heads = rd.count("heads");
  m.kv_heads = rd.count("kv_heads");
  m.seq = rd.count("seq");
  m.seq_k = rd.count("seq_k");
  m.head_dim = rd.count("head_dim");
  m.rows = rd.count("rows");
  m.cols = rd.count("cols");
  m.gpus = rd.count("gpus");
  m.tokens = rd.count("tokens");
  m.hidden = rd.count("hidden");
  m.top_k = rd.count("top_k");
  m.experts = rd.count("experts");
  if (rd.has("bytes")) m.bytes = rd.number("bytes");
  if (rd.has("clock_ghz")) {
    m.clock_ghz = rd.number("clock_ghz");
    if (m.clock_ghz > 10)
      throw InputError(rd.where("clock_ghz"), "is in GHz (got " + rd.text("clock_ghz") + ")");
  }
  if (rd.has("causal")) {
    const std::string c = rd.text("causal");
    if (c == "1" || c == "true")
      m.causal = true;
    else if (c == "0" || c == "false")
      m.causal = false;
    else
      throw InputError(rd.where("causal"), "must be 0 or 1, got '" + c + "'");
  }
  if (rd.has("pass")) {
    m.pass = rd.text("pass");
    if (m.pass != "fwd" && m.pass != "bwd")
      throw InputError(rd.where("pass"), "must be fwd or bwd, got '" + m.pass + "'");
  }
  if (rd.has("layout")) {
    m.layout = rd.text("layout");
    if (m.layout != "contiguous" && m.layout != "masked")
      throw InputError(rd.where("layout"), "must be contiguous or masked, got '" + m.layout + "'");
  }
  m.value = rd.number("value");
  const std::string unit = rd.text("unit");
  auto u = units().find(unit);
  if (u == units().end())
    throw InputError(rd.where("unit"),
                     "unknown unit '" + unit +
                         "' (us, ms, s, tflops, busbw_gbps, algbw_gbps, gbps, gelem_per_s)");
  m.unit = u->second;
  bool allowed = is_time(m.unit);
  for (MeasuredUnit ok : ki->units) allowed = allowed || ok == m.unit;
  if (!allowed)
    throw InputError(rd.where("unit"), "unit '" + unit + "' does not apply to kind '" + kind + "'");
  if (m.unit == MeasuredUnit::busbw_gbps && m.gpus == 0)
    throw InputError(rd.where("gpus"),
                     "is required with unit busbw_gbps (the bus factor depends on it)");
  m.source = rd.text("source");
  m.cls = rd.has("class") ? rd.text("class") : std::string(ki->name);
  m.harness = rd.text("harness");
  if (!m.harness.empty() && m.harness != "python-sync")
    throw InputError(rd.where("harness"),
                     "must be empty (GPU time) or 'python-sync', got '" + m.harness + "'");
  m.label = rd.text("label");
  return m;
}

std::string count_text(std::int64_t v) {
  return v > 0 ? std::to_string(v) : std::string();
}

}  // namespace

const char* kind_name(MeasurementKind k) {
  return info(k).name;
}

const char* unit_name(MeasuredUnit u) {
  for (const auto& [name, unit] : units())
    if (unit == u) return name.c_str();
  return "?";
}

const std::vector<std::string>& measurement_columns() {
  static const std::vector<std::string> c = {
      "kind",    "hw",        "impl",  "dtype",    "m",     "n",       "k",        "batch",
      "groups",  "layout",    "heads", "kv_heads", "seq",   "seq_k",   "head_dim", "causal",
      "pass",    "rows",      "cols",  "bytes",    "gpus",  "tokens",  "hidden",   "top_k",
      "experts", "clock_ghz", "value", "unit",     "class", "harness", "label",    "source"};
  return c;
}

std::vector<Measurement> parse_measurements(const std::string& text, const std::string& file) {
  const specs::CsvTable t = specs::parse_csv_table(text, file);
  for (size_t i = 0; i < t.header.size(); ++i) {
    bool known = false;
    for (const auto& c : measurement_columns()) known = known || c == t.header[i];
    if (!known)
      throw InputError(fmt::format("{}:1: column '{}' (column {})", file, t.header[i], i + 1),
                       "unknown column (the schema is in docs/calibration.md)");
  }
  for (const char* col : {"kind", "hw", "value", "unit", "source"})
    if (t.column_number(col) == 0)
      throw InputError(file + ":1", std::string("missing column '") + col + "'");
  std::vector<Measurement> out;
  out.reserve(t.rows.size());
  for (const auto& r : t.rows) out.push_back(read_row(t, r, file));
  if (out.empty()) throw InputError(file, "no measurements (only a header)");
  return out;
}

std::vector<Measurement> read_measurements(const std::string& path) {
  return parse_measurements(specs::read_text_file(path), path);
}

std::string write_measurements(const std::vector<Measurement>& rows) {
  std::string out;
  const auto& cols = measurement_columns();
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) out.push_back(',');
    out.append(cols[i]);
  }
  out.push_back('\n');
  for (const auto& m : rows) {
    const std::vector<std::string> cells = {
        kind_name(m.kind),
        m.hw,
        m.impl,
        m.dtype,
        count_text(m.m),
        count_text(m.n),
        count_text(m.k),
        count_text(m.batch),
        count_text(m.groups),
        m.layout,
        count_text(m.heads),
        count_text(m.kv_heads),
        count_text(m.seq),
        count_text(m.seq_k),
        count_text(m.head_dim),
        m.kind == MeasurementKind::attention ? (m.causal ? "1" : "0") : "",
        m.kind == MeasurementKind::attention ? m.pass : "",
        count_text(m.rows),
        count_text(m.cols),
        m.bytes > 0 ? fmt::format("{}", m.bytes) : "",
        count_text(m.gpus),
        count_text(m.tokens),
        count_text(m.hidden),
        count_text(m.top_k),
        count_text(m.experts),
        m.clock_ghz > 0 ? fmt::format("{}", m.clock_ghz) : "",
        fmt::format("{}", m.value),
        unit_name(m.unit),
        m.cls == kind_name(m.kind) ? "" : m.cls,
        m.harness,
        m.label,
        m.source};
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) out.push_back(',');
      out.append(report::csv_escape(cells[i]));
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace llmgps::calib
