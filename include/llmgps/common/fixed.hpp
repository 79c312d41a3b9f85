#pragma once
// Fixed-point text for the detail strings cost models attach to every result. The models run
// tens of thousands of times a second, so this is on the hot path of every estimate: fmt's
// precision formatting ("{:.2f}") was about a third of a full-model estimate, and std::to_chars
// with a precision (Ryu printf) still an eighth. The fast path scales to an integer and prints
// it; it is taken only when the scaled value is far enough from a rounding tie that the scaling's
// own rounding error cannot change the digit, so the text is always std::to_chars's (the correctly
// rounded decimal of the double); fixed_test checks both paths against it.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace llmgps {

inline std::string fixed(double v, int digits) {
  digits = digits < 0 ? 0 : digits > 40 ? 40 : digits;
  if (digits <= 6 && std::isfinite(v) && std::fabs(v) < 1e12) {
    static constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    const double scaled = std::fabs(v) * kPow10[digits];
    const double below = std::floor(scaled);
    // |scaled| < 1e18 and its error under 1 ulp (< 2^-52 relative): a margin of 1e-9 absolute
    // plus 1e-12 relative keeps clear of every tie the error could cross.
    if (std::fabs(scaled - below - 0.5) > 1e-9 + 1e-12 * scaled) {
      const auto units = std::uint64_t(scaled - below > 0.5 ? below + 1 : below);
      char buf[40];
      char* end = std::to_chars(buf, buf + sizeof buf, units).ptr;
      std::string out = std::signbit(v) ? "-" : "";
      const int len = int(end - buf);
      if (len <= digits) {  // 0.00ddd
        out += "0.";
        out.append(std::size_t(digits - len), '0');
        out.append(buf, end);
      } else {
        out.append(buf, std::size_t(len - digits));
        if (digits > 0) {
          out += '.';
          out.append(end - digits, end);
        }
      }
      return out;
    }
  }
  char buf[352];  // the largest double (309 digits) with up to 40 decimals
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, digits);
  return std::string(buf, r.ptr);
}

}  // namespace llmgps
