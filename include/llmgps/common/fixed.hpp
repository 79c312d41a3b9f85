#pragma once
// Fixed-point text for the detail strings cost models attach to every result. The models run
// tens of thousands of times a second, and fmt's precision formatting ("{:.2f}") was about a third
// of a full-model estimate; std::to_chars (Ryu) writes the same correctly rounded digits several
// times faster.
#include <charconv>
#include <string>

namespace llmgps {

inline std::string fixed(double v, int digits) {
  char buf[352];  // the largest double (309 digits) with up to 40 decimals
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed,
                               digits < 0    ? 0
                               : digits > 40 ? 40
                                             : digits);
  return std::string(buf, r.ptr);
}

}  // namespace llmgps
