#include "llmgps/moe/loads_file.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llmgps/specs/error.hpp"

namespace llmgps::moe {

namespace {

// A [layer][expert] matrix of finite non-negative numbers; `name` prefixes every error.
LoadMatrix matrix_of(const nlohmann::json& rows, const std::string& name) {
  if (!rows.is_array() || rows.empty())
    throw InputError(name, "must be a non-empty array of per-layer arrays");
  LoadMatrix out;
  for (std::size_t l = 0; l < rows.size(); ++l) {
    const auto& row = rows[l];
    const std::string where = fmt::format("{}[{}]", name, l);
    if (!row.is_array() || row.empty())
      throw InputError(where, "must be a non-empty array of per-expert loads");
    if (!out.empty() && row.size() != out[0].size())
      throw InputError(
          where, fmt::format("has {} experts, {}[0] has {}", row.size(), name, out[0].size()));
    std::vector<double> r;
    for (std::size_t e = 0; e < row.size(); ++e) {
      const auto& v = row[e];
      const std::string w = fmt::format("{}[{}]", where, e);
      if (!v.is_number()) throw InputError(w, "must be a number");
      const double x = v.get<double>();
      if (!std::isfinite(x) || x < 0)
        throw InputError(w, fmt::format("must be finite and >= 0 (got {})", x));
      r.push_back(x);
    }
    out.push_back(std::move(r));
  }
  return out;
}

// SGLang's expert-distribution record: logical_count [layer][expert], or [pass][layer][expert]
// (what its recorder dumps; SGLang's EPLB sums over the passes, and so do we).
LoadMatrix parse_logical_count(const nlohmann::json& v, const std::string& file) {
  const std::string name = file + ": logical_count";
  if (!v.is_array() || v.empty() || !v[0].is_array() || v[0].empty())
    throw InputError(name, "must be a [layer][expert] or [pass][layer][expert] array");
  if (!v[0][0].is_array()) return matrix_of(v, name);
  LoadMatrix sum;
  for (std::size_t p = 0; p < v.size(); ++p) {
    const LoadMatrix m = matrix_of(v[p], fmt::format("{}[{}]", name, p));
    if (sum.empty()) {
      sum = m;
      continue;
    }
    if (m.size() != sum.size())
      throw InputError(fmt::format("{}[{}]", name, p),
                       fmt::format("has {} layers, {}[0] has {}", m.size(), name, sum.size()));
    if (m[0].size() != sum[0].size())
      throw InputError(
          fmt::format("{}[{}]", name, p),
          fmt::format("has {} experts, {}[0] has {}", m[0].size(), name, sum[0].size()));
    for (std::size_t l = 0; l < m.size(); ++l)
      for (std::size_t e = 0; e < m[l].size(); ++e) sum[l][e] += m[l][e];
  }
  return sum;
}

}  // namespace

LoadMatrix parse_loads_json(const std::string& text, const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(file, fmt::format("not valid JSON (byte {})", e.byte));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number out of range (1e400)
    throw InputError(file, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || (!j.contains("loads") && !j.contains("logical_count")))
    throw InputError(file,
                     "missing field 'loads' or 'logical_count' (expected {\"loads\": [[...], "
                     "...]} or SGLang's {\"logical_count\": [[...], ...]})");
  if (!j.contains("loads")) return parse_logical_count(j["logical_count"], file);
  const auto& rows = j["loads"];
  if (!rows.is_array() || rows.empty())
    throw InputError(file + ": loads", "must be a non-empty array of per-layer arrays");
  return matrix_of(rows, file + ": loads");
}

LoadMatrix load_loads_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open loads file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_loads_json(ss.str(), path);
}

}  // namespace llmgps::moe
