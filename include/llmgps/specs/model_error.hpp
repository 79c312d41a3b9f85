#pragma once
// How far the cost models are from measurements: the median |error| on time of each kernel class
// per GPU family (data/calibration/model-error.json, every figure computed by `llmgps validate` or
// `llmgps calibrate` and rechecked by a test). Bands on predicted latencies charge each op the
// error of its class: a prediction is "t +- band", and two answers whose bands overlap are a tie.
#include <string>
#include <vector>

#include "llmgps/specs/hw.hpp"

namespace llmgps {

// The kernel classes a step's ops fall into.
enum class ErrorClass {
  gemm,
  grouped_gemm,
  attention,
  attention_fp8,
  elementwise,
  allreduce,
  alltoall,
  deepep_normal,
  deepep_low_latency,
  copy,
  allgather_reducescatter
};
const char* error_class_name(ErrorClass c);

struct ErrorClassSource {
  double median_abs_error = 0;  // fraction of the time
  std::string table;            // measurement table (or llmcompass-a100: `llmgps calibrate`)
  std::string cls;              // the class in that table's summary
  std::string note;             // in or out of sample, and what it borrows
};

struct ModelError {
  std::string family;                     // the family the GPU matched
  std::vector<ErrorClassSource> classes;  // indexed by ErrorClass
  double of(ErrorClass c) const { return classes[std::size_t(c)].median_abs_error; }
  const ErrorClassSource& source(ErrorClass c) const { return classes[std::size_t(c)]; }
};

namespace specs {
// The family of `gpu`: one naming the GPU, else one listing its SM version, else the family with
// the largest SM version below the GPU's (a newer GPU is assumed no better known than the newest
// measured; an older one takes the oldest). Never fails for a valid built-in file.
ModelError model_error_for(const GpuSpec& gpu);
// Every family of the file (for the test that recomputes them).
std::vector<ModelError> model_error_families();
}  // namespace specs

}  // namespace llmgps
