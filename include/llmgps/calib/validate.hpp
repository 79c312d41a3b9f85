#pragma once
// Scores the unchanged cost models against measurements: every row is predicted with the model
// its kind names, on the hardware it names, and compared as a time. Error is signed on time,
// (model - measured) / measured: negative means the model is optimistic (predicts faster).
//
// Harness floors: rows timed as one synchronous call from Python (harness "python-sync") carry a
// host overhead that is not GPU time. Per kind, the floor is the median gap between measurement
// and model over such rows of that kind scored under their own kind (micro-benchmarks) whose
// modelled time is under half the measurement; it is added to every python-sync row of the kind.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "llmgps/calib/measurement.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps::calib {

struct Scored {
  Measurement m;
  std::string shape;  // human-readable shape
  double measured_s = 0;
  double predicted_s = 0;  // the model's GPU time
  double harness_floor_s = 0;
  std::string bound;   // the model's binding resource
  std::string detail;  // how the model got there
  double reported_s() const { return predicted_s + harness_floor_s; }
  double rel_error() const { return (reported_s() - measured_s) / measured_s; }
};

struct ClassScore {
  std::string cls;
  int n = 0;
  double median_abs_error = 0;
  double mean_signed_error = 0;  // bias: negative = optimistic
  double max_abs_error = 0;
  double harness_floor_s = 0;
  std::vector<const Scored*> worst;  // largest |error| first (at most `worst` rows)
};

// Predicts every row (hardware files are loaded once each). A row the model cannot evaluate
// (a GPU without the format, a size beyond the system) is an InputError naming its line.
std::vector<Scored> score(const std::vector<Measurement>& rows);
// The same with every system adjusted after loading (a refit trying field values).
std::vector<Scored> score(const std::vector<Measurement>& rows,
                          const std::function<void(SystemSpec&)>& adjust);
// Median of `v` (0 when empty; the mean of the middle two for an even count).
double median(std::vector<double> v);
// Per class, in first-seen order.
std::vector<ClassScore> summarise(const std::vector<Scored>& scored, int worst = 3);

}  // namespace llmgps::calib
