// libFuzzer target: the command-line parser. The input is split into arguments at NUL bytes and
// newlines; commands parse and validate their options but do not run (dry_run), so no file is
// written and no long computation starts. Any exit code is fine; a crash or hang is not.
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "../src/cli/common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = {"llmgps"};
  std::string cur;
  for (std::size_t i = 0; i < size && args.size() < 40; ++i) {
    const char c = char(data[i]);
    if (c == '\0' || c == '\n') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty() && args.size() < 40) args.push_back(cur);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  llmgps::cli::dry_run() = true;
  std::streambuf* out = std::cout.rdbuf(nullptr);
  std::streambuf* err = std::cerr.rdbuf(nullptr);
  (void)llmgps::cli::run(int(args.size()), argv.data());
  std::cout.rdbuf(out);
  std::cerr.rdbuf(err);
  std::cout.clear();
  std::cerr.clear();
  return 0;
}
