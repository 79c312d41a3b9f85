#include "llmgps/api/estimate.hpp"

namespace llmgps::api {

EstimateResult estimate(const EstimateRequest& r) {
  r.validate();
  EstimateResult out{specs::load_model(r.model), specs::load_system(r.system), r.step, {}};
  out.estimate = estimate_step(out.model, out.system, out.step);
  return out;
}

}  // namespace llmgps::api
