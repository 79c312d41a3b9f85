#pragma once
// The list checks the api's sweeps share: estimate, moe advise and dropout sweeps take the same
// list options (batches, seqs, phases, dtypes), named alike in errors ("sweep.batches").
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "llmgps/specs/dtype.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/workload/step.hpp"

namespace llmgps::api::detail {

inline void require_positive(const std::vector<std::int64_t>& values, const char* where) {
  for (std::int64_t v : values)
    if (v <= 0) throw InputError(where, fmt::format("values must be positive (got {})", v));
}

inline void require_phases(const std::vector<std::string>& phases) {
  for (const std::string& p : phases) (void)parse_phase(p, "sweep.phases");
}

inline void require_dtypes(const std::vector<std::string>& dtypes) {
  for (const std::string& d : dtypes)
    if (d != "auto") (void)parse_dtype(d, "sweep.dtypes");
}

}  // namespace llmgps::api::detail
