#include "llmgps/cost/collective.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <tuple>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"

using namespace llmgps;

namespace {
const SystemSpec& a100x4() {
  static SystemSpec s = specs::load_system("4x-a100-nvlink3");
  return s;
}
}  // namespace

TEST(Collective, AllreduceSmallIsLatencyLargeIsBandwidth) {
  CollectiveCost small = allreduce_cost(a100x4(), 8);
  // NCCL's ring LL: base latency 6.6 us plus 6 steps of 0.6 us (tuning.cc), the bytes negligible.
  EXPECT_NEAR(small.time_s, 6.6e-6 + 6 * 0.6e-6, 0.05e-6);
  EXPECT_EQ(small.protocol, "LL");
  EXPECT_EQ(small.algorithm, "ring");
  CollectiveCost big = allreduce_cost(a100x4(), 1e9);
  // Simple: the whole link at its sustained efficiency (0.78 on NVLink 3), 2(n-1)/n of the buffer.
  const double bus = 2.0 * 3 / 4 * 1e9 / (300e9 * 0.78) + 8.4e-6 + 6 * 3.4e-6;
  EXPECT_NEAR(big.time_s, bus, bus * 1e-9);
  EXPECT_EQ(big.protocol, "Simple");
}

TEST(Collective, GpuStepLatencyScaleMultipliesEveryRingStep) {
  SystemSpec scaled = a100x4();
  scaled.gpu.collective_step_latency_scale = 2.0;
  // Ring LL over 4 GPUs: the base once, 6 steps of 0.6 us, each twice as long.
  EXPECT_NEAR(allreduce_cost(scaled, 8).time_s, 6.6e-6 + 6 * 0.6e-6 * 2.0, 0.05e-6);
  SystemSpec multi = specs::load_system("32x-h100-nvlink4-ndr400");
  SystemSpec multi_scaled = multi;
  multi_scaled.gpu.collective_step_latency_scale = 2.0;
  EXPECT_GT(allreduce_cost(multi_scaled, 8, 0, CollectiveAlgo::hierarchical).time_s,
            allreduce_cost(multi, 8, 0, CollectiveAlgo::hierarchical).time_s);
}

// More bytes never take less time; more bandwidth on the same link never makes a collective
// slower; and from 1 MiB, where the link's bandwidth binds, NVLink beats PCIe. (Below that the
// time is ring latency plus NCCL's small-buffer channels, whose rate per channel is not ordered
// by the link: ring_share.)
TEST(Collective, PropertyAllreduceMonotoneAndBandwidthHelps) {
  const SystemSpec pcie = specs::load_system("4x-a100-pcie4");
  for (const char* name : {"4x-a100-nvlink3", "8x-a100-nvlink3", "8x-h100-nvlink4",
                           "8x-h800-nvlink4", "4x-a100-pcie4", "32x-h100-nvlink4-ndr400"}) {
    const SystemSpec fast = specs::load_system(name);
    SystemSpec slow = fast;
    slow.intra.bw_bytes_per_s *= 0.5;
    slow.inter.bw_bytes_per_s *= 0.5;
    double prev = 0;
    for (double b = 8; b < 1e10; b *= 3) {
      const double t = allreduce_cost(fast, b).time_s;
      EXPECT_GE(t, prev) << name << " " << b;
      EXPECT_LE(t, allreduce_cost(slow, b).time_s) << name << " " << b;
      prev = t;
    }
  }
  for (double b = 1 << 20; b < 1e10; b *= 3)
    EXPECT_LT(allreduce_cost(a100x4(), b).time_s, allreduce_cost(pcie, b).time_s) << b;
}

TEST(Collective, SkewedVolumeConservesBytes) {
  auto v = skewed_alltoall_volume(4, 1000, 2.0);
  for (const auto& row : v) EXPECT_NEAR(std::accumulate(row.begin(), row.end(), 0.0), 1000, 1e-9);
  EXPECT_NEAR(v[1][0], 1000 * 2.0 / 4, 1e-9);
  EXPECT_THROW(skewed_alltoall_volume(4, 1000, 4.5), InputError);
  EXPECT_THROW(skewed_alltoall_volume(4, 1000, 0.5), InputError);
}

TEST(Collective, AlltoallScalesWithSkewLikeThePaper) {
  // The hottest receiver takes (G-1) * skew / G of a sender's bytes: time ~ (N-1)*skew/N^2 of the
  // total.
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
  CollectiveCost c = allreduce_cost(multi, 256e6);
  // NVSwitch SHARP inside each node, a ring of node shards between them.
  EXPECT_EQ(c.algorithm, "nvls-tree");
  EXPECT_GT(allreduce_cost(multi, 256e6, 0, CollectiveAlgo::hierarchical).time_s, c.time_s);
  EXPECT_GT(c.time_s, allreduce_cost(multi, 256e6, 8).time_s);
}

// NCCL spreads a multi-node ring's channels over the node's NICs (one per GPU): 2 x 8 A100 over
// HDR crosses at 8 x 25 GB/s, not one NIC's 25 (mscclpp measured 184 GB/s of bus bandwidth).
TEST(Collective, MultiNodeRingCrossesAtEveryNicOfTheNode) {
  const SystemSpec s = specs::load_system("32x-a100-nvlink3-hdr200");
  const double bytes = 4294967296.0;
  const CollectiveCost c = allreduce_cost(s, bytes, 16);
  EXPECT_EQ(c.algorithm, "ring");
  EXPECT_EQ(c.protocol, "Simple");
  const LinkProtocol& pi = s.intra.protocols.back();
  const LinkProtocol& pe = s.inter.protocols.back();
  const double bw =
      std::min(s.intra.bw_bytes_per_s * s.intra.bw_efficiency * pi.payload_fraction,
               8 * s.inter.bw_bytes_per_s * s.inter.bw_efficiency * pe.payload_fraction);
  const double steps = 2.0 * 15, inter_steps = 2.0;
  // A step inside a node pays at least the host's network overhead (NCCL: 2 us on AMD hosts,
  // x3 for Simple), above NVLink's own 3.4 us.
  ASSERT_GT(pe.net_overhead_s, pi.step_latency_s);
  const double expect =
      pi.base_latency_s +
      ((steps - inter_steps) * pe.net_overhead_s + inter_steps * pe.step_latency_s) *
          s.gpu.collective_step_latency_scale +
      steps / 16 * bytes / bw;
  EXPECT_NEAR(c.time_s, expect, 1e-9);
  // 9 GPUs: the second node has one GPU and one NIC, which binds whatever the algorithm (a tree
  // between two nodes uses that NIC both ways).
  const double one_nic = s.inter.bw_bytes_per_s * s.inter.bw_efficiency;
  const CollectiveCost nine = allreduce_cost(s, bytes, 9);
  EXPECT_LE(nine.bus_bytes / nine.time_s, 2 * one_nic);
  // Without NVLS there is no NCCL hierarchical algorithm: auto never picks it, nvls is refused.
  for (double b : {1024.0, 1048576.0, bytes})
    EXPECT_NE(allreduce_cost(s, b, 16).algorithm, "hierarchical") << b;
  EXPECT_EQ(allreduce_cost(s, bytes, 16, CollectiveAlgo::hierarchical).algorithm, "hierarchical");
  try {
    allreduce_cost(s, bytes, 16, CollectiveAlgo::nvls);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("NVLink SHARP"), std::string::npos);
  }
}

// NVLS-tree pipelines NVLS inside and the tree between nodes: the slower stage sets the pace, so
// it beats the same stages run one after another, and between two nodes the tree uses both
// directions (NCCL's 2-node case), so 2 x 8 has more bus bandwidth than 4 x 8.
TEST(Collective, NvlsTreeIsPipelined) {
  const SystemSpec s = specs::load_system("32x-h100-nvlink4-ndr400");
  const double bytes = 1 << 30;
  const CollectiveCost four = allreduce_cost(s, bytes, 32, CollectiveAlgo::nvls);
  const CollectiveCost two = allreduce_cost(s, bytes, 16, CollectiveAlgo::nvls);
  EXPECT_EQ(four.algorithm, "nvls-tree");
  EXPECT_EQ(four.protocol, "Simple");
  EXPECT_GT(two.bus_bytes / two.time_s, four.bus_bytes / four.time_s);
  // Four nodes: the NICs bind (8 x NDR at its efficiency), plus NVLS's latency and two NVLS-tree
  // hops each way between nodes.
  const LinkProtocol& pe = s.inter.protocols.back();
  ASSERT_EQ(pe.name, "Simple");
  ASSERT_GE(pe.nvls_tree_step_latency_s, 0);
  const double nic = 8 * s.inter.bw_bytes_per_s * s.inter.bw_efficiency * pe.payload_fraction;
  auto latency = [&](int levels) {
    return s.intra.nvls_latency_s +
           2 * levels * pe.nvls_tree_step_latency_s * s.gpu.collective_step_latency_scale;
  };
  EXPECT_NEAR(four.time_s, latency(2) + 2.0 * 31 / 32 * bytes / nic, 1e-9);
  // Two nodes: the tree's NICs work both ways, so NVLS inside the node binds: the one-node NVLS
  // all-reduce's time without its latency.
  const double inside =
      allreduce_cost(specs::load_system("8x-h100-nvlink4"), bytes, 8, CollectiveAlgo::nvls).time_s -
      s.intra.nvls_latency_s;
  ASSERT_GT(inside, 2.0 * 15 / 16 * bytes / (2 * nic));
  EXPECT_NEAR(two.time_s, latency(1) + inside, 1e-9);
  // The serial reduce-scatter, inter-node all-reduce and all-gather take longer.
  EXPECT_GT(allreduce_cost(s, bytes, 32, CollectiveAlgo::hierarchical).time_s, four.time_s);
}

// DeepEP normal and low-latency: exact bytes, and the bytes DeepEP's own tests count (its own GPU
// or node included), which validate scores its README's bandwidths on.
TEST(Collective, DeepEpBytesAndWhatDeepEpCounts) {
  EXPECT_DOUBLE_EQ(expected_distinct_bins(4, 2, 2), 2.0 * (1.0 - 2.0 / 4 * 1.0 / 3));
  EpAllToAll a;
  a.tokens_per_gpu = 4096, a.hidden = 7168, a.top_k = 8, a.experts = 256, a.gpus = 8;
  a.payload = DType::fp8;
  const double token_bytes = 7168 + 7168 / 128 * 4;  // FP8 with one fp32 scale per 128
  const SystemSpec s = specs::load_system("256x-h800-nvlink4-ndr400");
  const EpAllToAllCost one = ep_alltoall_cost(s, a);
  const double gpus = expected_distinct_bins(256, 8, 8);
  EXPECT_DOUBLE_EQ(one.distinct_gpus, gpus);
  EXPECT_DOUBLE_EQ(one.nvlink_bytes, 4096 * gpus * 7 / 8 * token_bytes);
  EXPECT_DOUBLE_EQ(one.logical_bytes, 4096 * gpus * token_bytes);
  EXPECT_EQ(one.rdma_bytes, 0);
  a.gpus = 16;  // two nodes: node-limited to both, RDMA once per remote node
  const EpAllToAllCost two = ep_alltoall_cost(s, a);
  const double nodes = expected_distinct_bins(256, 2, 8);
  EXPECT_DOUBLE_EQ(two.distinct_nodes, nodes);
  EXPECT_DOUBLE_EQ(two.rdma_bytes, 4096 * nodes * 0.5 * token_bytes);
  EXPECT_DOUBLE_EQ(two.logical_bytes, 4096 * nodes * token_bytes);
  // Low-latency: every (token, expert) message. DeepEP's default reaches the other GPUs of its
  // node over NVLink (7 of 16 GPUs here) and the other node over RDMA (8 of 16); with NVLink
  // disallowed all of them, its own GPU's too, go over RDMA.
  a.mode = EpAllToAllMode::deepep_low_latency;
  const EpAllToAllCost ll = ep_alltoall_cost(s, a);
  EXPECT_DOUBLE_EQ(ll.logical_bytes, 4096 * 8 * token_bytes);
  EXPECT_DOUBLE_EQ(ll.rdma_bytes, ll.logical_bytes * 8 / 16);
  EXPECT_DOUBLE_EQ(ll.nvlink_bytes, ll.logical_bytes * 7 / 16);
  a.mode = EpAllToAllMode::deepep_low_latency_rdma;
  const EpAllToAllCost rdma = ep_alltoall_cost(s, a);
  EXPECT_DOUBLE_EQ(rdma.rdma_bytes, rdma.logical_bytes);
  EXPECT_EQ(rdma.nvlink_bytes, 0);
  EXPECT_GT(rdma.time_s, ll.time_s);
  EXPECT_TRUE(is_low_latency(a.mode));
  // 32 GPUs over 4 nodes: 24 of 32 destinations remote, 7 on NVLink; 8 GPUs: NVLink only; 12 over
  // nodes of 8 and 4: the GPU in the node of 4 binds (8 remote, 3 on NVLink). Skew weighs the
  // link bytes, never what DeepEP counts.
  a.mode = EpAllToAllMode::deepep_low_latency;
  for (auto [n, remote, local] : {std::tuple{32, 24, 7}, {8, 0, 7}, {12, 8, 3}}) {
    a.gpus = n;
    a.experts = n == 12 ? 96 : 256;  // experts divide over the GPUs
    const EpAllToAllCost c = ep_alltoall_cost(s, a);
    EXPECT_DOUBLE_EQ(c.rdma_bytes, c.logical_bytes * remote / n) << n;
    EXPECT_DOUBLE_EQ(c.nvlink_bytes, c.logical_bytes * local / n) << n;
    if (remote == 0) {
      EXPECT_EQ(c.bound, "nvlink");
    }
  }
  a.port_skew = 2;
  const EpAllToAllCost skewed = ep_alltoall_cost(s, a);
  EXPECT_DOUBLE_EQ(skewed.logical_bytes, 4096 * 8 * token_bytes);
  EXPECT_DOUBLE_EQ(skewed.rdma_bytes, 2 * skewed.logical_bytes * 8 / 12);
  // A system without a NIC cannot send over RDMA.
  a.port_skew = 1, a.gpus = 8, a.experts = 256, a.mode = EpAllToAllMode::deepep_low_latency_rdma;
  try {
    ep_alltoall_cost(specs::load_system("8x-h100-nvlink4"), a);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no inter-node"), std::string::npos);
  }
  EXPECT_GT(ep_alltoall_cost(specs::load_system("8x-h800-nvlink4"), a).rdma_bytes, 0);
  EXPECT_EQ(parse_ep_alltoall_mode("deepep-ll-rdma", "x"), EpAllToAllMode::deepep_low_latency_rdma);
  EXPECT_STREQ(ep_alltoall_mode_name(EpAllToAllMode::deepep_low_latency_rdma), "deepep-ll-rdma");
  EXPECT_THROW(parse_ep_alltoall_mode("deepep-fast", "x"), InputError);
}

TEST(Collective, DeepEpRunsOnTheLinksBulkProtocolWhereverTheFileListsIt) {
  EpAllToAll a;
  a.tokens_per_gpu = 4096, a.hidden = 7168, a.top_k = 8, a.experts = 256, a.gpus = 32;
  a.payload = DType::fp8;
  const SystemSpec s = specs::load_system("256x-h800-nvlink4-ndr400");
  const EpAllToAllCost listed = ep_alltoall_cost(s, a);
  SystemSpec reversed = s;  // a user's file may list Simple first
  std::reverse(reversed.intra.protocols.begin(), reversed.intra.protocols.end());
  std::reverse(reversed.inter.protocols.begin(), reversed.inter.protocols.end());
  ASSERT_NE(reversed.inter.protocols.back().name, "Simple");
  EXPECT_DOUBLE_EQ(ep_alltoall_cost(reversed, a).time_s, listed.time_s);
  // Without a protocol named Simple, the one with the largest payload fraction carries it.
  SystemSpec renamed = reversed;
  for (auto& p : renamed.inter.protocols) p.name = "proto-" + p.name;
  for (auto& p : renamed.intra.protocols) p.name = "proto-" + p.name;
  EXPECT_DOUBLE_EQ(ep_alltoall_cost(renamed, a).time_s, listed.time_s);
  renamed.inter.protocols.clear();
  EXPECT_THROW(ep_alltoall_cost(renamed, a), InputError);
}

TEST(Collective, P2pAndBadInput) {
  OpCost c = p2p_cost(a100x4(), 1e9);
  EXPECT_NEAR(c.time_s, 0.5e-6 + 3.4e-6 + 1e9 / (300e9 * 0.78), 1e-9);
  EXPECT_THROW(allreduce_cost(a100x4(), -1), InputError);
  EXPECT_THROW(allreduce_cost(a100x4(), 100, 8), InputError);
  EXPECT_THROW(p2p_cost(a100x4(), 0), InputError);
  EXPECT_THROW(p2p_cost(a100x4(), 1e9, true), InputError);  // one node: no inter-node copy
  EXPECT_THROW(p2p_cost(specs::load_system("h100-sxm5"), 1e9), InputError);  // no peer
  SystemSpec singles = specs::load_system("32x-h100-nvlink4-ndr400");
  singles.gpus_per_node = 1, singles.nodes = 2;  // each peer on another node
  EXPECT_THROW(p2p_cost(singles, 1e9, false), InputError);
  EXPECT_GT(p2p_cost(singles, 1e9, true).time_s, 0);
}

TEST(Collective, PropertyNvlsOnlyWhereTheSwitchHasSharp) {
  // Every preset system, every size: NVLS (or NVLS-tree) is chosen only over NVLink SHARP links,
  // and forcing it elsewhere is an input error naming the algorithm.
  int systems = 0;
  for (const auto& name : specs::preset_names("hw")) {
    if (std::string(specs::find_preset("hw", name)).find("\"kind\": \"system\"") ==
        std::string::npos)
      continue;
    SystemSpec sys = specs::load_system(name);
    ++systems;
    for (double b = 1024; b < 1e10; b *= 16) {
      CollectiveCost c = allreduce_cost(sys, b);
      if (!sys.intra.nvls) {
        EXPECT_EQ(c.algorithm.find("nvls"), std::string::npos) << name << " " << b;
      }
    }
    if (!sys.intra.nvls) {
      EXPECT_THROW(allreduce_cost(sys, 1e6, std::min(sys.gpus_per_node, sys.total_gpus()),
                                  CollectiveAlgo::nvls),
                   InputError)
          << name;
    }
  }
  EXPECT_GE(systems, 8);
  EXPECT_EQ(allreduce_cost(specs::load_system("8x-h100-nvlink4"), 1e9).algorithm, "nvls");
}

TEST(Collective, NvlsChunksFollowNcclsScheduleAndCostPerChunk) {
  SystemSpec sys = specs::load_system("8x-h100-nvlink4");
  const LinkSpec& l = sys.intra;
  auto nvls = [&](double b) { return allreduce_cost(sys, b, 8, CollectiveAlgo::nvls).time_s; };
  const double bw = l.bw_bytes_per_s * l.bw_efficiency * l.nvls_efficiency;
  // 4 MiB: below 2 x 16 channels x 8 heads x 32 KiB, so 16 KiB chunks: 16 per channel, twice.
  const double b = 4.0 * 1024 * 1024;
  EXPECT_NEAR(nvls(b), l.nvls_latency_s + 9.0 / 8 * b / bw + 2 * 16 * l.nvls_chunk_overhead_s,
              1e-12);
  // 2 GiB: full 128 KiB chunks, 1024 per channel.
  const double g = 2.0 * 1024 * 1024 * 1024;
  EXPECT_NEAR(nvls(g), l.nvls_latency_s + 9.0 / 8 * g / bw + 2 * 1024 * l.nvls_chunk_overhead_s,
              1e-9);
  // Smaller chunks cost more per byte: a 16 MiB all-reduce is further from the asymptote.
  auto per_byte_excess = [&](double x) {
    return (nvls(x) - l.nvls_latency_s - 9.0 / 8 * x / bw) / x;
  };
  EXPECT_GT(per_byte_excess(16.0 * 1024 * 1024), per_byte_excess(g));
}

// NCCL runs a small ring all-reduce on bytes / threshold channel-threads (enqueue.cc: channels
// dropped, then threads halved, to three warps), so its bandwidth is that share of the link's.
TEST(Collective, SmallRingBuffersRunOnTheirShareOfNcclsChannels) {
  const SystemSpec s = specs::load_system("8x-a100-nvlink3");
  const LinkSpec& l = s.intra;
  ASSERT_EQ(l.ring_channels, 24);
  const LinkProtocol& ll = l.protocols.front();
  ASSERT_EQ(ll.name, "LL");
  ASSERT_EQ(ll.max_threads, 512);
  ASSERT_TRUE(ll.threshold_per_rank);
  const double latency = ll.base_latency_s + 14 * ll.step_latency_s;
  const double full =
      std::min(l.bw_bytes_per_s * l.bw_efficiency * ll.payload_fraction, ll.max_busbw_bytes_per_s);
  auto ring_ll = [&](double bytes, double threads) {
    const double share = threads / (24.0 * 512);
    const double bw = std::min(l.bw_bytes_per_s * l.bw_efficiency * ll.payload_fraction * share,
                               ll.max_busbw_bytes_per_s);
    return latency + 14.0 / 8 * bytes / bw;
  };
  // 64 KiB: 65536 / (8 B x 8 ranks) = 1024 threads of the 24 x 512.
  EXPECT_NEAR(allreduce_cost(s, 65536).time_s, ring_ll(65536, 1024), 1e-12);
  // 1 KiB: at the three-warp floor.
  EXPECT_NEAR(allreduce_cost(s, 1024).time_s, ring_ll(1024, 96), 1e-12);
  // 1 MiB: every channel, the LL cap.
  EXPECT_NEAR(allreduce_cost(s, 1 << 20).time_s, latency + 14.0 / 8 * (1 << 20) / full, 1e-12);
  // A link file without ring_channels keeps the whole bandwidth at every size.
  SystemSpec plain = s;
  plain.intra.ring_channels = 0;
  EXPECT_NEAR(allreduce_cost(plain, 65536).time_s, latency + 14.0 / 8 * 65536 / full, 1e-12);
  EXPECT_LT(allreduce_cost(plain, 65536).time_s, allreduce_cost(s, 65536).time_s);
}

// NCCL picks the protocol by its tuner's time (every channel at work) and then runs it on the
// channels the buffer gets; a protocol that would have been faster on the reduced channels is
// not chosen. A made-up link where the two choices differ.
TEST(Collective, ProtocolIsTheTunersChoiceTimedOnItsShareOfChannels) {
  SystemSpec s = specs::load_system("4x-a100-nvlink3");
  LinkSpec& l = s.intra;
  l.bw_bytes_per_s = 100e9, l.bw_efficiency = 1, l.ring_channels = 8, l.nvls = false;
  // A: no latency, full payload, but a huge per-thread threshold; B: 2 us, half payload.
  auto protocol = [](const char* name, double payload, double base_s, double threshold) {
    LinkProtocol p;
    p.name = name, p.payload_fraction = payload, p.base_latency_s = base_s;
    p.max_threads = 512, p.thread_threshold_bytes = threshold;
    return p;
  };
  l.protocols = {protocol("A", 1.0, 0, 1e5), protocol("B", 0.5, 2e-6, 1)};
  const double bytes = 65536, bus = 1.5 * bytes;
  ASSERT_LT(bus / 100e9, 2e-6 + bus / 50e9);  // the tuner's times: A wins
  const CollectiveCost c = allreduce_cost(s, bytes);
  EXPECT_EQ(c.protocol, "A");
  // A runs on its fewest threads, 96 of 8 x 512 (the buffer is under one thread's threshold).
  EXPECT_NEAR(c.time_s, bus / (100e9 * 96 / (8 * 512)), 1e-12);
  EXPECT_GT(c.time_s, 2e-6 + bus / 50e9);  // B on its channels would have been faster
}

// NCCL's tree across nodes: at small sizes its log2(nodes) hops beat the ring's 2(n-1) steps.
// Latency from the links' tree fields, twice the buffer through the slower link at the
// inter-node protocol's tree share; one node has no tree.
TEST(Collective, TreeAcrossNodesHasLogarithmicLatency) {
  const SystemSpec s = specs::load_system("32x-h100-nvlink4-ndr400");  // 4 nodes x 8 GPUs
  const CollectiveCost small = allreduce_cost(s, 1024);
  EXPECT_EQ(small.algorithm, "tree");
  EXPECT_EQ(small.protocol, "LL");
  const LinkProtocol& pi = s.intra.protocols.front();
  const LinkProtocol& pe = s.inter.protocols.front();
  // 1 KiB is log2(1024 / 64) = 4 in NCCL's size correction.
  ASSERT_GT(pe.tree_size_factors.size(), 4u);
  // Between nodes the tree's channels use the NICs of the node with the fewest GPUs (8 here, 4
  // below), both ways at once between two nodes; LL's cap is NCCL's for the node count.
  auto tree_bw = [&](double nics, int nodes) {
    const double cap = nodes > 2 ? pe.max_busbw_many_nodes_bytes_per_s : pe.max_busbw_bytes_per_s;
    return std::min(std::min(s.intra.bw_bytes_per_s * s.intra.bw_efficiency,
                             s.inter.bw_bytes_per_s * s.inter.bw_efficiency * nics *
                                 (nodes <= 2 ? 2 : 1)) *
                        pe.tree_bw_factor,
                    cap) *
           pe.tree_size_factors[4];
  };
  ASSERT_GT(pe.max_busbw_many_nodes_bytes_per_s, 0);
  const double bw = tree_bw(8, 4);
  const double expect = pi.tree_base_latency_s +
                        2 * (7 * pi.tree_step_latency_s + 2 * pe.tree_step_latency_s) +
                        2.0 * 1024 / bw;  // nvlink4 has no ring_channels: every channel
  EXPECT_NEAR(small.time_s, expect, 1e-12);
  EXPECT_NEAR(allreduce_cost(s, 1024, 0, CollectiveAlgo::tree).time_s, expect, 1e-12);
  // 12 of the 32 GPUs span 2 nodes: NCCL counts ranks / nodes = 6 GPUs per node, 5 intra hops.
  const double twelve = pi.tree_base_latency_s +
                        2 * (5 * pi.tree_step_latency_s + 1 * pe.tree_step_latency_s) +
                        2.0 * 1024 / tree_bw(4, 2);
  EXPECT_NEAR(allreduce_cost(s, 1024, 12, CollectiveAlgo::tree).time_s, twelve, 1e-12);
  // The ring through all 32 GPUs pays 62 steps.
  EXPECT_GT(allreduce_cost(s, 1024, 0, CollectiveAlgo::ring).time_s, 1.5 * small.time_s);
  // Large buffers go to NVLS-tree, whose bandwidth the tree's up-and-down cannot match.
  EXPECT_NE(allreduce_cost(s, 1 << 28).algorithm, "tree");
  try {
    allreduce_cost(specs::load_system("8x-h100-nvlink4"), 1024, 0, CollectiveAlgo::tree);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("more than one node"), std::string::npos);
  }
}

// CollNet through a fabric that reduces in its switches (InfiniBand SHARP): each NIC of a node
// carries its share of the buffer once per direction, pipelined with the node's part (direct:
// scatter to and gather from the NIC heads; chain: chains up to a head and back, rotating over
// the heads; NVLS: the node's NVLS all-reduce), the slower stage setting the pace.
TEST(Collective, CollnetSendsEachNicsShareOnceThroughTheSwitch) {
  const SystemSpec s = specs::load_system("256x-h100-nvlink4-ndr400-sharp");  // 32 nodes x 8
  ASSERT_TRUE(s.collnet);
  ASSERT_EQ(s.intra.ring_channels, 0);  // nvlink4: every channel at every size
  const double nvlink = s.intra.bw_bytes_per_s * s.intra.bw_efficiency;
  const double nics = 8 * s.inter.bw_bytes_per_s * s.inter.bw_efficiency;
  for (double bytes : {1048576.0, 4294967296.0}) {
    const double inter = bytes / nics;
    // 32 GPUs: 4 nodes of 8, a NIC per GPU: a GPU moves 2 x 7/8 of the buffer inside the node
    // either way.
    const CollectiveCost direct = allreduce_cost(s, bytes, 32, CollectiveAlgo::collnet_direct);
    EXPECT_EQ(direct.algorithm, "collnet-direct");
    EXPECT_EQ(direct.protocol, "Simple");
    EXPECT_NEAR(direct.time_s,
                2 * (3.7e-6 + 7 * 0.4e-6) + 31e-6 + std::max(2.0 * 7 / 8 * bytes / nvlink, inter),
                1e-12);
    const CollectiveCost chain = allreduce_cost(s, bytes, 32, CollectiveAlgo::collnet_chain);
    EXPECT_NEAR(chain.time_s,
                2 * 7 * 2.8e-6 + 30e-6 + std::max(2.0 * 7 / 8 * bytes / nvlink, inter), 1e-12);
    // NVLS across nodes: the node's own NVLS all-reduce around the switch tree.
    const double node_nvls =
        allreduce_cost(specs::load_system("8x-h100-nvlink4"), bytes, 8, CollectiveAlgo::nvls)
            .time_s -
        s.intra.nvls_latency_s;
    const CollectiveCost nvls = allreduce_cost(s, bytes, 32, CollectiveAlgo::nvls);
    EXPECT_EQ(nvls.algorithm, "nvls");
    EXPECT_NEAR(nvls.time_s, s.intra.nvls_latency_s + 18e-6 + std::max(node_nvls, inter), 1e-12);
    // nvls-tree is its own name where CollNet is on.
    EXPECT_EQ(allreduce_cost(s, bytes, 32, CollectiveAlgo::nvls_tree).algorithm, "nvls-tree");
  }
  // A 4 GiB all-reduce over 32 H100s: NVLS through the switch, whose node part moves the least.
  EXPECT_EQ(allreduce_cost(s, 4294967296.0, 32).algorithm, "nvls");
  // Direct needs an NVSwitch inside the node; chain does not.
  SystemSpec ring_inside = s;
  ring_inside.intra.topology = "ring";
  EXPECT_THROW(allreduce_cost(ring_inside, 1e6, 32, CollectiveAlgo::collnet_direct), InputError);
  EXPECT_EQ(allreduce_cost(ring_inside, 1e6, 32, CollectiveAlgo::collnet_chain).algorithm,
            "collnet-chain");
  // One node of a CollNet system has nothing to send through the fabric.
  EXPECT_THROW(allreduce_cost(s, 1e6, 8, CollectiveAlgo::collnet_chain), InputError);
}

// Fewer NICs than GPUs: each head gathers its share from every other GPU and broadcasts it back,
// (h + p - 2) / h of the buffer; chains end at a head (the GPU after it starts one), 2 - 1/h.
// Partial nodes: the largest binds inside, the smallest at its NICs. One GPU per node: the
// network's tree hop as the fabric latency (tuning.cc, ppn 1).
TEST(Collective, CollnetHeadsPartialNodesAndOneGpuPerNode) {
  SystemSpec s = specs::load_system("256x-h100-nvlink4-ndr400-sharp");
  s.nics_per_node = 4;
  const double nvlink = s.intra.bw_bytes_per_s * s.intra.bw_efficiency;
  const double nic = s.inter.bw_bytes_per_s * s.inter.bw_efficiency;
  const double b = 4294967296.0;
  EXPECT_NEAR(allreduce_cost(s, b, 32, CollectiveAlgo::collnet_direct).time_s,
              2 * (3.7e-6 + 7 * 0.4e-6) + 31e-6 + std::max(2.5 * b / nvlink, b / (4 * nic)), 1e-12);
  EXPECT_NEAR(allreduce_cost(s, b, 32, CollectiveAlgo::collnet_chain).time_s,
              2 * 7 * 2.8e-6 + 30e-6 + std::max(1.75 * b / nvlink, b / (4 * nic)), 1e-12);
  // 12 GPUs: nodes of 8 and 4; NCCL counts 6 per node in latencies. The 4-GPU node reaches its
  // 4 NICs; the 8-GPU node moves the most inside.
  const double twelve = allreduce_cost(s, b, 12, CollectiveAlgo::collnet_direct).time_s;
  EXPECT_NEAR(twelve, 2 * (3.7e-6 + 5 * 0.4e-6) + 31e-6 + std::max(2.5 * b / nvlink, b / (4 * nic)),
              1e-12);
  SystemSpec two = s;
  two.nics_per_node = 2;  // 9 GPUs: the lone GPU of the second node still reaches a whole NIC;
  // the full node's chains end at 2 heads, so some GPUs start and end none: twice the buffer.
  // NCCL counts 9 / 2 = 4 GPUs per node in latencies.
  EXPECT_NEAR(allreduce_cost(two, b, 9, CollectiveAlgo::collnet_chain).time_s,
              2 * 3 * 2.8e-6 + 30e-6 + std::max(2.0 * b / nvlink, b / nic), 1e-12);
  EXPECT_DOUBLE_EQ(two.nics_for(1), 1.0);
  EXPECT_DOUBLE_EQ(two.nics_for(8), 2.0);

  SystemSpec singles = specs::load_system("256x-h100-nvlink4-ndr400-sharp");
  singles.gpus_per_node = 1;
  const LinkProtocol& simple = singles.inter.protocols.back();
  ASSERT_EQ(simple.name, "Simple");
  const CollectiveCost one = allreduce_cost(singles, 1024, 8, CollectiveAlgo::collnet_chain);
  EXPECT_NEAR(one.time_s, simple.tree_step_latency_s + 1024 / nic, 1e-12);

  // NCCL runs neither CollNet algorithm on more than 8 GPUs of a node.
  SystemSpec wide = specs::load_system("256x-h100-nvlink4-ndr400-sharp");
  wide.gpus_per_node = 16;
  wide.nodes = 16;
  EXPECT_THROW(allreduce_cost(wide, 1e6, 32, CollectiveAlgo::collnet_chain), InputError);
  for (double bytes = 64; bytes < 2e10; bytes *= 16)
    EXPECT_EQ(allreduce_cost(wide, bytes, 32).algorithm.find("collnet"), std::string::npos);
}

// A small buffer runs CollNet on fewer of NCCL's channels (and so NICs); NCCL's tuner assumes
// all of them.
TEST(Collective, CollnetSmallBuffersRunOnTheirShareOfChannels) {
  SystemSpec s = specs::load_system("32x-a100-nvlink3-hdr200");
  s.collnet = true;
  ASSERT_GT(s.intra.ring_channels, 0);
  const LinkProtocol& pi = s.intra.protocols.back();
  const double nvlink = s.intra.bw_bytes_per_s * s.intra.bw_efficiency;
  const double nics = 8 * s.inter.bw_bytes_per_s * s.inter.bw_efficiency;
  const double b = 262144;  // under 24 channels x 512 threads x 64 B
  const double threads = b / pi.thread_threshold_bytes;
  const double share = threads / (24.0 * pi.max_threads);
  ASSERT_LT(share, 1.0);
  EXPECT_NEAR(allreduce_cost(s, b, 32, CollectiveAlgo::collnet_chain).time_s,
              2 * 7 * 2.8e-6 + 30e-6 + std::max(1.75 * b / nvlink, b / nics) / share, 1e-12);
  const double channels = b / (double(pi.max_threads) * 8 * pi.thread_threshold_bytes);
  EXPECT_NEAR(allreduce_cost(s, b, 32, CollectiveAlgo::collnet_direct).time_s,
              2 * (3.7e-6 + 7 * 0.4e-6) + 31e-6 +
                  std::max(1.75 * b / nvlink, b / nics) / (std::max(channels, 1.0) / 24),
              1e-12);
}

TEST(Collective, PropertyCollnetOnlyWhereOn) {
  const SystemSpec plain = specs::load_system("32x-h100-nvlink4-ndr400");
  for (int gpus : {12, 16, 32})
    for (double b = 64; b < 2e10; b *= 4) {
      const CollectiveCost off = allreduce_cost(plain, b, gpus);
      EXPECT_EQ(off.algorithm.find("collnet"), std::string::npos) << gpus << " " << b;
      EXPECT_NE(off.algorithm, "nvls") << gpus << " " << b;  // NVLS across nodes needs CollNet
    }
  for (const char* name : {"32x-h100-nvlink4-ndr400", "8x-h100-nvlink4"}) {
    try {
      allreduce_cost(specs::load_system(name), 1e6, 0, CollectiveAlgo::collnet_chain);
      FAIL() << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("'collnet': true"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse_collective_algo("collnet-direct", "x"), CollectiveAlgo::collnet_direct);
  EXPECT_EQ(parse_collective_algo("nvls-tree", "x"), CollectiveAlgo::nvls_tree);
  EXPECT_STREQ(collective_algo_name(CollectiveAlgo::collnet_chain), "collnet-chain");
}

// A node with 4 NICs for its 8 GPUs gives each GPU half a NIC when all of them send: every
// inter-node path (NCCL's channels, all-to-all, DeepEP's RDMA) takes what half the NIC
// bandwidth per GPU would; a node with one NIC per GPU is unchanged by saying so.
TEST(Collective, FewerNicsThanGpusShareTheNodesNics) {
  const SystemSpec one_each = specs::load_system("32x-a100-nvlink3-hdr200");
  SystemSpec four = one_each;
  four.nics_per_node = 4;
  SystemSpec half_nic = one_each;
  half_nic.inter.bw_bytes_per_s /= 2;
  SystemSpec said = one_each;
  said.nics_per_node = 8;
  EXPECT_DOUBLE_EQ(four.nics_per_gpu(), 0.5);
  for (double b : {65536.0, 1073741824.0}) {
    for (auto a : {CollectiveAlgo::automatic, CollectiveAlgo::ring, CollectiveAlgo::tree,
                   CollectiveAlgo::hierarchical}) {
      EXPECT_NEAR(allreduce_cost(four, b, 32, a).time_s, allreduce_cost(half_nic, b, 32, a).time_s,
                  1e-15)
          << b;
      EXPECT_EQ(allreduce_cost(said, b, 32, a).time_s, allreduce_cost(one_each, b, 32, a).time_s);
    }
  }
  const auto volume = skewed_alltoall_volume(16, 64e6, 1.0);
  EXPECT_NEAR(alltoall_cost(four, volume).time_s, alltoall_cost(half_nic, volume).time_s, 1e-15);
  EpAllToAll a;
  a.tokens_per_gpu = 4096, a.hidden = 7168, a.top_k = 8, a.experts = 256, a.gpus = 32;
  EXPECT_NEAR(ep_alltoall_cost(four, a).time_s, ep_alltoall_cost(half_nic, a).time_s, 1e-15);
  EXPECT_GT(ep_alltoall_cost(four, a).time_s, ep_alltoall_cost(one_each, a).time_s);
  // One copy alone has a whole NIC; every GPU of the node copying at once, half of one.
  EXPECT_EQ(p2p_cost(four, 1e9, true).time_s, p2p_cost(one_each, 1e9, true).time_s);
  EXPECT_NEAR(p2p_cost(four, 1e9, true, true).time_s, p2p_cost(half_nic, 1e9, true).time_s, 1e-15);
}

// The report's reason: every algorithm weighed, with its tuner time and real time; the choice
// is the least tuner time, and a small buffer can make another one really faster.
TEST(Collective, CandidatesAreWhatTheTunerWeighed) {
  for (const char* name : {"8x-a100-nvlink3", "8x-h100-nvlink4", "32x-a100-nvlink3-hdr200",
                           "256x-h100-nvlink4-ndr400-sharp"})
    for (double b = 64; b < 2e10; b *= 8) {
      const SystemSpec s = specs::load_system(name);
      const CollectiveCost c = allreduce_cost(s, b, std::min(32, s.total_gpus()));
      ASSERT_FALSE(c.candidates.empty());
      const auto least =
          std::min_element(c.candidates.begin(), c.candidates.end(),
                           [](const auto& x, const auto& y) { return x.tuner_s < y.tuner_s; });
      EXPECT_EQ(least->algorithm, c.algorithm) << name << " " << b;
      EXPECT_EQ(least->time_s, c.time_s);
      for (const auto& k : c.candidates)
        EXPECT_GE(k.time_s, k.tuner_s * (1 - 1e-12)) << k.algorithm;
    }
  const SystemSpec sharp = specs::load_system("256x-h100-nvlink4-ndr400-sharp");
  std::vector<std::string> names;
  for (const auto& k : allreduce_cost(sharp, 1e9, 32).candidates) names.push_back(k.algorithm);
  EXPECT_EQ(names, (std::vector<std::string>{"ring", "tree", "nvls-tree", "collnet-direct",
                                             "collnet-chain", "nvls"}));
  EXPECT_EQ(allreduce_cost(sharp, 1e9, 32, CollectiveAlgo::ring).candidates.size(), 1u);
}

// All-gather and reduce-scatter: NCCL's ring of n - 1 steps moving (n-1)/n of the buffer (half
// an all-reduce's), across nodes through the NICs side by side; NVLS on one node binding on one
// direction with the whole buffer; no tree, and NVLS only inside a node.
TEST(Collective, AllgatherAndReducescatterAreHalfARing) {
  const SystemSpec& a = specs::load_system("8x-a100-nvlink3");
  const LinkProtocol& simple = a.intra.protocols.back();
  const double gib = 1073741824.0;
  for (auto kind : {CollectiveKind::allgather, CollectiveKind::reducescatter}) {
    const CollectiveCost big = collective_cost(kind, a, gib);
    EXPECT_EQ(big.algorithm, "ring");
    EXPECT_EQ(big.protocol, "Simple");
    EXPECT_NEAR(big.time_s,
                simple.base_latency_s + 7 * simple.step_latency_s + 7.0 / 8 * gib / (300e9 * 0.78),
                1e-12);
    EXPECT_EQ(big.time_s, kind == CollectiveKind::allgather ? allgather_cost(a, gib).time_s
                                                            : reducescatter_cost(a, gib).time_s);
    // Two nodes of 8 A100 with 8 HDR NICs each: 15 steps, one crossing the NICs, which bind.
    const SystemSpec two = specs::load_system("32x-a100-nvlink3-hdr200");
    const LinkProtocol& nic = two.inter.protocols.back();
    // Intra-node steps pay the AMD host's network overhead (6 us for Simple) over NVLink's 3.4.
    EXPECT_NEAR(collective_cost(kind, two, gib, 16, CollectiveAlgo::ring).time_s,
                simple.base_latency_s + 14 * nic.net_overhead_s + nic.step_latency_s +
                    15.0 / 16 * gib / (8 * two.inter.bw_bytes_per_s * two.inter.bw_efficiency),
                1e-12);
    // NVLS: one half of the all-reduce's, binding on one direction with the whole buffer (the
    // switch reads or writes all of it), against the ring's 7/8: the tuner takes the ring.
    // 2 GiB is 2 GiB / (16 channels x 128 KiB) = 1024 chunks, each with its overhead once.
    const SystemSpec h = specs::load_system("8x-h100-nvlink4");
    const LinkSpec& l = h.intra;
    EXPECT_NEAR(collective_cost(kind, h, 2 * gib, 8, CollectiveAlgo::nvls).time_s,
                l.nvls_latency_s +
                    2 * gib / (l.bw_bytes_per_s * l.bw_efficiency * l.nvls_efficiency) +
                    1024 * l.nvls_chunk_overhead_s,
                1e-12);
    EXPECT_EQ(collective_cost(kind, h, gib).algorithm, "ring");
    for (auto bad : {CollectiveAlgo::tree, CollectiveAlgo::hierarchical}) {
      try {
        collective_cost(kind, two, gib, 16, bad);
        FAIL();
      } catch (const InputError& e) {
        EXPECT_EQ(e.where(), std::string(collective_kind_name(kind)) + ".algo");
      }
    }
    EXPECT_THROW(collective_cost(kind, specs::load_system("32x-h100-nvlink4-ndr400"), gib, 16,
                                 CollectiveAlgo::nvls),
                 InputError);
    EXPECT_EQ(collective_cost(kind, a, gib, 1).algorithm, "local");
  }
  // Where NVLink's own step is the longer (NDR on Intel hosts: 3 us of Simple overhead against
  // NVLink's 3.4), it stays.
  const SystemSpec ndr = specs::load_system("32x-h100-nvlink4-ndr400");
  const LinkProtocol& ps = ndr.intra.protocols.back();
  const LinkProtocol& pn = ndr.inter.protocols.back();
  ASSERT_LT(pn.net_overhead_s, ps.step_latency_s);
  EXPECT_NEAR(allgather_cost(ndr, 4 * gib, 16, CollectiveAlgo::ring).time_s,
              ps.base_latency_s + 14 * ps.step_latency_s + pn.step_latency_s +
                  15.0 / 16 * 4 * gib /
                      std::min(ndr.intra.bw_bytes_per_s * ndr.intra.bw_efficiency,
                               8 * ndr.inter.bw_bytes_per_s * ndr.inter.bw_efficiency),
              1e-12);
  EXPECT_EQ(busbw_factor(CollectiveKind::allgather, 8), 7.0 / 8);
  EXPECT_EQ(busbw_factor(CollectiveKind::allreduce, 8), 14.0 / 8);
  EXPECT_EQ(parse_collective_kind("reducescatter", "x"), CollectiveKind::reducescatter);
  EXPECT_EQ(parse_collective_algo(CollectiveKind::allgather, "nvls", "x"), CollectiveAlgo::nvls);
  try {
    parse_collective_algo(CollectiveKind::reducescatter, "tree", "reducescatter.algo");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("auto, ring or nvls"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_collective_kind("broadcast", "x"), InputError);
}

TEST(Collective, PropertyGatherScatterMonotoneAndNeverSlowerThanAllreduce) {
  for (const char* name : {"8x-a100-nvlink3", "8x-h100-nvlink4", "4x-a100-pcie4",
                           "32x-a100-nvlink3-hdr200", "32x-h100-nvlink4-ndr400"}) {
    const SystemSpec s = specs::load_system(name);
    double last = 0, last_tuner = 0;
    for (double b = 1024; b < 2e10; b *= 4) {
      const CollectiveCost c = b < 1e6 ? allgather_cost(s, b) : reducescatter_cost(s, b);
      const double t = c.time_s;
      // What NCCL's tuner expects grows with the buffer. The time itself does inside a node;
      // across nodes the tuner can pick LL for a buffer too small for all its channels, and a
      // larger buffer on LL128 then takes less (the sawtooth real NCCL curves show).
      const double tuner =
          std::min_element(c.candidates.begin(), c.candidates.end(),
                           [](const auto& x, const auto& y) { return x.tuner_s < y.tuner_s; })
              ->tuner_s;
      EXPECT_GE(tuner, last_tuner * (1 - 1e-12)) << name << " " << b;
      if (s.nodes == 1) {
        EXPECT_GE(t, last * (1 - 1e-12)) << name << " " << b;
      }
      last_tuner = tuner;
      // Inside a node an all-gather is half of what an all-reduce does (across nodes NCCL's
      // all-reduce has a tree, its all-gather none, so small ones may come out either way).
      if (s.nodes == 1) {
        EXPECT_LE(t, allreduce_cost(s, b).time_s * (1 + 1e-12)) << name << " " << b;
      }
      last = t;
    }
  }
}
