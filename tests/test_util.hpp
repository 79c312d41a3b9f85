#pragma once
// Helpers shared by the tests: running the CLI binary, temporary folders, reading files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace llmgps::test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A fresh temporary directory, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "llmgps-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    if (p == nullptr) throw std::runtime_error("mkdtemp failed");
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs the llmgps binary with `args` (a shell-quoted string) in directory `dir` (empty: the
// current one), capturing stdout and stderr.
inline RunResult run_cli_in(const std::string& dir, const std::string& args) {
  TempDir d;
  const std::string out = d.file("out"), err = d.file("err");
  const std::string cmd = (dir.empty() ? std::string() : "cd '" + dir + "' && ") +
                          std::string(LLMGPS_BINARY) + " " + args + " >" + out + " 2>" + err +
                          " </dev/null";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline RunResult run_cli(const std::string& args) {
  return run_cli_in("", args);
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

inline std::string shared_dir() {
  return LLMGPS_SHARED_DIR;
}
inline std::string source_dir() {
  return LLMGPS_SOURCE_DIR;
}

}  // namespace llmgps::test
