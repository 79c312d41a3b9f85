#pragma once
// Shared plumbing for subcommands: the --format/--out options and emitting the chosen rendering.
#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "llmgps/report/output.hpp"
#include "llmgps/util/progress.hpp"

namespace llmgps::cli {

struct OutputOptions {
  std::string format = "table";
  std::string out;    // empty: stdout
  bool wide = false;  // tables at their natural width (default: fit 100 columns)
};

// Adds --format (restricted to `formats`, first is the default) and --out to a subcommand.
void add_output_options(CLI::App* app, OutputOptions& o,
                        const std::vector<std::string>& formats = {"table", "json"});

// One line on stderr, "llmgps: warning: <text>" (the answer still goes to stdout).
void warn(const std::string& text);

// Each option of `pairs` ("--batch", "--batches") excludes its partner, in every spelling: a
// single value and a sweep list of the same thing cannot both be given (one would be silently
// ignored). Call it after the options and their old spellings are added.
void one_or_the_list(CLI::App* c, const std::vector<std::pair<std::string, std::string>>& pairs);

// The old spelling of a renamed option, kept for one release: hidden from --help, it sets the same
// variable and warns that the option was renamed.
// Remembers that `old_name` spells `new_name` on `c` (one_or_the_list excludes both spellings).
void note_old_spelling(const CLI::App* c, const std::string& old_name, const std::string& new_name);
template <typename T>
void add_old_spelling(CLI::App* c, const std::string& old_name, const std::string& new_name,
                      T& target) {
  c->add_option(old_name, target)->group("")->each([old_name, new_name](const std::string&) {
    warn(old_name + " is now " + new_name + " (the old spelling goes in the next release)");
  });
  note_old_spelling(c, old_name, new_name);
}

// Progress on stderr for computations that can run for seconds, only when stderr is a terminal
// (a pipe or a log gets nothing): after two seconds, "llmgps: <what> 42% (n of N)" redrawn in
// place at most ten times a second; the line is cleared when the object goes.
class TerminalProgress {
 public:
  explicit TerminalProgress(std::string what);
  ~TerminalProgress();
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;
  util::ProgressFn fn();

 private:
  std::string what_;
  bool tty_ = false, drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// Emits text to --out (atomically) or stdout. `side`: files the command writes beside it (--svg,
// --chrome-trace), already staged: they and --out are written together or not at all.
void emit(const OutputOptions& o, const std::string& text, report::FileSet* side = nullptr);
// Emits json (pretty) / table / csv depending on --format.
void emit_rendered(const OutputOptions& o, const nlohmann::ordered_json& j,
                   const std::function<std::string()>& table,
                   const std::function<std::string()>& csv = nullptr,
                   report::FileSet* side = nullptr);
// The same with the JSON's records as the CSV (report::records_csv on `rows_key`).
void emit_records(const OutputOptions& o, const nlohmann::ordered_json& j,
                  const std::function<std::string()>& table, const std::string& rows_key);

// The items of a comma-separated option value, empty ones kept (so "1,,2" and "1," are errors
// for the caller's item parser, never silently shorter lists).
std::vector<std::string> split_commas(const std::string& text);

// Decimal or 0x-prefixed hexadecimal, within `max` (errors name `where`).
std::uint64_t parse_uint(const std::string& text, const std::string& where, std::uint64_t max);
// Comma-separated positive integers (up to 2^40).
std::vector<std::int64_t> parse_int_list(const std::string& text, const std::string& where);

// Parses and runs the command line; returns the exit code.
int run(int argc, char** argv);
// When set, commands parse and validate their options but do not run (the CLI fuzz target).
bool& dry_run();

void register_hw(CLI::App& app);
void register_model(CLI::App& app);
void register_cost(CLI::App& app);
void register_estimate(CLI::App& app);
void register_calibrate(CLI::App& app);
void register_moe(CLI::App& app);
void register_dropout(CLI::App& app);

}  // namespace llmgps::cli
