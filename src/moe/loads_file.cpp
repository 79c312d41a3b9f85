#include "llmgps/moe/loads_file.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llmgps/specs/error.hpp"

namespace llmgps::moe {

LoadMatrix parse_loads_json(const std::string& text, const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(file, fmt::format("not valid JSON (byte {})", e.byte));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number out of range (1e400)
    throw InputError(file, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("loads"))
    throw InputError(file, "missing field 'loads' (expected {\"loads\": [[...], ...]})");
  const auto& rows = j["loads"];
  if (!rows.is_array() || rows.empty())
    throw InputError(file + ": loads", "must be a non-empty array of per-layer arrays");
  LoadMatrix out;
  for (std::size_t l = 0; l < rows.size(); ++l) {
    const auto& row = rows[l];
    const std::string where = fmt::format("{}: loads[{}]", file, l);
    if (!row.is_array() || row.empty())
      throw InputError(where, "must be a non-empty array of per-expert loads");
    if (!out.empty() && row.size() != out[0].size())
      throw InputError(where,
                       fmt::format("has {} experts, loads[0] has {}", row.size(), out[0].size()));
    std::vector<double> r;
    for (std::size_t e = 0; e < row.size(); ++e) {
      const auto& v = row[e];
      const std::string w = fmt::format("{}: loads[{}][{}]", file, l, e);
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

LoadMatrix load_loads_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open loads file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_loads_json(ss.str(), path);
}

}  // namespace llmgps::moe
