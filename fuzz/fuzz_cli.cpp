// libFuzzer target: the command line. The input is split into arguments at NUL bytes and
// newlines. Every command parses its options and runs its own checks of them (the numeric-text
// check, value ranges, exclusive options, list parsing); in a dry run it then returns before it
// reads a spec or trace file or runs a model, so no file is read or written and no long
// computation starts. Any exit code is fine; a crash or hang is not.
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
