// Dropout-mask generation on the CPU against its named peer: the same mask produced with
// Random123's scalar Philox4x32-10 (one call per 4 or 16 elements, scalar thresholding). Both run
// in this process; the llmgps benchmark reports the ratio.
#include <Random123/philox.h>
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "llmgps/dropout/mask.hpp"

using namespace llmgps;
using namespace llmgps::dropout;

namespace {

const MaskShape kShape{1, 16, 1024, 1024};  // one layer's attention probabilities for 16 heads

std::vector<std::uint32_t> random123_mask(const MaskShape& s, const DropoutRng& r) {
  const std::int64_t t = keep_threshold(r);
  const int per_call = elements_per_call(r.bits);
  std::vector<std::uint32_t> mask(std::size_t(s.words()), 0u);
  r123::Philox4x32_R<10> gen;
  const r123::Philox4x32_R<10>::key_type key = {
      {std::uint32_t(r.seed), std::uint32_t(r.seed >> 32)}};
  const std::int64_t n = s.elements();
  for (std::int64_t call = 0; call * per_call < n; ++call) {
    const r123::Philox4x32_R<10>::ctr_type c = {
        {std::uint32_t(call), std::uint32_t(std::uint64_t(call) >> 32), std::uint32_t(r.offset),
         std::uint32_t(r.offset >> 32)}};
    const auto out = gen(c, key);
    for (int lane = 0; lane < per_call && call * per_call + lane < n; ++lane) {
      const std::uint32_t v =
          r.bits == 32 ? out.v[lane] : (out.v[lane / 4] >> (8 * (lane % 4))) & 0xFFu;
      const std::int64_t e = call * per_call + lane;
      if (std::int64_t(v) <= t) mask[std::size_t(e / 32)] |= 1u << (e % 32);
    }
  }
  return mask;
}

DropoutRng rng_for(int bits) {
  return DropoutRng{1234, 0, 0.1, bits, 10};
}

void BM_MaskRandom123Scalar(benchmark::State& state) {
  const DropoutRng r = rng_for(int(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(random123_mask(kShape, r).data());
  state.SetItemsProcessed(state.iterations() * kShape.elements());
}
BENCHMARK(BM_MaskRandom123Scalar)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond);

// Arguments: random bits per element, threads (0: all cores), path (0 best, 1 scalar, 2 AVX2,
// 3 AVX-512F; a path the CPU lacks is skipped, not silently replaced).
void BM_MaskLlmgps(benchmark::State& state) {
  const DropoutRng r = rng_for(int(state.range(0)));
  const int threads = int(state.range(1));
  const philox::Impl paths[] = {philox::Impl::best, philox::Impl::scalar, philox::Impl::avx2,
                                philox::Impl::avx512};
  const philox::Impl impl = paths[state.range(2)];
  if (impl != philox::Impl::best && philox::resolve(impl) != impl) {
    state.SkipWithError((std::string("this CPU has no ") + philox::impl_name(impl)).c_str());
    return;
  }
  state.SetLabel(philox::impl_name(philox::resolve(impl)));
  const auto t0 = std::chrono::steady_clock::now();
  const auto peer = random123_mask(kShape, r);
  const double peer_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::uint32_t> ours;
  for (auto _ : state) {
    ours = generate_mask(kShape, r, threads, impl);
    benchmark::DoNotOptimize(ours.data());
  }
  if (ours != peer) state.SkipWithError("mask differs from the Random123 peer");
  state.SetItemsProcessed(state.iterations() * kShape.elements());
  // Time per iteration of ours vs the peer's one run: speedup over Random123's scalar Philox.
  state.counters["random123_s"] = peer_s;
  state.counters["speedup_vs_random123"] =
      benchmark::Counter(peer_s * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MaskLlmgps)
    ->Args({8, 1, 1})
    ->Args({32, 1, 1})
    ->Args({8, 1, 2})
    ->Args({32, 1, 2})
    ->Args({8, 1, 3})
    ->Args({32, 1, 3})
    ->Args({8, 0, 0})
    ->Args({32, 0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
