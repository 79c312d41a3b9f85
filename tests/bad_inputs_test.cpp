// Runs every case of tests/bad-inputs (format in its README): each must exit with the expected
// code, print exactly one line on stderr naming what is wrong, and leave outputs untouched.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_util.hpp"

using namespace llmgps::test;
namespace fs = std::filesystem;

namespace {
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}
std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}
}  // namespace

TEST(BadInputs, EveryCaseFailsCleanlyAndNamesTheCulprit) {
  const fs::path root = fs::path(LLMGPS_SOURCE_DIR) / "tests" / "bad-inputs";
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 40u);
  for (const fs::path& c : cases) {
    SCOPED_TRACE(c.filename().string());
    TempDir tmp;
    std::string args = first_line(slurp((c / "args").string()));
    args = replace_all(replace_all(args, "{case}", c.string()), "{tmp}", tmp.path.string());
    const std::string expect = slurp((c / "expect").string());
    const int code = std::stoi(first_line(expect));
    const std::string needle = first_line(expect.substr(expect.find('\n') + 1));
    const bool pre = fs::exists(c / "preexisting");
    if (pre) fs::copy_file(c / "preexisting", tmp.path / "out");
    const RunResult r = run_cli(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos)
        << args << "\nstderr: " << r.err << "expected to name: " << needle;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    if (pre) {
      EXPECT_EQ(slurp((tmp.path / "out").string()), slurp((c / "preexisting").string()));
    }
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(tmp.path))
      left.push_back(e.path().filename().string());
    EXPECT_EQ(left.size(), pre ? 1u : 0u) << "stray files after a failed run";
  }
}
