#pragma once
// Calibration against measured kernels: predicts every measurement in the LLMCompass A100 data
// set (../shared/data/calibration-a100) with the unchanged cost models and reports the error per
// kernel class. The measurement harness (PyTorch calls timed from Python) has a host-side floor
// per call (Python, dispatcher, synchronisation). Each floor is the smallest gap between a
// measurement and the model in its// kernel class (the tiny shapes, where the GPU work is negligible), not a GPU property.
// The calls are timed synchronously, so the host overhead adds to the GPU time.
#include <string>
#include <vector>

#include "llmgps/specs/hw.hpp"

namespace llmgps::calib {

struct Sample {
  std::string kernel_class;  // gemm, softmax, layernorm, gelu, allreduce, layer-prefill, layer-decode
  std::string shape;         // human-readable shape
  std::string floor_class;   // which harness floor applies (micro-benchmark class), or empty
  double measured_s = 0;
  double predicted_s = 0;    // model time, before the harness floor
  double harness_floor_s = 0;
  double reported_s() const { return predicted_s + harness_floor_s; }
  double rel_error() const { return (reported_s() - measured_s) / measured_s; }
};

struct ClassSummary {
  std::string kernel_class;
  int samples = 0;
  double median_abs_error = 0;
  double max_abs_error = 0;
  double harness_floor_s = 0;
};

// Loads the four CSVs from `dir` and predicts each A100 row with `sys` (a 4x A100 NVLink3 system).
std::vector<Sample> run_a100_calibration(const std::string& dir, const SystemSpec& sys);
std::vector<ClassSummary> summarise(const std::vector<Sample>& samples);

}  // namespace llmgps::calib
