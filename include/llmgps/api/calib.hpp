#pragma once
// `validate` and `calibrate` as library calls: the unchanged models scored against a measurement
// table (docs/calibration.md), or a calibrated fit refitted leaving one source out at a time.
#include <optional>
#include <string>
#include <vector>

#include "llmgps/calib/measurement.hpp"
#include "llmgps/calib/refit.hpp"
#include "llmgps/calib/validate.hpp"

namespace llmgps::api {

struct ValidateRequest {
  std::string measurements;  // CSV in the measurement schema
  bool samples = false;      // list every row, not only the per-class summary
  int worst = 3;             // worst rows kept per class
  std::string loso;          // non-empty: refit this fit leaving one source out at a time
  void validate() const;
};

// A scored table: every row and the per-class summary.
struct Validation {
  std::vector<calib::Scored> rows;
  std::vector<calib::ClassScore> classes;
  bool samples = false;
};
Validation score_table(const std::vector<calib::Measurement>& rows, bool samples, int worst);

struct ValidateResult {
  Validation validation;                  // when loso is empty
  std::optional<calib::LosoReport> loso;  // when a fit was named
};
ValidateResult validate(const ValidateRequest& r);

struct CalibrateRequest {
  std::string data;  // folder with the llmcompass_*.csv files; empty: the set built in
                     // (data/calibration-a100)
  std::string system = "4x-a100-nvlink3";  // the measured system
  bool samples = false;
  void validate() const {}
};
struct CalibrateResult {
  std::vector<calib::Measurement> measurements;  // the set in the schema (for --export)
  Validation validation;
};
CalibrateResult calibrate(const CalibrateRequest& r);

}  // namespace llmgps::api
