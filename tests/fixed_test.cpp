// fixed() is std::to_chars's fixed-point text on both its paths (fast integer scaling away from
// ties, to_chars itself near them).
#include "llmgps/common/fixed.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>

#include "llmgps/common/splitmix64.hpp"

namespace {

std::string reference(double v, int digits) {
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, digits);
  return std::string(buf, r.ptr);
}

TEST(Fixed, ExactCases) {
  EXPECT_EQ(llmgps::fixed(1.0, 2), "1.00");
  EXPECT_EQ(llmgps::fixed(0.125, 2), "0.12");  // a binary tie rounds to even
  EXPECT_EQ(llmgps::fixed(0.375, 2), "0.38");
  EXPECT_EQ(llmgps::fixed(-0.001, 2), "-0.00");
  EXPECT_EQ(llmgps::fixed(0.0, 0), "0");
  EXPECT_EQ(llmgps::fixed(2.5, 0), "2");
  EXPECT_EQ(llmgps::fixed(1.005, 2), "1.00");  // 1.005 is 1.00499999999999989... in binary
  EXPECT_EQ(llmgps::fixed(0.00012, 3), "0.000");
  EXPECT_EQ(llmgps::fixed(1830000000.0 / 1e9, 2), "1.83");
  EXPECT_EQ(llmgps::fixed(1e300, 1), reference(1e300, 1));
  EXPECT_EQ(llmgps::fixed(std::nan(""), 2), reference(std::nan(""), 2));
}

TEST(Fixed, MatchesToCharsOnRandomValues) {
  llmgps::SplitMix64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const double mag = std::ldexp(1.0, int(rng.next() % 60) - 30);
    const double v = (double(rng.next() >> 11) / 9007199254740992.0 - 0.3) * mag;
    const int digits = int(rng.next() % 8);
    ASSERT_EQ(llmgps::fixed(v, digits), reference(v, digits)) << v << " " << digits;
  }
  // Values on and next to decimal ties.
  for (int i = 0; i < 20000; ++i) {
    const int digits = int(rng.next() % 4);
    const double tie = (double(rng.next() % 100000) + 0.5) / std::pow(10.0, digits);
    for (double v : {tie, std::nextafter(tie, 0.0), std::nextafter(tie, 1e9)})
      ASSERT_EQ(llmgps::fixed(v, digits), reference(v, digits)) << v << " " << digits;
  }
}

}  // namespace
