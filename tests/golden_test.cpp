// Golden outputs of every command (tests/golden/commands.txt): each report, in every format it
// has, byte for byte, plus the SVG maps and Chrome traces commands write. A change to any field of
// any report fails here; `make golden` rewrites the files for review (LLMGPS_UPDATE_GOLDEN=1).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_util.hpp"

using llmgps::test::RunResult;

namespace {

struct GoldenCase {
  std::string name, args;
  bool csv = false, svg = false, trace = false, json = true;
};

std::vector<GoldenCase> cases() {
  std::ifstream in(llmgps::test::source_dir() + "/tests/golden/commands.txt");
  std::vector<GoldenCase> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto bar = line.find(" | ");
    if (bar == std::string::npos) continue;
    GoldenCase c;
    c.name = line.substr(0, bar);
    std::istringstream words(line.substr(bar + 3));
    std::string w;
    while (words >> w) {
      if (w == "@csv")
        c.csv = true;
      else if (w == "@svg")
        c.svg = true;
      else if (w == "@trace")
        c.trace = true;
      else if (w == "@nojson")
        c.json = false;
      else
        c.args += (c.args.empty() ? "" : " ") + w;
    }
    out.push_back(c);
  }
  return out;
}

// Runs the binary from the source directory, so every path in an output is relative.
RunResult run_in_source(const std::string& args) {
  return llmgps::test::run_cli_in(llmgps::test::source_dir(), args);
}

void expect_golden(const std::string& file, const std::string& text) {
  const std::string path = llmgps::test::source_dir() + "/tests/golden/commands/" + file;
  if (std::getenv("LLMGPS_UPDATE_GOLDEN")) {
    std::ofstream(path, std::ios::binary) << text;
    return;
  }
  EXPECT_EQ(llmgps::test::slurp(path), text)
      << "golden " << file << " differs; `make golden` rewrites it if the change is intended";
}

}  // namespace

TEST(Golden, EveryCommandsReportsMatchTheirGoldenFiles) {
  const auto all = cases();
  ASSERT_GE(all.size(), 30u);
  llmgps::test::TempDir d;
  for (const GoldenCase& c : all) {
    SCOPED_TRACE(c.name + ": llmgps " + c.args);
    std::string extra;
    if (c.svg) extra += " --svg " + d.file(c.name + ".svg");
    if (c.trace) extra += " --chrome-trace " + d.file(c.name + ".trace.json");
    const RunResult table = run_in_source(c.args + extra);
    ASSERT_EQ(table.code, 0) << table.err;
    expect_golden(c.name + ".txt", table.out);
    if (c.svg) expect_golden(c.name + ".svg", llmgps::test::slurp(d.file(c.name + ".svg")));
    if (c.trace)
      expect_golden(c.name + ".trace.json", llmgps::test::slurp(d.file(c.name + ".trace.json")));
    if (c.json) {
      const RunResult json = run_in_source(c.args + " --format json");
      ASSERT_EQ(json.code, 0) << json.err;
      expect_golden(c.name + ".json", json.out);
    }
    if (c.csv) {
      const RunResult csv = run_in_source(c.args + " --format csv");
      ASSERT_EQ(csv.code, 0) << csv.err;
      expect_golden(c.name + ".csv", csv.out);
    }
  }
}
