// Known-answer tests: llmgps's Philox4x32-R against Debian's Random123 reference implementation.
#include "llmgps/dropout/philox.hpp"

#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <random>

using namespace llmgps;

namespace {
template <unsigned R>
void check_against_random123(std::uint32_t seed) {
  std::mt19937 mt(seed);
  auto gen = [&] { return std::uint32_t(mt()); };
  for (int i = 0; i < 2000; ++i) {
    philox::Counter c{{gen(), gen(), gen(), gen()}};
    philox::Key k{{gen(), gen()}};
    typename r123::Philox4x32_R<R>::ctr_type rc = {{c.v[0], c.v[1], c.v[2], c.v[3]}};
    typename r123::Philox4x32_R<R>::key_type rk = {{k.v[0], k.v[1]}};
    auto want = r123::Philox4x32_R<R>()(rc, rk);
    auto got = philox::generate(c, k, int(R));
    for (int w = 0; w < 4; ++w)
      ASSERT_EQ(got.v[w], want.v[w]) << "R=" << R << " sample " << i << " word " << w;
  }
}
}  // namespace

TEST(Philox, MatchesRandom123TenRounds) {
  check_against_random123<10>(1);
}
TEST(Philox, MatchesRandom123SevenRounds) {
  check_against_random123<7>(2);
}
TEST(Philox, MatchesRandom123OtherRoundCounts) {
  check_against_random123<1>(3);
  check_against_random123<6>(4);
  check_against_random123<12>(5);
}

TEST(Philox, PublishedKnownAnswer) {
  // Random123 kat_vectors: philox4x32 10 rounds, counter and key all zero.
  auto out = philox::generate({{0, 0, 0, 0}}, {{0, 0}}, 10);
  EXPECT_EQ(out.v[0], 0x6627e8d5u);
  EXPECT_EQ(out.v[1], 0xe169c58du);
  EXPECT_EQ(out.v[2], 0xbc57ac4cu);
  EXPECT_EQ(out.v[3], 0x9b00dbd8u);
}

TEST(Philox, CounterAddCarriesAcrossWords) {
  auto c = philox::add({{0xFFFFFFFFu, 0xFFFFFFFFu, 7, 0}}, 1);
  EXPECT_EQ(c.v[0], 0u);
  EXPECT_EQ(c.v[1], 0u);
  EXPECT_EQ(c.v[2], 8u);
  auto d = philox::add({{5, 0, 0, 0}}, 0x100000000ull);
  EXPECT_EQ(d.v[0], 5u);
  EXPECT_EQ(d.v[1], 1u);
}
