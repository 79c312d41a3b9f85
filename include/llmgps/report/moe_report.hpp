#pragma once
// Renders the MoE-GPS answers (trace statistics, predictor scores, replica plans, advice, the
// guideline map) as JSON, terminal tables and SVG.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llmgps/moe/advisor.hpp"
#include "llmgps/moe/planner.hpp"
#include "llmgps/moe/predictor.hpp"
#include "llmgps/moe/trace_stats.hpp"

namespace llmgps::report {

// "N warm-up records (...) excluded (--keep-warmup keeps them)": the note every command that
// reads a routing trace prints when the reader dropped warm-up runs.
std::string warmup_excluded(std::size_t records);

nlohmann::ordered_json trace_stats_json(const moe::TraceStats& s);
std::string trace_stats_table(const moe::TraceStats& s);

nlohmann::ordered_json predictors_json(const std::vector<moe::PredictorResult>& r,
                                       const std::string& train, const std::string& test,
                                       std::size_t batch_tokens);
std::string predictors_table(const std::vector<moe::PredictorResult>& r);

nlohmann::ordered_json plan_json(const moe::ReplicaPlan& p, const moe::LoadMatrix& loads,
                                 const std::string& algo);
std::string plan_table(const moe::ReplicaPlan& p, const moe::LoadMatrix& loads,
                       const std::string& algo);

using moe::AdviceContext;
nlohmann::ordered_json advice_json(const moe::Advice& a, const AdviceContext& c);
// The verdict's fields of an advice (recommended, margin, tied, ...) added to `j`.
void verdict_json(nlohmann::ordered_json& j, const moe::Advice& a);
// label: what the verdict line calls itself ("recommended", or "cross-check verdict").
std::string advice_table(const moe::Advice& a, const AdviceContext& c,
                         const std::string& label = "recommended");

using moe::MapCell;
nlohmann::ordered_json map_json(const std::vector<MapCell>& cells, const AdviceContext& c);
std::string map_table(const std::vector<MapCell>& cells);
std::string map_csv(const std::vector<MapCell>& cells);
std::string map_svg(const std::vector<MapCell>& cells, const AdviceContext& c);

}  // namespace llmgps::report
