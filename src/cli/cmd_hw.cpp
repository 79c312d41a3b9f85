// `llmgps hw list` and `llmgps hw show NAME|FILE`.
#include "common.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/json_fields.hpp"

namespace llmgps::cli {

void register_hw(CLI::App& app) {
  auto* hw = app.add_subcommand("hw", "hardware presets: GPUs, links and systems");
  hw->require_subcommand(1);

  static OutputOptions list_out;
  auto* list = hw->add_subcommand("list", "list the built-in hardware presets");
  add_output_options(list, list_out, {"table", "json", "csv"});
  list->callback([] {
    if (dry_run()) return;  // no options to check
    auto entries = specs::list_hw();
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    report::Table t;
    t.headers = {"name", "kind", "description"};
    for (const auto& e : entries) {
      j.push_back({{"name", e.name}, {"kind", e.kind}, {"description", e.description}});
      t.add_row({e.name, e.kind, e.description});
    }
    emit_rendered(
        list_out, j, [&] { return report::render_table(t); },
        [&] { return report::render_csv(t); });
  });

  static OutputOptions show_out;
  static std::string ref;
  auto* show = hw->add_subcommand("show", "show one preset or validate a hardware JSON file");
  show->add_option("NAME", ref, "preset name or path to a hardware JSON file")->required();
  add_output_options(show, show_out, {"table", "json"});
  show->callback([] {
    if (dry_run()) return;  // the reference is checked by reading it
    std::string kind;
    std::string text = specs::hw_json_text(ref, kind);
    auto j = nlohmann::ordered_json::parse(text);
    emit_rendered(show_out, j, [&] {
      // Flatten {"value", "source"} pairs to "value  (source)" rows.
      report::Table t;
      t.headers = {"field", "value", "source"};
      std::function<void(const nlohmann::ordered_json&, const std::string&)> walk =
          [&](const nlohmann::ordered_json& node, const std::string& path) {
            if (node.is_object() && node.contains("value") && !node["value"].is_object()) {
              t.add_row({path, node["value"].dump(), node.value("source", "")});
            } else if (node.is_object()) {
              for (auto it = node.begin(); it != node.end(); ++it)
                walk(it.value(), path.empty() ? it.key() : path + "." + it.key());
            } else if (node.is_array()) {
              for (size_t i = 0; i < node.size(); ++i)
                walk(node[i], path + "[" + std::to_string(i) + "]");
            } else {
              t.add_row({path, node.is_string() ? node.get<std::string>() : node.dump(), ""});
            }
          };
      walk(j, "");
      return report::render_table(t);
    });
  });
}

}  // namespace llmgps::cli
