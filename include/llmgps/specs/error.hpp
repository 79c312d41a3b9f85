#pragma once
// Input errors: everything a user can get wrong is reported as an InputError naming where the
// problem is and why. The library names the file and line, or the request or spec field it checked
// ("step.tp", "attention.seq_q", "gpu"); it never names a command-line option. The CLI maps the
// fields of the requests a command builds to that command's options (cli/app.cpp, one table),
// prints one line and exits with 2.
#include <stdexcept>
#include <string>

namespace llmgps {

class InputError : public std::runtime_error {
 public:
  InputError(std::string where, std::string reason)
      : std::runtime_error(where + ": " + reason),
        where_(std::move(where)),
        reason_(std::move(reason)) {}
  const std::string& where() const { return where_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string where_;
  std::string reason_;
};

}  // namespace llmgps
