#include "common.hpp"

#include <algorithm>
#include <iostream>

#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"

namespace llmgps::cli {

void add_output_options(CLI::App* app, OutputOptions& o, const std::vector<std::string>& formats) {
  o.format = formats.front();
  std::string help = "output format: ";
  for (size_t i = 0; i < formats.size(); ++i) help += (i ? "|" : "") + formats[i];
  app->add_option("--format", o.format, help)->check(CLI::IsMember(formats))->capture_default_str();
  app->add_option("--out", o.out,
                  "write the output to FILE (atomically) instead of standard output");
  if (std::find(formats.begin(), formats.end(), "table") != formats.end())
    app->add_flag("--wide", o.wide, "tables at their full width (default: fit 100 columns)");
}

void warn(const std::string& text) {
  std::cerr << "llmgps: warning: " << text << "\n";
}

void emit(const OutputOptions& o, const std::string& text) {
  if (o.out.empty())
    std::cout << text << std::flush;
  else
    report::write_file_atomic(o.out, text);
}

void emit_rendered(const OutputOptions& o, const nlohmann::ordered_json& j,
                   const std::function<std::string()>& table,
                   const std::function<std::string()>& csv) {
  if (o.format == "json") {
    emit(o, report::json_text(j));
  } else if (o.format == "csv" && csv) {
    emit(o, csv());
  } else {
    if (o.wide) report::table_width() = 0;
    emit(o, report::fit_lines(table()));
  }
}

void emit_records(const OutputOptions& o, const nlohmann::ordered_json& j,
                  const std::function<std::string()>& table, const std::string& rows_key) {
  emit_rendered(o, j, table, [&] { return report::records_csv(j, rows_key); });
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    items.push_back(
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

}  // namespace llmgps::cli
