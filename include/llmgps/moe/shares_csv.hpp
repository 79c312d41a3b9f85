#pragma once
// Expert shares from CSV files: per-layer shares (`moe advise --shares`) and grouped shares (one
// row per group and layer, `moe predict --groups`). Errors name the file and line.
#include <string>
#include <vector>

#include "llmgps/moe/planner.hpp"
#include "llmgps/moe/predictor.hpp"

namespace llmgps::moe {

// Columns layer, expert and a share column (mean_fraction_of_routing_selections, as in the
// Mixtral MMLU data, or share). Every layer must list the same experts.
LoadMatrix read_shares_csv(const std::string& path);

// One row per (group, layer): a group column (subject or group), layer, expert0..expertN-1 and
// an optional example count (n_examples).
std::vector<GroupShares> read_groups_csv(const std::string& path);

}  // namespace llmgps::moe
