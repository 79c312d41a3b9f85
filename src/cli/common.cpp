#include "common.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"

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

TerminalProgress::TerminalProgress(std::string what)
    : what_(std::move(what)),
      tty_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

TerminalProgress::~TerminalProgress() {
  if (drawn_) std::cerr << "\r\033[K" << std::flush;
}

util::ProgressFn TerminalProgress::fn() {
  if (!tty_) return {};
  return [this](std::size_t done, std::size_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(2) || now - last_ < std::chrono::milliseconds(100))
      return;
    last_ = now;
    drawn_ = true;
    std::cerr << "\rllmgps: " << what_ << " " << (total > 0 ? 100 * done / total : 0) << "% ("
              << done << " of " << total << ")" << std::flush;
  };
}

namespace {
// (command, new name) -> the old spellings add_old_spelling gave it.
std::map<std::pair<const CLI::App*, std::string>, std::vector<std::string>>& old_spellings() {
  static std::map<std::pair<const CLI::App*, std::string>, std::vector<std::string>> m;
  return m;
}
}  // namespace

void note_old_spelling(const CLI::App* c, const std::string& old_name,
                       const std::string& new_name) {
  old_spellings()[{c, new_name}].push_back(old_name);
}

void one_or_the_list(CLI::App* c, const std::vector<std::pair<std::string, std::string>>& pairs) {
  auto spellings = [c](const std::string& name) {
    std::vector<std::string> all{name};
    if (auto it = old_spellings().find({c, name}); it != old_spellings().end())
      all.insert(all.end(), it->second.begin(), it->second.end());
    return all;
  };
  for (const auto& [one, list] : pairs)
    for (const std::string& a : spellings(one))
      for (const std::string& b : spellings(list)) c->get_option(a)->excludes(c->get_option(b));
}

void emit(const OutputOptions& o, const std::string& text, report::FileSet* side) {
  report::FileSet none;
  report::FileSet& files = side ? *side : none;
  if (!o.out.empty()) files.add(o.out, text);
  files.commit();
  if (o.out.empty()) std::cout << text << std::flush;
}

void emit_rendered(const OutputOptions& o, const nlohmann::ordered_json& j,
                   const std::function<std::string()>& table,
                   const std::function<std::string()>& csv, report::FileSet* side) {
  if (o.format == "json") {
    emit(o, report::json_text(j), side);
  } else if (o.format == "csv" && csv) {
    emit(o, csv(), side);
  } else {
    const int width = report::table_width();
    if (o.wide) report::table_width() = 0;
    std::string text = report::fit_lines(table());
    report::table_width() = width;  // a process that runs several commands keeps its width
    emit(o, text, side);
  }
}

void emit_records(const OutputOptions& o, const nlohmann::ordered_json& j,
                  const std::function<std::string()>& table, const std::string& rows_key) {
  emit_rendered(o, j, table, [&] { return report::records_csv(j, rows_key); });
}

// Decimal or 0x-prefixed hexadecimal, within `max`.
std::uint64_t parse_uint(const std::string& text, const std::string& where, std::uint64_t max) {
  std::string t = text;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t = t.substr(2), base = 16;
  if (t.empty() || t.find_first_not_of(base == 16 ? "0123456789abcdefABCDEF" : "0123456789") !=
                       std::string::npos)
    throw InputError(where, fmt::format("'{}' is not a decimal or 0x-hexadecimal number", text));
  std::uint64_t v = 0;
  try {
    std::size_t used = 0;
    v = std::stoull(t, &used, base);
  } catch (const std::exception&) {
    throw InputError(where, fmt::format("'{}' is out of range", text));
  }
  if (v > max) throw InputError(where, fmt::format("'{}' exceeds {}", text, max));
  return v;
}

std::vector<std::int64_t> parse_int_list(const std::string& text, const std::string& where) {
  std::vector<std::int64_t> out;
  for (const std::string& item : split_commas(text)) {
    const std::uint64_t v = parse_uint(item, where, std::uint64_t(1) << 40);
    if (v == 0) throw InputError(where, "values must be positive");
    out.push_back(std::int64_t(v));
  }
  return out;
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
