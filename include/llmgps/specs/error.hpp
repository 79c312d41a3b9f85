#pragma once
// Input errors: everything a user can get wrong (a file, a field, an option) is reported as an
// InputError naming where the problem is and why. The CLI prints it as one line and exits with 2.
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
