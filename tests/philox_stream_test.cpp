#include "llmgps/dropout/philox_stream.hpp"

#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace llmgps::philox;

namespace {
template <unsigned R>
void stream_matches_random123(Impl impl, std::uint32_t seed) {
  std::mt19937 mt(seed);
  for (int trial = 0; trial < 50; ++trial) {
    Counter c{{std::uint32_t(mt()), std::uint32_t(mt()), std::uint32_t(mt()), std::uint32_t(mt())}};
    if (trial % 5 == 0) c.v[0] = c.v[1] = 0xFFFFFFFFu - 3;  // carries across words inside a vector
    const Key k{{std::uint32_t(mt()), std::uint32_t(mt())}};
    const std::size_t n = 1 + mt() % 40;
    std::vector<std::uint32_t> out(4 * n);
    generate_stream(c, k, int(R), n, out.data(), impl);
    typename r123::Philox4x32_R<R>::ctr_type rc = {{c.v[0], c.v[1], c.v[2], c.v[3]}};
    const typename r123::Philox4x32_R<R>::key_type rk = {{k.v[0], k.v[1]}};
    for (std::size_t i = 0; i < n; ++i) {
      const auto want = r123::Philox4x32_R<R>()(rc, rk);
      for (int w = 0; w < 4; ++w)
        ASSERT_EQ(out[4 * i + std::size_t(w)], want.v[w])
            << impl_name(impl) << " R=" << R << " i=" << i;
      rc.incr();
    }
  }
}
}  // namespace

TEST(PhiloxStream, ScalarMatchesRandom123SevenAndTenRounds) {
  stream_matches_random123<7>(Impl::scalar, 11);
  stream_matches_random123<10>(Impl::scalar, 12);
}

TEST(PhiloxStream, Avx512MatchesRandom123SevenAndTenRounds) {
  if (!avx512_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  EXPECT_EQ(resolve(Impl::best), Impl::avx512);
  stream_matches_random123<7>(Impl::avx512, 16);
  stream_matches_random123<10>(Impl::avx512, 17);
  stream_matches_random123<1>(Impl::avx512, 18);
}

TEST(PhiloxStream, APathTheCpuLacksFallsBackToANarrowerOne) {
  EXPECT_EQ(resolve(Impl::scalar), Impl::scalar);
  if (!avx512_available()) {
    EXPECT_NE(resolve(Impl::avx512), Impl::avx512);
  }
  if (!avx2_available()) {
    EXPECT_EQ(resolve(Impl::avx2), Impl::scalar);
  }
  EXPECT_STREQ(impl_name(Impl::avx512), "avx512");
}

TEST(PhiloxStream, Avx2MatchesRandom123SevenAndTenRounds) {
  if (!avx2_available()) GTEST_SKIP() << "this CPU has no AVX2";
  stream_matches_random123<7>(Impl::avx2, 13);
  stream_matches_random123<10>(Impl::avx2, 14);
  stream_matches_random123<1>(Impl::avx2, 15);
}
