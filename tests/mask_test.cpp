#include "llmgps/dropout/mask.hpp"

#include <gtest/gtest.h>

#include <random>

#include "llmgps/specs/error.hpp"

using namespace llmgps;
using namespace llmgps::dropout;

TEST(Mask, ThresholdFollowsTheDocumentedRule) {
  EXPECT_EQ(keep_threshold({0, 0, 0.1, 8, 7}), 229);  // floor(0.9 * 256 - 1)
  EXPECT_EQ(keep_threshold({0, 0, 0.0, 8, 7}), 255);
  EXPECT_EQ(keep_threshold({0, 0, 0.0, 32, 10}), 4294967295LL);
  EXPECT_EQ(keep_threshold({0, 0, 0.999, 8, 7}), -1);  // nothing kept
  EXPECT_THROW(keep_threshold({0, 0, 1.0, 8, 7}), InputError);
  EXPECT_THROW(keep_threshold({0, 0, -0.1, 8, 7}), InputError);
  EXPECT_THROW(keep_threshold({0, 0, 0.1, 16, 7}), InputError);
  EXPECT_THROW(keep_threshold({0, 0, 0.1, 8, 0}), InputError);
  EXPECT_THROW(validate(MaskShape{1, 0, 4, 4}, DropoutRng{}), InputError);
}

TEST(Mask, EveryPathAgreesWithTheElementDefinition) {
  std::mt19937 mt(3);
  for (int bits : {8, 32})
    for (int rounds : {7, 10}) {
      const MaskShape s{2, 3, 37, 29};  // 6438 elements: the last word is partial
      const DropoutRng r{mt() | (std::uint64_t(mt()) << 32), mt(), 0.17, bits, rounds};
      const std::int64_t t = keep_threshold(r);
      const auto best = generate_mask(s, r, 1, philox::Impl::best);
      const auto scalar = generate_mask(s, r, 1, philox::Impl::scalar);
      const auto threaded = generate_mask(s, r, 4, philox::Impl::best);
      EXPECT_EQ(generate_mask(s, r, 1, philox::Impl::avx2), scalar);
      EXPECT_EQ(generate_mask(s, r, 1, philox::Impl::avx512), scalar);
      EXPECT_EQ(best, scalar);
      EXPECT_EQ(best, threaded);
      for (std::int64_t n = 0; n < s.elements(); ++n)
        ASSERT_EQ(mask_bit(best, n), element_keep(std::uint64_t(n), r, t)) << n;
      EXPECT_EQ(best.back() >> (s.elements() % 32), 0u);  // padding bits stay zero
    }
}

TEST(Mask, LargeMaskIsThreadCountInvariantAndKeepsAboutOneMinusP) {
  const MaskShape s{2, 8, 512, 512};
  const DropoutRng r{42, 7, 0.1, 8, 7};
  const auto one = generate_mask(s, r, 1);
  EXPECT_EQ(one, generate_mask(s, r, 3));
  EXPECT_NEAR(keep_fraction(one, s.elements()), 230.0 / 256.0, 0.002);
  DropoutRng next = r;
  next.offset += 1;  // a new offset gives a fresh mask
  EXPECT_NE(one, generate_mask(s, next, 1));
}

TEST(Mask, ThirtyTwoBitKeepFractionAndExtremes) {
  const MaskShape s{1, 4, 256, 256};
  EXPECT_NEAR(keep_fraction(generate_mask(s, {1, 0, 0.3, 32, 10}), s.elements()), 0.7, 0.005);
  EXPECT_DOUBLE_EQ(keep_fraction(generate_mask(s, {1, 0, 0.0, 32, 10}), s.elements()), 1.0);
  EXPECT_DOUBLE_EQ(keep_fraction(generate_mask(s, {1, 0, 0.9999999999, 32, 10}), s.elements()),
                   0.0);
}
