// `llmgps model list` and `llmgps model show NAME|PATH/config.json`.
#include <fmt/format.h>

#include "common.hpp"
#include "llmgps/report/estimate_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/model.hpp"

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
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    report::Table t;
    t.headers = {"name", "layers", "hidden", "heads", "kv_heads", "experts", "top_k", "params_b"};
    t.right_align = {false, true, true, true, true, true, true, true};
    for (const auto& name : specs::model_presets()) {
      ModelSpec m = specs::load_model(name);
      j.push_back(report::model_json(m));
      t.add_row({name, std::to_string(m.layers), std::to_string(m.hidden_size),
                 std::to_string(m.num_heads), std::to_string(m.num_kv_heads),
                 std::to_string(m.num_experts), std::to_string(m.top_k),
                 fmt::format("{:.1f}", m.params() / 1e9)});
    }
    emit_rendered(
        list_out, j, [&] { return report::render_table(t); },
        [&] { return report::render_csv(t); });
  });

  static OutputOptions show_out;
  static std::string ref;
  auto* show = model->add_subcommand("show", "show a model preset or a config.json");
  show->add_option("NAME", ref, "preset name or path to a Hugging Face config.json")->required();
  add_output_options(show, show_out, {"table", "json"});
  show->callback([] {
    if (dry_run()) return;  // the reference is checked by reading it
    ModelSpec m = specs::load_model(ref);
    auto j = report::model_json(m);
    emit_rendered(show_out, j, [&] { return report::kv_table(j); });
  });
}

}  // namespace llmgps::cli
