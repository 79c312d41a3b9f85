#pragma once
// Expert loads as a file: {"loads": [[tokens per expert...], ...per layer...]} (the shape EPLB's
// `weight` tensor has), for `llmgps moe plan --loads`.
#include <string>

#include "llmgps/moe/planner.hpp"

namespace llmgps::moe {

// Throws InputError naming the file and the offending element (loads[l][e]).
LoadMatrix parse_loads_json(const std::string& text, const std::string& file);
LoadMatrix load_loads_json(const std::string& path);

}  // namespace llmgps::moe
