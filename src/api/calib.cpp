#include "llmgps/api/calib.hpp"

#include "llmgps/calib/calibration.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::api {

void ValidateRequest::validate() const {
  if (worst < 0 || worst > 1000) throw InputError("validate.worst", "must be in [0, 1000]");
  if (!loso.empty()) calib::fit_spec(loso, "loso.fit");  // a known fit, before reading the table
}

Validation score_table(const std::vector<calib::Measurement>& rows, bool samples, int worst) {
  Validation v;
  v.rows = calib::score(rows);
  v.classes = calib::summarise(v.rows, worst);
  v.samples = samples;
  return v;
}

ValidateResult validate(const ValidateRequest& r) {
  r.validate();
  const auto rows = calib::read_measurements(r.measurements);
  ValidateResult out;
  if (!r.loso.empty())
    out.loso = calib::leave_one_source_out(calib::fit_spec(r.loso, "loso.fit"), rows);
  else
    out.validation = score_table(rows, r.samples, r.worst);
  return out;
}

CalibrateResult calibrate(const CalibrateRequest& r) {
  r.validate();
  CalibrateResult out;
  out.measurements = calib::llmcompass_a100_measurements(r.data, r.system);
  out.validation = score_table(out.measurements, r.samples, 3);
  return out;
}

}  // namespace llmgps::api
