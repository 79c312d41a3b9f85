// `llmgps hw list` and `llmgps hw show NAME|FILE`.
#include "common.hpp"
#include "llmgps/api/specs.hpp"
#include "llmgps/report/api_report.hpp"

namespace llmgps::cli {

void register_hw(CLI::App& app) {
  auto* hw = app.add_subcommand("hw", "hardware presets: GPUs, links and systems");
  hw->require_subcommand(1);

  static OutputOptions list_out;
  auto* list = hw->add_subcommand("list", "list the built-in hardware presets");
  add_output_options(list, list_out, {"table", "json", "csv"});
  list->callback([] {
    if (dry_run()) return;  // no options to check
    const auto r = api::hw_list();
    emit_rendered(
        list_out, report::json(r), [&] { return report::table(r); },
        [&] { return report::csv(r); });
  });

  static OutputOptions show_out;
  static api::HwShowRequest req;
  auto* show = hw->add_subcommand("show", "show one preset or validate a hardware JSON file");
  show->add_option("NAME", req.ref, "preset name or path to a hardware JSON file")->required();
  add_output_options(show, show_out, {"table", "json", "csv"});
  show->callback([] {
    if (dry_run()) return;  // the reference is checked by reading it
    const auto r = api::hw_show(req);
    emit_records(
        show_out, report::json(r), [&] { return report::table(r); }, "");
  });
}

}  // namespace llmgps::cli
