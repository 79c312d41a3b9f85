// `llmgps model list` and `llmgps model show NAME|PATH/config.json`.
#include "common.hpp"
#include "llmgps/api/specs.hpp"
#include "llmgps/report/api_report.hpp"

namespace llmgps::cli {

void register_model(CLI::App& app) {
  auto* model =
      app.add_subcommand("model", "model specs: presets and Hugging Face config.json files");
  model->require_subcommand(1);

  static OutputOptions list_out;
  auto* list = model->add_subcommand("list", "list the built-in model presets");
  add_output_options(list, list_out, {"table", "json", "csv"});
  list->callback([] {
    if (dry_run()) return;  // no options to check
    const auto r = api::model_list();
    emit_rendered(
        list_out, report::json(r), [&] { return report::table(r); },
        [&] { return report::csv(r); });
  });

  static OutputOptions show_out;
  static api::ModelShowRequest req;
  auto* show = model->add_subcommand("show", "show a model preset or a config.json");
  show->add_option("NAME", req.ref, "preset name or path to a Hugging Face config.json")
      ->required();
  add_output_options(show, show_out, {"table", "json", "csv"});
  show->callback([] {
    if (dry_run()) return;  // the reference is checked by reading it
    const auto r = api::model_show(req);
    emit_records(
        show_out, report::json(r), [&] { return report::table(r); }, "");
  });
}

}  // namespace llmgps::cli
