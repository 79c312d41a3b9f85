#include "llmgps/cost/collective.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

namespace {
const SystemSpec& a100x4() {
  static SystemSpec s = specs::load_system("4x-a100-nvlink3");
  return s;
}
}  // namespace

TEST(Collective, AllreduceSmallIsLatencyLargeIsBandwidth) {
  OpCost small = allreduce_cost(a100x4(), 8);
  // 6 ring steps of the LL protocol: hop + protocol latency each.
  EXPECT_NEAR(small.time_s, 6 * (0.5e-6 + 1.7e-6), 0.2e-6);
  OpCost big = allreduce_cost(a100x4(), 1e9);
  const double bus = 2.0 * 3 / 4 * 1e9 / (300e9 * 0.76);
  EXPECT_NEAR(big.time_s, bus, bus * 0.01);
  EXPECT_NE(big.detail.find("Simple"), std::string::npos);
}

TEST(Collective, PropertyAllreduceMonotoneAndBandwidthHelps) {
  SystemSpec slow = specs::load_system("4x-a100-pcie4");
  double prev = 0;
  for (double b = 8; b < 1e10; b *= 3) {
    double t = allreduce_cost(a100x4(), b).time_s;
    EXPECT_GE(t, prev);
    EXPECT_LE(t, allreduce_cost(slow, b).time_s);
    prev = t;
  }
}

TEST(Collective, SkewedVolumeConservesBytes) {
  auto v = skewed_alltoall_volume(4, 1000, 2.0);
  for (const auto& row : v) EXPECT_NEAR(std::accumulate(row.begin(), row.end(), 0.0), 1000, 1e-9);
  EXPECT_NEAR(v[1][0], 1000 * 2.0 / 4, 1e-9);
  EXPECT_THROW(skewed_alltoall_volume(4, 1000, 4.5), InputError);
  EXPECT_THROW(skewed_alltoall_volume(4, 1000, 0.5), InputError);
}

TEST(Collective, AlltoallScalesWithSkewLikeThePaper) {
  // The hottest receiver takes (G-1) * skew / G of a sender's bytes: time ~ (N-1)*skew/N^2 of the total.
  const double bytes = 64e6;
  double t1 = alltoall_cost(a100x4(), skewed_alltoall_volume(4, bytes, 1.0)).time_s;
  double t2 = alltoall_cost(a100x4(), skewed_alltoall_volume(4, bytes, 2.0)).time_s;
  EXPECT_NEAR(t2 / t1, 2.0, 0.05);
}

TEST(Collective, AlltoallDiagonalIsFreeAndInterNodeIsSlower) {
  std::vector<std::vector<double>> local(4, std::vector<double>(4, 0));
  for (int i = 0; i < 4; ++i) local[i][i] = 1e9;
  EXPECT_EQ(alltoall_cost(a100x4(), local).time_s, 0);
  SystemSpec multi = specs::load_system("32x-h100-nvlink4-ndr400");
  std::vector<std::vector<double>> intra(32, std::vector<double>(32, 0)), inter = intra;
  intra[0][1] = 1e8;
  inter[0][8] = 1e8;
  EXPECT_GT(alltoall_cost(multi, inter).time_s, alltoall_cost(multi, intra).time_s);
}

TEST(Collective, HierarchicalAllreduceAcrossNodes) {
  SystemSpec multi = specs::load_system("32x-h100-nvlink4-ndr400");
  OpCost c = allreduce_cost(multi, 256e6);
  EXPECT_NE(c.detail.find("hierarchical"), std::string::npos);
  EXPECT_GT(c.time_s, allreduce_cost(multi, 256e6, 8).time_s);
}

TEST(Collective, P2pAndBadInput) {
  OpCost c = p2p_cost(a100x4(), 1e9);
  EXPECT_NEAR(c.time_s, 1e9 / (300e9 * 0.76), 1e-4);
  EXPECT_THROW(allreduce_cost(a100x4(), -1), InputError);
  EXPECT_THROW(allreduce_cost(a100x4(), 100, 8), InputError);
  EXPECT_THROW(p2p_cost(a100x4(), 0), InputError);
}
