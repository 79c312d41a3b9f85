#include "llmgps/moe/planner.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "llmgps/specs/error.hpp"

using namespace llmgps::moe;

namespace {
const LoadMatrix kReadmeWeight = {{90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
                                  {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
}

// DeepSeek EPLB README: 2 layers, 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs.
TEST(Planner, EplbReproducesDeepSeekReadmeExample) {
  const ReplicaPlan p = eplb_plan(kReadmeWeight, EplbConfig{16, 4, 2, 8});
  const std::vector<std::vector<int>> expected = {
      {5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
      {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}};
  EXPECT_EQ(p.phy2log, expected);
  EXPECT_EQ(check_plan(p, 12), "");
  // logcnt and log2phy agree with phy2log (each replica listed once, in rank order).
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 12; ++e) {
      int n = 0;
      for (int s = 0; s < 16; ++s) n += p.phy2log[std::size_t(l)][std::size_t(s)] == e;
      EXPECT_EQ(p.logcnt[std::size_t(l)][std::size_t(e)], n);
    }
  EXPECT_EQ(p.log2phy(0, 5, 0), 0);
  EXPECT_EQ(p.log2phy(0, 5, 1), 2);
  // EPLB's log2phy width is DeepSeek's logcnt.max() over every layer (not num_redundant + 1).
  int most = 0;
  for (const auto& row : p.logcnt) most = std::max(most, *std::max_element(row.begin(), row.end()));
  EXPECT_EQ(p.max_logcnt, most);
  EXPECT_LT(most, 16 - 12 + 1);
  std::vector<int> expect(std::size_t(most), -1);
  expect[0] = 14;
  EXPECT_EQ(p.log2phy_nested()[1][3], expect);
}

namespace {
// DeepSeek's rebalance_experts transcribed as plainly as possible (float32 rows, a stable
// descending sort, Python's min over packs with room, torch.max's first maximum), to check the
// optimised planner against on many random shapes and tie-heavy loads.
struct RefPacking {
  std::vector<int> pack, rank;
};
RefPacking ref_balanced_packing(const std::vector<float>& w, int packs) {
  const int n = int(w.size()), per = n / packs;
  RefPacking r{std::vector<int>(std::size_t(n)), std::vector<int>(std::size_t(n), 0)};
  if (per == 1) {
    std::iota(r.pack.begin(), r.pack.end(), 0);
    return r;
  }
  std::vector<int> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int a, int b) { return w[std::size_t(a)] > w[std::size_t(b)]; });
  std::vector<float> pw(std::size_t(packs), 0.0f);
  std::vector<int> pn(std::size_t(packs), 0);
  for (int i : idx) {
    int best = -1;
    for (int p = 0; p < packs; ++p)
      if (pn[std::size_t(p)] < per && (best < 0 || pw[std::size_t(p)] < pw[std::size_t(best)]))
        best = p;
    r.pack[std::size_t(i)] = best;
    r.rank[std::size_t(i)] = pn[std::size_t(best)]++;
    pw[std::size_t(best)] += w[std::size_t(i)];
  }
  return r;
}

struct RefLayer {
  std::vector<int> phy2log, phyrank, logcnt;
};
RefLayer ref_rebalance(const std::vector<double>& loads, int replicas, int groups, int nodes,
                       int gpus) {
  if (groups % nodes != 0) groups = nodes = 1;  // EPLB's global policy
  const int E = int(loads.size()), gsize = E / groups, gpn = groups / nodes;
  std::vector<float> w(loads.begin(), loads.end());
  std::vector<float> gw(std::size_t(groups), 0.0f);
  for (int e = 0; e < E; ++e) gw[std::size_t(e / gsize)] += w[std::size_t(e)];
  const RefPacking gp = ref_balanced_packing(gw, nodes);
  std::vector<int> log2mlog(static_cast<std::size_t>(E)), mlog2log(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e) {
    const int g = e / gsize;
    log2mlog[std::size_t(e)] =
        (gp.pack[std::size_t(g)] * gpn + gp.rank[std::size_t(g)]) * gsize + e % gsize;
    mlog2log[std::size_t(log2mlog[std::size_t(e)])] = e;
  }
  const int lpn = E / nodes, ppn = replicas / nodes, per_gpu = replicas / gpus;
  RefLayer out{std::vector<int>(std::size_t(replicas)), std::vector<int>(std::size_t(replicas)),
               std::vector<int>(std::size_t(E))};
  for (int node = 0; node < nodes; ++node) {
    std::vector<float> mw(static_cast<std::size_t>(lpn));
    for (int m = 0; m < lpn; ++m)
      mw[std::size_t(m)] = w[std::size_t(mlog2log[std::size_t(node * lpn + m)])];
    std::vector<int> phy2mlog(static_cast<std::size_t>(ppn)), rank(std::size_t(ppn), 0),
        cnt(std::size_t(lpn), 1);
    std::iota(phy2mlog.begin(), phy2mlog.begin() + lpn, 0);
    for (int i = lpn; i < ppn; ++i) {
      int best = 0;
      for (int m = 1; m < lpn; ++m)
        if (mw[std::size_t(m)] / float(cnt[std::size_t(m)]) >
            mw[std::size_t(best)] / float(cnt[std::size_t(best)]))
          best = m;
      phy2mlog[std::size_t(i)] = best;
      rank[std::size_t(i)] = cnt[std::size_t(best)]++;
    }
    std::vector<float> pw(static_cast<std::size_t>(ppn));
    for (int p = 0; p < ppn; ++p)
      pw[std::size_t(p)] = mw[std::size_t(phy2mlog[std::size_t(p)])] /
                           float(cnt[std::size_t(phy2mlog[std::size_t(p)])]);
    const RefPacking pp = ref_balanced_packing(pw, gpus / nodes);
    for (int p = 0; p < ppn; ++p) {
      const int slot = node * ppn + pp.pack[std::size_t(p)] * per_gpu + pp.rank[std::size_t(p)];
      out.phy2log[std::size_t(slot)] = mlog2log[std::size_t(node * lpn + phy2mlog[std::size_t(p)])];
      out.phyrank[std::size_t(slot)] = rank[std::size_t(p)];
    }
    for (int m = 0; m < lpn; ++m)
      out.logcnt[std::size_t(mlog2log[std::size_t(node * lpn + m)])] = cnt[std::size_t(m)];
  }
  return out;
}
}  // namespace

// The optimised planner (vector ranking and packing, nodes packed together, layers on threads)
// against the plain transcription: identical phy2log, phyrank and logcnt on random shapes,
// including more than 8 GPUs per node (the portable packing path), ties and zero loads.
TEST(Planner, EplbMatchesPlainTranscriptionOnRandomShapes) {
  std::mt19937 rng(11);
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int nodes = 1 + int(rng() % 4);
    const int gpus = nodes * (1 + int(rng() % 12));
    const int groups = nodes * (1 + int(rng() % 4)) + (trial % 7 == 0 ? 1 : 0);  // sometimes global
    const int E = groups * (1 + int(rng() % 8)) * nodes;
    const int replicas = E + gpus * int(rng() % 3) + (gpus - E % gpus) % gpus;
    if (replicas % gpus != 0 || E % nodes != 0 || replicas % nodes != 0 ||
        replicas / nodes % (gpus / nodes) != 0)
      continue;
    const int hi = trial % 3 == 0 ? 4 : 1000;  // small ranges give many ties
    LoadMatrix w(5, std::vector<double>(std::size_t(E)));
    for (auto& row : w)
      for (double& x : row) x = double(rng() % std::uint32_t(hi));
    const ReplicaPlan p = eplb_plan(w, EplbConfig{replicas, groups, nodes, gpus, 1 + trial % 2});
    ASSERT_EQ(check_plan(p, E), "") << trial;
    for (std::size_t l = 0; l < w.size(); ++l) {
      const RefLayer r = ref_rebalance(w[l], replicas, groups, nodes, gpus);
      ASSERT_EQ(p.phy2log[l], r.phy2log) << "trial " << trial << " layer " << l;
      ASSERT_EQ(p.phyrank[l], r.phyrank) << "trial " << trial << " layer " << l;
      ASSERT_EQ(p.logcnt[l], r.logcnt) << "trial " << trial << " layer " << l;
    }
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

TEST(Planner, EplbGlobalPolicyWhenGroupsDoNotDivideNodes) {
  const ReplicaPlan p = eplb_plan(kReadmeWeight, EplbConfig{16, 3, 2, 8});
  EXPECT_EQ(check_plan(p, 12), "");
  // Replicas packed onto all 8 GPUs: at least as balanced as the hierarchical plan here.
  EXPECT_GE(balancedness(p, kReadmeWeight) + 1e-9,
            balancedness(eplb_plan(kReadmeWeight, EplbConfig{16, 4, 2, 8}), kReadmeWeight));
}

TEST(Planner, PropertyInvariantsOnRandomLoads) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    const int gpus = 1 << (rng() % 4);  // 1..8
    const int experts = gpus * (1 + int(rng() % 4));
    const int slots = experts / gpus + int(rng() % 3);
    LoadMatrix w(3, std::vector<double>(std::size_t(experts)));
    for (auto& row : w)
      for (double& x : row) x = double(rng() % 1000);
    const ReplicaPlan e = eplb_plan(w, EplbConfig{gpus * slots, 1, 1, gpus});
    EXPECT_EQ(check_plan(e, experts), "") << trial;
    const ReplicaPlan g = greedy_plan(w, GreedyConfig{gpus, slots, 0, 1.0, {}});
    EXPECT_EQ(check_plan(g, experts), "") << trial;
    // Tokens are conserved: the GPU loads add up to the expert loads.
    for (const ReplicaPlan* p : {&e, &g}) {
      const auto gl = gpu_loads(*p, w);
      for (std::size_t l = 0; l < w.size(); ++l)
        EXPECT_NEAR(std::accumulate(gl[l].begin(), gl[l].end(), 0.0),
                    std::accumulate(w[l].begin(), w[l].end(), 0.0), 1e-6);
    }
    // Duplication never makes the balance worse than no duplication.
    const ReplicaPlan none = contiguous_plan(3, experts, gpus);
    EXPECT_GE(balancedness(g, w) + 1e-12, balancedness(none, w)) << trial;
  }
}

TEST(Planner, GreedyHalvesTheGapUntilBalanced) {
  // 4 experts on 2 GPUs, expert 0 hot; 3 slots per GPU: one copy of expert 0 to GPU 1 balances.
  const LoadMatrix w = {{300, 100, 100, 100}};
  const ReplicaPlan p = greedy_plan(w, GreedyConfig{2, 3, 0, 1.0, {}});
  const auto gl = gpu_loads(p, w);
  EXPECT_NEAR(gl[0][0], 300, 1.0);
  EXPECT_NEAR(gl[0][1], 300, 1.0);
  EXPECT_EQ(p.logcnt[0][0], 2);
  EXPECT_DOUBLE_EQ(balancedness(p, w), 1.0);
}

TEST(Planner, GreedyRespectsCopyLimitAndSlots) {
  const LoadMatrix w = {{1000, 10, 10, 10, 10, 10, 10, 10}};
  const ReplicaPlan p = greedy_plan(w, GreedyConfig{4, 3, 2, 1.0, {}});
  EXPECT_LE(p.logcnt[0][0], 2);
  EXPECT_EQ(check_plan(p, 8), "");
  const ReplicaPlan full = greedy_plan(w, GreedyConfig{4, 2, 0, 1.0, {}});  // no free slot: no copy
  EXPECT_EQ(full.logcnt[0][0], 1);
}

TEST(Planner, BadShapesNameTheParameter) {
  auto where = [](auto f) {
    try {
      f();
    } catch (const llmgps::InputError& e) {
      return e.where();
    }
    return std::string("no error");
  };
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{10, 4, 2, 8}); }), "plan.slots_per_gpu");
  // Groups and nodes are checked only by the hierarchical policy (groups divide over the nodes).
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{16, 5, 1, 8}); }), "plan.groups");
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{16, 3, 3, 8}); }), "plan.gpus");
  // Otherwise DeepSeek's rebalance_experts plans globally, ignoring both; so does eplb_plan.
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{16, 5, 2, 8}); }), "no error");
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{16, 4, 3, 8}); }), "no error");
  EXPECT_EQ(eplb_plan(kReadmeWeight, EplbConfig{16, 4, 3, 8}).phy2log,
            eplb_plan(kReadmeWeight, EplbConfig{16, 1, 1, 8}).phy2log);
  EXPECT_EQ(where([] { greedy_plan(kReadmeWeight, GreedyConfig{13, 3, 0, 1, {}}); }), "plan.gpus");
  EXPECT_EQ(where([] { eplb_plan({{1, 2}, {1}}, EplbConfig{2, 1, 1, 1}); }), "loads");
  EXPECT_EQ(where([] { eplb_plan({{1, -2}}, EplbConfig{2, 1, 1, 1}); }), "loads");
  // A plan larger than memory is refused before it is made (layers x slots beyond 2^28).
  EXPECT_EQ(where([] {
              eplb_plan(kReadmeWeight, EplbConfig{1 << 30, 1, 1, 1});
            }),
            "plan.slots_per_gpu");
}

TEST(Planner, GreedyOnTimeCopiesOnlyWhenTheBusiestGpuGetsFaster) {
  const LoadMatrix w = {{300, 100, 100, 100}};
  // Compute-bound experts (time proportional to tokens): balances like the token planner.
  GreedyConfig compute{2, 3, 0, 1.0, [](const std::vector<double>& slots) {
                         double t = 0;
                         for (double x : slots) t += x;
                         return t;
                       }};
  const ReplicaPlan a = greedy_plan(w, compute);
  EXPECT_EQ(a.logcnt[0][0], 2);
  EXPECT_NEAR(gpu_loads(a, w)[0][0], 300, 1.0);
  // Weight-read-bound experts (every replica with tokens costs 1000, tokens cost 1 each): a copy
  // would add a whole weight read to the idle GPU, so the planner keeps the placement.
  GreedyConfig memory{2, 3, 0, 1.0, [](const std::vector<double>& slots) {
                        double t = 0;
                        for (double x : slots) t += x > 0 ? 1000 + x : 0;
                        return t;
                      }};
  const ReplicaPlan b = greedy_plan(w, memory);
  EXPECT_EQ(b.logcnt[0][0], 1);
  EXPECT_EQ(check_plan(b, 4), "");
}

// Found by fuzz_loads (a load of 2.2e69 became +inf in float32 and a full GPU was chosen): loads
// beyond what float32 sums can hold are refused; the largest accepted ones still plan validly.
TEST(Planner, RegressionHugeLoadsAreRefusedOrPlanValidly) {
  const LoadMatrix huge = {
      {5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33}};
  for (int gpus : {2, 4}) {
    const ReplicaPlan p = eplb_plan(huge, EplbConfig{16, 1, 1, gpus, 1});
    EXPECT_EQ(check_plan(p, 12), "") << gpus;
  }
  const LoadMatrix fuzz = {{90, 132, 40, 2.2222444444444444e69, 39, 4, 172, 86, 16, 27}};
  EXPECT_THROW(eplb_plan(fuzz, EplbConfig{12, 1, 1, 2, 1}), llmgps::InputError);
}

// copy_layer keeps log2phy's width DeepSeek's logcnt.max() over the layers it now holds.
TEST(Planner, CopyLayerKeepsTheLog2phyWidth) {
  const LoadMatrix even = {{1, 1, 1, 1}, {1, 1, 1, 1}}, skewed = {{100, 1, 1, 1}, {1, 1, 1, 1}};
  ReplicaPlan a = eplb_plan(even, EplbConfig{8, 1, 1, 4});
  const ReplicaPlan b = eplb_plan(skewed, EplbConfig{8, 1, 1, 4});
  ASSERT_EQ(a.max_logcnt, 2);
  ASSERT_EQ(b.max_logcnt, 5);
  copy_layer(a, b, 0);
  EXPECT_EQ(a.max_logcnt, 5);
  EXPECT_EQ(a.log2phy_nested()[0].front().size(), 5u);
  copy_layer(a, eplb_plan(even, EplbConfig{8, 1, 1, 4}), 0);
  EXPECT_EQ(a.max_logcnt, 2);
  EXPECT_EQ(check_plan(a, 4), "");
}
