// The model-error file holds computed figures, not typed ones: every entry is the median |error|
// that `llmgps validate` (or `llmgps calibrate`) computes today for the class and table it names.
// When a model changes, this test names the entry to refresh.
#include "llmgps/specs/model_error.hpp"

#include <gtest/gtest.h>

#include <map>

#include "llmgps/api/calib.hpp"
#include "llmgps/calib/measurement.hpp"
#include "llmgps/calib/validate.hpp"
#include "llmgps/specs/hw.hpp"
#include "test_util.hpp"

using namespace llmgps;

TEST(ModelError, EveryFigureIsWhatValidateComputes) {
  std::map<std::string, std::map<std::string, double>> medians;  // table -> class -> median
  auto median_of = [&](const std::string& table, const std::string& cls) {
    if (!medians.count(table)) {
      std::vector<calib::Measurement> rows;
      if (table == "llmcompass-a100") {
        api::CalibrateRequest r;
        r.data = std::string(LLMGPS_SHARED_DIR) + "/data/calibration-a100";
        rows = api::calibrate(r).measurements;
      } else {
        rows = calib::read_measurements(test::source_dir() + "/data/measurements/" + table);
      }
      for (const auto& c : calib::summarise(calib::score(rows)))
        medians[table][c.cls] = c.median_abs_error;
    }
    const auto it = medians[table].find(cls);
    return it == medians[table].end() ? -1.0 : it->second;
  };
  const auto families = specs::model_error_families();
  ASSERT_GE(families.size(), 3u);
  for (const ModelError& f : families)
    for (int c = 0; c <= int(ErrorClass::copy); ++c) {
      const ErrorClassSource& src = f.source(ErrorClass(c));
      SCOPED_TRACE(f.family + "." + error_class_name(ErrorClass(c)) + " <- " + src.table + " " +
                   src.cls);
      const double computed = median_of(src.table, src.cls);
      ASSERT_GE(computed, 0.0) << "no such class in the table";
      EXPECT_NEAR(src.median_abs_error, computed, 0.0005);
    }
}

TEST(ModelError, GpusFindTheirFamilyOrTheNearestMeasuredOne) {
  EXPECT_EQ(specs::model_error_for(specs::load_gpu("h100-sxm5")).family, "hopper");
  EXPECT_EQ(specs::model_error_for(specs::load_gpu("h200-sxm")).family, "h200");
  EXPECT_EQ(specs::model_error_for(specs::load_gpu("a100-sxm4-80g")).family, "ampere");
  const ModelError h200 = specs::model_error_for(specs::load_gpu("h200-sxm"));
  const ModelError h100 = specs::model_error_for(specs::load_gpu("h100-sxm5"));
  EXPECT_EQ(h200.of(ErrorClass::attention), h100.of(ErrorClass::attention));  // from its base
  EXPECT_NE(h200.of(ErrorClass::allreduce), h100.of(ErrorClass::allreduce));
  GpuSpec newer = specs::load_gpu("h100-sxm5");
  newer.name = "future";
  newer.sm_version = 100;
  EXPECT_NE(specs::model_error_for(newer).family.find("hopper (nearest"), std::string::npos);
  newer.sm_version = 70;
  EXPECT_NE(specs::model_error_for(newer).family.find("ampere (nearest"), std::string::npos);
}
