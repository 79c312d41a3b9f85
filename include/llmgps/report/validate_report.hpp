#pragma once
// Renders `llmgps validate` / `llmgps calibrate` results: per class n, median |error|, signed mean
// (bias; negative = the model is optimistic) and the worst rows; or every row with --samples.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llmgps/calib/refit.hpp"
#include "llmgps/calib/validate.hpp"

namespace llmgps::report {

nlohmann::ordered_json validation_json(const std::vector<calib::Scored>& rows,
                                       const std::vector<calib::ClassScore>& classes, bool samples);
std::string validation_table(const std::vector<calib::Scored>& rows,
                             const std::vector<calib::ClassScore>& classes, bool samples);

// `llmgps validate --loso FIT`: the fit on every source, then each source held out.
nlohmann::ordered_json loso_json(const calib::LosoReport& r);
std::string loso_table(const calib::LosoReport& r);

}  // namespace llmgps::report
