#pragma once
// The A100 calibration set: LLMCompass's measured A100 kernels (../shared/data/calibration-a100)
// turned into rows of the measurement schema, so `llmgps calibrate` is `llmgps validate` on them.
// The micro-benchmarks time one synchronous PyTorch call from Python, so those rows carry the
// "python-sync" harness (a host floor per kind, see validate.hpp); the all-reduce sweep does not.
#include <string>
#include <vector>

#include "llmgps/calib/measurement.hpp"

namespace llmgps::calib {

// Reads the four llmcompass_*.csv files from `dir` (A100 rows only); `system` is the measured
// system's preset or file (a 4x A100 NVLink 3 node). Throws InputError naming file and line.
std::vector<Measurement> llmcompass_a100_measurements(const std::string& dir,
                                                      const std::string& system);

}  // namespace llmgps::calib
