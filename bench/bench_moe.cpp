// MoE-GPS speed: EPLB planning at DeepSeek-V3 shape (DeepSeek's Python rebalance_experts takes
// about 0.5 s per call on one core, per ../shared/docs/papers.md; it is not runnable here without
// PyTorch, so the figure is quoted, not a same-process peer), and routing-trace ingestion.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "llmgps/moe/planner.hpp"
#include "llmgps/moe/trace.hpp"
#include "llmgps/moe/trace_stats.hpp"

using namespace llmgps::moe;

static LoadMatrix deepseek_loads() {
  std::mt19937 rng(42);
  std::lognormal_distribution<double> d(0.0, 0.8);  // skewed expert popularity
  LoadMatrix w(58, std::vector<double>(256));
  for (auto& row : w)
    for (double& x : row) x = std::floor(1000 * d(rng));
  return w;
}

// Argument: threads (1: one core; 0: all cores). The peer, DeepSeek's Python, is timed in one
// process with the drop-in by bench/python/bench_python.py.
static void BM_EplbDeepSeekV3(benchmark::State& state) {
  const LoadMatrix w = deepseek_loads();
  const int threads = int(state.range(0));
  double bal = 0;
  for (auto _ : state) {
    const ReplicaPlan p = eplb_plan(w, EplbConfig{288, 8, 4, 32, threads});
    benchmark::DoNotOptimize(p.phy2log.data());
  }
  bal = balancedness(eplb_plan(w, EplbConfig{288, 8, 4, 32}), w);
  state.counters["balancedness"] = bal;
  state.counters["balancedness_no_replicas"] = balancedness(contiguous_plan(58, 256, 32), w);
}
// Repeated, with the fastest repetition reported beside mean and median: on a shared VM the
// mean carries other tenants' time (this machine shows ~30% steal), the minimum is the planner's.
BENCHMARK(BM_EplbDeepSeekV3)
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->Repetitions(9)
    ->ComputeStatistics("min", [](const std::vector<double>& v) {
      return *std::min_element(v.begin(), v.end());
    });

static void BM_GreedyDeepSeekV3(benchmark::State& state) {
  const LoadMatrix w = deepseek_loads();
  double bal = 0;
  for (auto _ : state) {
    const ReplicaPlan p = greedy_plan(w, GreedyConfig{32, 9, 0, 1.0, {}});
    benchmark::DoNotOptimize(p.phy2log.data());
  }
  bal = balancedness(greedy_plan(w, GreedyConfig{32, 9, 0, 1.0, {}}), w);
  state.counters["balancedness"] = bal;
}
BENCHMARK(BM_GreedyDeepSeekV3)->Unit(benchmark::kMicrosecond);

static std::string synthetic_jsonl(std::size_t tokens) {
  std::string s;
  std::mt19937 rng(1);
  for (std::size_t t = 0; t < tokens; ++t)
    for (int l = 0; l < 32; ++l) {
      const int a = int(rng() % 8), b = (a + 1 + int(rng() % 7)) % 8;
      s += "{\"dataset\": \"gsm8k\", \"problem_id\": " + std::to_string(t / 512) +
           ", \"layer\": " + std::to_string(l) + ", \"experts\": [" + std::to_string(a) + ", " +
           std::to_string(b) +
           "], \"gating_probs\": [0.6011254191398621, 0.3988746404647827], \"token_idx\": " +
           std::to_string(t % 512) + "}\n";
    }
  return s;
}

static void BM_TraceIngest(benchmark::State& state) {
  const std::string text = synthetic_jsonl(20000);  // 640k records, Mixtral record shape
  for (auto _ : state) {
    const RoutingTrace tr = parse_trace(text, "bench.jsonl");
    benchmark::DoNotOptimize(tr.routes.data());
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
}
BENCHMARK(BM_TraceIngest)->Unit(benchmark::kMillisecond);

// Streaming statistics from a file (~360 MB, Mixtral record shape, written once to the temporary
// folder): throughput on one core and the process's peak RSS (the generated text, ~360 MB, is
// counted in it; the stream adds about 20 MB). The peer: a plain Python loop (json.loads per line,
// per-layer expert counts) over the same file, run once from this benchmark, timed from here.
static const std::string& bench_trace_file() {
  static const std::string path = [] {
    const std::string p =
        (std::filesystem::temp_directory_path() / "llmgps-bench-trace.jsonl").string();
    const std::string text = synthetic_jsonl(4 * 20000);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }();
  return path;
}

static double python_loop_s(const std::string& path) {
  const char* py = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const std::string cmd = std::string(py) +
                          " -c \"import json,sys\n"
                          "c={}\n"
                          "for line in open(sys.argv[1]):\n"
                          "  r=json.loads(line); row=c.setdefault(r['layer'],{})\n"
                          "  for e in r['experts']: row[e]=row.get(e,0)+1\n"
                          "\" " +
                          path + " >/dev/null 2>&1";
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = std::system(cmd.c_str());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rc == 0 ? s : -1.0;
}

static void BM_TraceStreamStats(benchmark::State& state) {
  const std::string& path = bench_trace_file();
  const double bytes = double(std::filesystem::file_size(path));
  double total_s = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(stream_trace_stats(path, 512));
    total_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(bytes));
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  state.counters["peak_rss_mb"] = double(u.ru_maxrss) / 1024.0;
  state.counters["trace_mb"] = bytes / (1 << 20);
  const double ours_s = total_s / double(state.iterations());
  const double python_s = python_loop_s(path);
  if (python_s > 0) {
    state.counters["python_mb_per_s"] = bytes / 1e6 / python_s;
    state.counters["speedup_vs_python"] = python_s / ours_s;
  }
}
BENCHMARK(BM_TraceStreamStats)->Unit(benchmark::kMillisecond)->Iterations(3);
