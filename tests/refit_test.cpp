#include "llmgps/calib/refit.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "llmgps/calib/validate.hpp"
#include "llmgps/specs/error.hpp"

using namespace llmgps;
using namespace llmgps::calib;

namespace {

// H100 GEMM rows whose "measurements" are the model's own times with known field values, split
// over two sources: a refit must find the values again and predict each held-out source exactly.
std::vector<Measurement> synthetic_rows(const FitSpec& fit, const std::vector<double>& truth) {
  std::vector<Measurement> rows;
  int line = 2;
  for (const char* dt : {"bf16", "fp8"})
    for (std::int64_t size : {1024, 4096, 8192})
      for (std::int64_t k : {512, 8192}) {
        Measurement m;
        m.file = "synthetic";
        m.line = line++;
        m.kind = MeasurementKind::gemm;
        m.hw = "h100-sxm5";
        m.dtype = dt;
        m.m = size;
        m.n = size;
        m.k = k;
        m.batch = 1;
        m.value = 1;
        m.cls = "gemm-h100-sxm5";
        m.source = std::string(size == 4096 ? "source A" : "source B") + "; table";
        rows.push_back(m);
      }
  const auto scored = score(rows, [&](SystemSpec& s) { fit.apply(s, truth); });
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].value = scored[i].predicted_s * 1e6;
  return rows;
}

}  // namespace

TEST(Refit, RecoversKnownFieldValuesAndPredictsHeldOutSourcesExactly) {
  const FitSpec& fit = fit_spec("hopper-gemm", "--loso");
  const std::vector<double> truth = {0.88, 0.3};
  const LosoReport r = leave_one_source_out(fit, synthetic_rows(fit, truth));
  ASSERT_EQ(r.sources.size(), 2u);
  EXPECT_EQ(r.rows, 12);
  // Within half a percent: the tile search's discrete choices make the error piecewise flat.
  EXPECT_NEAR(r.values[0], truth[0], 5e-3);
  EXPECT_NEAR(r.values[1], truth[1], 5e-2);
  EXPECT_LT(r.median, 1e-3);
  for (const LosoRow& s : r.sources) {
    EXPECT_EQ(s.fit_rows + s.held_rows, 12);
    EXPECT_LT(s.held_median, 2e-3) << s.source;
    EXPECT_NEAR(s.values[0], truth[0], 5e-3) << s.source;
  }
  EXPECT_EQ(r.sources[0].source, "source B");  // first seen; a source ends at its first ';'
}

TEST(Refit, BadRequestsNameTheOption) {
  EXPECT_THROW(fit_spec("gemm-everything", "--loso"), InputError);
  try {
    fit_spec("nope", "--loso");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("hopper-gemm"), std::string::npos);
  }
  const FitSpec& fit = fit_spec("hopper-gemm", "--loso");
  std::vector<Measurement> rows = synthetic_rows(fit, {0.9, 0.5});
  for (auto& m : rows) m.source = "one source";
  EXPECT_THROW(leave_one_source_out(fit, rows), InputError);  // nothing to hold out
  for (auto& m : rows) m.cls = "gemm";
  EXPECT_THROW(leave_one_source_out(fit, rows), InputError);  // no row the fit uses
}

TEST(Refit, NvlsFitUsesOnlyNcclTestsNvlsRows) {
  const FitSpec& fit = fit_spec("nvls", "--loso");
  Measurement m;
  m.kind = MeasurementKind::allreduce;
  m.impl = "nccl-nvls";
  EXPECT_TRUE(fit.fits_on(m));
  m.harness = "python-sync";
  EXPECT_FALSE(fit.fits_on(m));  // Python-timed: a host floor, not the NVLS latency
  m.harness.clear();
  m.source = "NVIDIA/nccl#1259 -G 10 (CUDA graph)";
  EXPECT_FALSE(fit.fits_on(m));  // graph launches skip the launch the latency includes
  m.source.clear();
  m.impl = "nccl";
  EXPECT_FALSE(fit.fits_on(m));
}

// The A100 ring-latency fit sets only the A100's GPU-side step scale, on the 8x A100 nccl-tests
// rows.
TEST(Refit, AmpereRingFitSetsOnlyTheA100sStepLatencyScale) {
  const FitSpec& fit = fit_spec("ampere-ring", "--loso");
  Measurement m;
  m.kind = MeasurementKind::allreduce;
  m.cls = "allreduce-8x-a100-nvlink3";
  EXPECT_TRUE(fit.fits_on(m));
  m.cls = "allreduce-8x-h100-nvlink4";
  EXPECT_FALSE(fit.fits_on(m));
  SystemSpec a100 = specs::load_system("8x-a100-nvlink3");
  const SystemSpec before = a100;
  fit.apply(a100, {2.5});
  EXPECT_DOUBLE_EQ(a100.gpu.collective_step_latency_scale, 2.5);
  // The links keep NCCL's tuning-table latencies: the fitted part belongs to the GPU.
  ASSERT_EQ(a100.intra.protocols.size(), before.intra.protocols.size());
  for (std::size_t i = 0; i < a100.intra.protocols.size(); ++i)
    EXPECT_EQ(a100.intra.protocols[i].step_latency_s, before.intra.protocols[i].step_latency_s);
  SystemSpec h100 = specs::load_system("8x-h100-nvlink4");
  const double scale = h100.gpu.collective_step_latency_scale;
  fit.apply(h100, {2.5});
  EXPECT_EQ(h100.gpu.collective_step_latency_scale, scale);
}
