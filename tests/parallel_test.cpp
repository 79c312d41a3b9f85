#include "llmgps/util/parallel.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using llmgps::util::hardware_threads;
using llmgps::util::parallel_for;

TEST(Parallel, HardwareThreadsIsPositive) {
  EXPECT_GE(hardware_threads(), 1);
}

TEST(Parallel, EveryTaskRunsExactlyOnce) {
  for (int threads : {0, 1, 2, 3, 16})
    for (int tasks : {0, 1, 2, 7, 100}) {
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(tasks));
      parallel_for(tasks, threads, [&](int i) { runs[std::size_t(i)].fetch_add(1); });
      for (int i = 0; i < tasks; ++i)
        EXPECT_EQ(runs[std::size_t(i)].load(), 1) << "task " << i << " threads " << threads;
    }
}

TEST(Parallel, RethrowsTheFirstErrorAfterRunningEveryTask) {
  for (int threads : {1, 2}) {
    std::atomic<int> ran{0};
    EXPECT_THROW(parallel_for(8, threads,
                              [&](int i) {
                                ran.fetch_add(1);
                                if (i % 3 == 1) throw std::runtime_error("task failed");
                              }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 8) << threads << " threads";
  }
}

// Several callers at once: one gets the workers, the others run their tasks themselves; each
// still runs all of its own tasks, and only its own.
TEST(Parallel, ConcurrentCallersEachRunTheirOwnTasks) {
  constexpr int kCallers = 4, kTasks = 50, kRounds = 200;
  std::vector<std::atomic<long>> sums(kCallers);
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (int r = 0; r < kRounds; ++r)
        parallel_for(kTasks, 0, [&](int i) { sums[std::size_t(c)].fetch_add(i + 1); });
    });
  for (auto& t : callers) t.join();
  for (int c = 0; c < kCallers; ++c)
    EXPECT_EQ(sums[std::size_t(c)].load(), long(kRounds) * kTasks * (kTasks + 1) / 2);
}

// A child after fork has none of the parent's workers; it must start its own, not wait forever.
TEST(Parallel, WorksInAForkedChild) {
  parallel_for(4, 0, [](int) {});  // the parent's workers exist before the fork
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::atomic<int> ran{0};
    parallel_for(64, 0, [&](int) { ran.fetch_add(1); });
    _exit(ran.load() == 64 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// A task that calls parallel_for runs the inner loop itself (the pool is busy with the outer
// job): every inner task still runs exactly once, and nothing deadlocks.
TEST(Parallel, NestedCallsRunInline) {
  std::vector<std::atomic<int>> runs(64);
  parallel_for(8, 0, [&](int i) {
    parallel_for(8, 0, [&](int j) { runs[std::size_t(i * 8 + j)].fetch_add(1); });
  });
  for (const auto& r : runs) EXPECT_EQ(r.load(), 1);
}

// Back-to-back small jobs (the pattern that let a late worker slip into a finished job).
TEST(Parallel, ManySmallJobsBackToBack) {
  std::atomic<long> sum{0};
  for (int round = 0; round < 20000; ++round)
    parallel_for(2, 2, [&](int i) { sum.fetch_add(i + 1); });
  EXPECT_EQ(sum.load(), 20000L * 3);
}
