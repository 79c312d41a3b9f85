#pragma once
// Renders every library-API result (llmgps/api/) as the CLI prints it: json(r) is what
// `--format json` writes (dumped with two-space indent and a newline), table(r) the terminal
// table, csv(r) the CSV where a command has one. The CLI and the Python package both call these.
#include <nlohmann/json.hpp>
#include <string>

#include "llmgps/api/calib.hpp"
#include "llmgps/api/cost.hpp"
#include "llmgps/api/dropout.hpp"
#include "llmgps/api/estimate.hpp"
#include "llmgps/api/moe.hpp"
#include "llmgps/api/specs.hpp"

namespace llmgps::report {

using Json = nlohmann::ordered_json;

// The exact text of --format json for a result: two-space indent, except that an array of
// numbers (or other scalars) is written on one line, so a matrix comes out one row per line.
std::string json_text(const Json& j);

// A result's JSON as tidy CSV, the rows Python's records() gives: one row per element of
// j[rows_key] (nested objects flattened, keys joined with '.'; arrays of numbers as JSON text;
// arrays of objects left out), each led by the result's configuration: its top-level scalar
// fields and flattened objects (a row's own field of the same name wins). Without rows_key, one
// row of the whole result. Numbers are plain (shortest round-trip), booleans true/false.
std::string records_csv(const Json& j, const std::string& rows_key = "");

Json json(const api::HwListResult& r);
std::string table(const api::HwListResult& r);
std::string csv(const api::HwListResult& r);
Json json(const api::HwShowResult& r);
std::string table(const api::HwShowResult& r);
Json json(const api::ModelListResult& r);
std::string table(const api::ModelListResult& r);
std::string csv(const api::ModelListResult& r);
Json json(const api::ModelShowResult& r);
std::string table(const api::ModelShowResult& r);

Json json(const api::GemmResult& r);
Json json(const api::AttentionResult& r);
Json json(const api::ElementwiseResult& r);
Json json(const api::AllreduceResult& r);
Json json(const api::AlltoallResult& r);
Json json(const api::DeepepResult& r);
Json json(const api::P2pResult& r);
// A cost result's table is the key/value table of its JSON.
std::string table(const api::GemmResult& r);
std::string table(const api::AttentionResult& r);
std::string table(const api::ElementwiseResult& r);
std::string table(const api::AllreduceResult& r);
std::string table(const api::AlltoallResult& r);
std::string table(const api::DeepepResult& r);
std::string table(const api::P2pResult& r);

Json json(const api::EstimateResult& r);
std::string table(const api::EstimateResult& r);
std::string csv(const api::EstimateResult& r);
Json json(const api::EstimateSweepResult& r);
std::string table(const api::EstimateSweepResult& r);
std::string csv(const api::EstimateSweepResult& r);
std::string svg(const api::EstimateSweepResult& r);  // throughput vs batch (or seq)
std::string chrome_trace(const api::EstimateResult& r);

Json json(const api::ValidateResult& r);
std::string table(const api::ValidateResult& r);
std::string csv(const api::ValidateResult& r);
Json json(const api::CalibrateResult& r);
std::string table(const api::CalibrateResult& r);
std::string csv(const api::CalibrateResult& r);

Json json(const api::StatsResult& r);
std::string table(const api::StatsResult& r);
std::string jsonl(const api::SynthResult& r);
Json json(const api::PredictResult& r);
std::string table(const api::PredictResult& r);
Json json(const api::PlanResult& r);
std::string table(const api::PlanResult& r);
std::string csv(const api::PlanResult& r);  // one row per layer and slot
// SGLang's --init-expert-location file: {"physical_to_logical_map": [layer][physical slot]}.
// InputError when a slot is empty (SGLang maps every physical slot to an expert).
Json sglang_json(const api::PlanResult& r);
Json json(const api::AdviseResult& r);
std::string table(const api::AdviseResult& r);
Json json(const api::AdviseSweepResult& r);
std::string table(const api::AdviseSweepResult& r);
std::string csv(const api::AdviseSweepResult& r);
Json json(const api::MapResult& r);
std::string table(const api::MapResult& r);
std::string csv(const api::MapResult& r);
std::string svg(const api::MapResult& r);

// `philox` lines: four words in hex per output.
std::string philox_lines(const std::uint32_t* words, std::size_t n);
// `dropout mask`: the summary of a mask written to `file`.
Json json(const api::MaskResult& r, const std::string& file);
std::string table(const api::MaskResult& r, const std::string& file);
Json json(const api::BlockResult& r);
std::string table(const api::BlockResult& r);
// Chrome trace of one strategy's block (none, fused, sequential or overlapped).
std::string chrome_trace(const api::BlockResult& r, const std::string& strategy);
Json json(const api::SweepResult& r);
std::string table(const api::SweepResult& r);
std::string csv(const api::SweepResult& r);
std::string svg(const api::SweepResult& r);  // speedup vs sequence length per batch
std::string csv(const api::BlockResult& r);  // one row per host GEMM considered

}  // namespace llmgps::report
