#pragma once
// Leave-one-source-out checks of the fields calibration fitted on public measurements. For one
// fit (a set of named spec fields and the rows they were fitted on), the fields are refitted on
// all sources, then once per source with that source's rows held out and scored as new data. The
// held-out error is what a user's own measurements should expect; the in-sample error is not.
//
// Refit: minimise the mean squared relative error on time over the fitting rows, one field at a
// time by golden-section search in its interval, three sweeps (the fits here have one or two
// fields and smooth error). A source is the text of a row's source column up to its first ';'
// (the document and commit).
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "llmgps/calib/measurement.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps::calib {

struct FitSpec {
  std::string name;         // "hopper-gemm", "nvls"
  std::string description;  // what was fitted on what
  std::vector<std::string> fields;
  std::vector<std::pair<double, double>> bounds;  // search interval per field
  std::function<bool(const Measurement&)> fits_on;
  std::function<void(SystemSpec&, const std::vector<double>&)> apply;
};

const std::vector<FitSpec>& fit_specs();
// Throws InputError naming `option` for an unknown fit.
const FitSpec& fit_spec(const std::string& name, const std::string& option);

std::string source_key(const Measurement& m);

struct LosoRow {
  std::string source;
  int fit_rows = 0, held_rows = 0;
  std::vector<double> values;  // fitted without this source
  double fit_median = 0;       // median |error| on the rows fitted
  double held_median = 0;      // median |error| on the held-out source
  double held_bias = 0;        // signed mean on the held-out source
};

struct LosoReport {
  std::string fit;
  std::vector<std::string> fields;
  std::vector<double> values;  // fitted on every source
  int rows = 0;
  double median = 0;  // in-sample median |error| with those values
  std::vector<LosoRow> sources;
};

// Throws InputError when `rows` has no row the fit uses, or fewer than two sources.
LosoReport leave_one_source_out(const FitSpec& fit, const std::vector<Measurement>& rows);

}  // namespace llmgps::calib
