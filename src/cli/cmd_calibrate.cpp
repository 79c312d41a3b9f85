// `llmgps validate --measurements FILE.csv`: the unchanged models scored against a measurement
// table (docs/calibration.md, "Measurement schema"). `llmgps calibrate --data DIR`: the same on
// the LLMCompass A100 set, read from its own CSVs (--export writes it in the schema).
#include "common.hpp"
#include "llmgps/api/calib.hpp"
#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"

namespace llmgps::cli {

void register_calibrate(CLI::App& app) {
  {
    static OutputOptions out;
    static api::ValidateRequest req;
    auto* c = app.add_subcommand(
        "validate", "score the models against a measurement table (CSV, docs/calibration.md)");
    c->add_option("--measurements", req.measurements, "measurement CSV in the documented schema")
        ->required();
    c->add_flag("--samples", req.samples, "list every row, not only the per-class summary");
    c->add_option("--worst", req.worst, "worst rows shown per class")
        ->check(CLI::Range(0, 1000))
        ->capture_default_str();
    c->add_option(
        "--loso", req.loso,
        "refit a calibrated fit (hopper-gemm, nvls, ampere-ring) leaving one source out at a "
        "time");
    add_output_options(c, out, {"table", "json", "csv"});
    c->callback([] {
      req.validate();
      if (dry_run()) return;  // options checked; no table read
      const auto r = api::validate(req);
      emit_rendered(
          out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); });
    });
  }
  {
    static OutputOptions out;
    static api::CalibrateRequest req;
    static std::string export_file;
    auto* c = app.add_subcommand("calibrate",
                                 "model error on measured A100 kernels (LLMCompass data set)");
    c->add_option("--data", req.data,
                  "folder with the llmcompass_*.csv files (default: the set built in, "
                  "data/calibration-a100)");
    c->add_option("--system", req.system, "the measured system")->capture_default_str();
    c->add_flag("--samples", req.samples, "list every sample, not only the per-class summary");
    c->add_option("--export", export_file,
                  "also write the set as a measurement CSV (the validate schema)");
    add_output_options(c, out, {"table", "json", "csv"});
    c->callback([] {
      req.validate();
      if (dry_run()) return;  // nothing to check before reading the data set
      const auto r = api::calibrate(req);
      report::FileSet side;
      if (!export_file.empty()) side.add(export_file, calib::write_measurements(r.measurements));
      emit_rendered(
          out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); },
          &side);
    });
  }
}

}  // namespace llmgps::cli
