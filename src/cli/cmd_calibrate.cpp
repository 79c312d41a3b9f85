// `llmgps validate --measurements FILE.csv`: the unchanged models scored against a measurement
// table (docs/calibration.md, "Measurement schema"). `llmgps calibrate --data DIR`: the same on
// the LLMCompass A100 set, read from its own CSVs (--export writes it in the schema).
#include <fmt/format.h>

#include "common.hpp"
#include "llmgps/calib/calibration.hpp"
#include "llmgps/calib/refit.hpp"
#include "llmgps/calib/validate.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/report/validate_report.hpp"

namespace llmgps::cli {
namespace {

void emit_validation(const OutputOptions& out, const std::vector<calib::Measurement>& rows,
                     bool samples, int worst) {
  const auto scored = calib::score(rows);
  const auto classes = calib::summarise(scored, worst);
  emit_rendered(
      out, report::validation_json(scored, classes, samples),
      [&] { return report::validation_table(scored, classes, samples); },
      [&] { return report::validation_csv(scored, classes, samples); });
}

}  // namespace

void register_calibrate(CLI::App& app) {
  {
    static OutputOptions out;
    static std::string file, loso;
    static bool samples = false;
    static int worst = 3;
    auto* c = app.add_subcommand(
        "validate", "score the models against a measurement table (CSV, docs/calibration.md)");
    c->add_option("--measurements", file, "measurement CSV in the documented schema")->required();
    c->add_flag("--samples", samples, "list every row, not only the per-class summary");
    c->add_option("--worst", worst, "worst rows shown per class")
        ->check(CLI::Range(0, 1000))
        ->capture_default_str();
    c->add_option("--loso", loso,
                  "refit a calibrated fit (hopper-gemm, nvls) leaving one source out at a time");
    add_output_options(c, out, {"table", "json", "csv"});
    c->callback([] {
      if (!loso.empty()) calib::fit_spec(loso, "--loso");  // a known fit, before reading the table
      if (dry_run()) return;                               // options checked; no table read
      const auto rows = calib::read_measurements(file);
      if (!loso.empty()) {
        const auto r = calib::leave_one_source_out(calib::fit_spec(loso, "--loso"), rows);
        emit_rendered(
            out, report::loso_json(r), [&] { return report::loso_table(r); },
            [&] { return report::loso_csv(r); });
        return;
      }
      emit_validation(out, rows, samples, worst);
    });
  }
  {
    static OutputOptions out;
    static std::string dir = "../shared/data/calibration-a100", system = "4x-a100-nvlink3",
                       export_file;
    static bool samples = false;
    auto* c = app.add_subcommand("calibrate",
                                 "model error on measured A100 kernels (LLMCompass data set)");
    c->add_option("--data", dir, "folder with the llmcompass_*.csv files")->capture_default_str();
    c->add_option("--system", system, "the measured system")->capture_default_str();
    c->add_flag("--samples", samples, "list every sample, not only the per-class summary");
    c->add_option("--export", export_file,
                  "also write the set as a measurement CSV (the validate schema)");
    add_output_options(c, out, {"table", "json", "csv"});
    c->callback([] {
      if (dry_run()) return;  // nothing to check before reading the data set
      const auto rows = calib::llmcompass_a100_measurements(dir, system);
      if (!export_file.empty())
        report::write_file_atomic(export_file, calib::write_measurements(rows));
      emit_validation(out, rows, samples, 3);
    });
  }
}

}  // namespace llmgps::cli
