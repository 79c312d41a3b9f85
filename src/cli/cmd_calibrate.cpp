// `llmgps calibrate --data DIR`: the model's error on the measured A100 data set, per kernel class.
#include <fmt/format.h>

#include "common.hpp"
#include "llmgps/calib/calibration.hpp"
#include "llmgps/report/output.hpp"

namespace llmgps::cli {

void register_calibrate(CLI::App& app) {
  static OutputOptions out;
  static std::string dir = "../shared/data/calibration-a100", system = "4x-a100-nvlink3";
  static bool samples = false;
  auto* c = app.add_subcommand("calibrate", "model error on measured A100 kernels (LLMCompass data set)");
  c->add_option("--data", dir, "folder with the llmcompass_*.csv files")->capture_default_str();
  c->add_option("--system", system, "the measured system")->capture_default_str();
  c->add_flag("--samples", samples, "list every sample, not only the per-class summary");
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] {
    if (dry_run()) return;
    auto all = calib::run_a100_calibration(dir, specs::load_system(system));
    auto summary = calib::summarise(all);
    nlohmann::ordered_json j;
    report::Table t;
    if (samples) {
      t.headers = {"class", "shape", "measured", "model", "floor", "error"};
      t.right_align = {false, false, true, true, true, true};
      j["samples"] = nlohmann::ordered_json::array();
      for (const auto& s : all) {
        t.add_row({s.kernel_class, s.shape, report::format_time(s.measured_s), report::format_time(s.reported_s()),
                   report::format_time(s.harness_floor_s), fmt::format("{:+.1f}%", 100 * s.rel_error())});
        j["samples"].push_back({{"class", s.kernel_class}, {"shape", s.shape}, {"measured_s", s.measured_s},
                                {"predicted_s", s.reported_s()}, {"rel_error", s.rel_error()}});
      }
    } else {
      t.headers = {"class", "samples", "median |error|", "max |error|", "harness floor"};
      t.right_align = {false, true, true, true, true};
    }
    j["classes"] = nlohmann::ordered_json::array();
    for (const auto& s : summary) {
      if (!samples)
        t.add_row({s.kernel_class, std::to_string(s.samples), fmt::format("{:.1f}%", 100 * s.median_abs_error),
                   fmt::format("{:.1f}%", 100 * s.max_abs_error), report::format_time(s.harness_floor_s)});
      j["classes"].push_back({{"class", s.kernel_class}, {"samples", s.samples},
                              {"median_abs_error", s.median_abs_error}, {"max_abs_error", s.max_abs_error},
                              {"harness_floor_s", s.harness_floor_s}});
    }
    emit_rendered(out, j, [&] { return report::render_table(t); }, [&] { return report::render_csv(t); });
  });
}

}  // namespace llmgps::cli
