#include "llmgps/moe/shares_csv.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "llmgps/specs/csv.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::moe {

// Per-layer expert shares from a CSV with columns layer, expert and a share column
// (mean_fraction_of_routing_selections, as in the Mixtral MMLU data, or share).
LoadMatrix read_shares_csv(const std::string& path) {
  const auto rows = specs::read_csv(path);
  if (rows.empty()) throw InputError(path, "no rows");
  const std::string col = rows[0].fields.count("mean_fraction_of_routing_selections")
                              ? "mean_fraction_of_routing_selections"
                              : "share";
  LoadMatrix m;
  for (const auto& r : rows) {
    const double l = r.number("layer", path), e = r.number("expert", path), v = r.number(col, path);
    const std::string where = fmt::format("{}:{}", path, r.line);
    if (l < 0 || e < 0 || l > 4096 || e > 32767 || l != std::floor(l) || e != std::floor(e))
      throw InputError(where, "layer and expert must be small non-negative integers");
    if (!(v >= 0)) throw InputError(where, fmt::format("share must be >= 0 (got {})", v));
    if (m.size() <= std::size_t(l)) m.resize(std::size_t(l) + 1);
    if (m[std::size_t(l)].size() <= std::size_t(e))
      m[std::size_t(l)].resize(std::size_t(e) + 1, 0.0);
    m[std::size_t(l)][std::size_t(e)] = v;
  }
  for (std::size_t l = 0; l < m.size(); ++l)
    if (m[l].size() != m[0].size() || m[l].empty())
      throw InputError(path, fmt::format("layer {} has {} experts, layer 0 has {}", l, m[l].size(),
                                         m[0].size()));
  return m;
}

// Grouped shares: one row per (group, layer) with expert0..expertN-1 columns, a group column
// (subject or group) and an optional example count (n_examples).
std::vector<GroupShares> read_groups_csv(const std::string& path) {
  const auto rows = specs::read_csv(path);
  if (rows.empty()) throw InputError(path, "no rows");
  const std::string group_col = rows[0].fields.count("subject") ? "subject" : "group";
  int experts = 0;
  while (rows[0].fields.count("expert" + std::to_string(experts))) ++experts;
  if (experts == 0) throw InputError(path, "no expert0, expert1, ... columns");
  std::vector<GroupShares> groups;
  std::map<std::string, std::size_t> index;
  std::map<std::string, std::map<int, std::vector<double>>> layers;
  for (const auto& r : rows) {
    const std::string& g = r.at(group_col, path);
    const double layer = r.number("layer", path);
    if (layer < 0 || layer != std::floor(layer) || layer > 4096)
      throw InputError(fmt::format("{}:{}", path, r.line), "bad layer");
    std::vector<double> sh;
    for (int e = 0; e < experts; ++e) {
      const double v = r.number("expert" + std::to_string(e), path);
      if (!(v >= 0))
        throw InputError(fmt::format("{}:{}", path, r.line),
                         fmt::format("expert{} share must be >= 0", e));
      sh.push_back(v);
    }
    if (!index.count(g)) {
      index[g] = groups.size();
      groups.push_back(
          GroupShares{g, r.fields.count("n_examples") ? r.number("n_examples", path) : 1.0, {}});
    }
    layers[g][int(layer)] = sh;
  }
  for (auto& g : groups) {
    for (const auto& [l, sh] : layers[g.name]) g.shares.push_back(sh);
  }
  return groups;
}

}  // namespace llmgps::moe
