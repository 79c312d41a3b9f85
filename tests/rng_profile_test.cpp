// data/kernels/rng_mask.json is what scripts/rng-kernel-profile measures on the compiled mask
// kernel: recompiled and compared byte for byte whenever this build uses nvcc, and checked for
// sense everywhere.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace {

const std::string kProfile = "/data/kernels/rng_mask.json";

TEST(RngProfile, CommittedProfileIsTheCompiledKernels) {
  const std::string nvcc = LLMGPS_NVCC;
  if (nvcc.empty()) GTEST_SKIP() << "no CUDA compiler in this build";
  llmgps::test::TempDir d;
  const std::string out = d.file("rng_mask.json");
  const std::string cmd = "NVCC='" + nvcc + "' '" + llmgps::test::source_dir() +
                          "/scripts/rng-kernel-profile' '" + out + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto fresh = nlohmann::json::parse(llmgps::test::slurp(out));
  const auto committed =
      nlohmann::json::parse(llmgps::test::slurp(llmgps::test::source_dir() + kProfile));
  if (fresh["nvcc"] != committed["nvcc"])
    GTEST_SKIP() << "profile committed with nvcc " << committed["nvcc"] << ", this is "
                 << fresh["nvcc"] << ": rerun scripts/rng-kernel-profile and commit";
  EXPECT_EQ(llmgps::test::slurp(out), llmgps::test::slurp(llmgps::test::source_dir() + kProfile))
      << "the kernel changed: rerun scripts/rng-kernel-profile and commit the data";
}

TEST(RngProfile, EveryVariantIsPlausible) {
  const auto j = nlohmann::json::parse(llmgps::test::slurp(llmgps::test::source_dir() + kProfile));
  ASSERT_EQ(j["kind"], "kernel_profile");
  ASSERT_EQ(j["variants"].size(), 8u);  // sm_80 and sm_90, 8 and 32 bits, 7 and 10 rounds
  for (const auto& v : j["variants"]) {
    const int regs = v["registers_per_thread"];
    EXPECT_GT(regs, 0);
    EXPECT_LE(regs, 255);
    double sum = 0;
    for (const auto& [cls, n] : v["ptx_per_element_by_class"].items()) sum += n.get<double>();
    EXPECT_NEAR(sum, v["ptx_instructions_per_element"].get<double>(), 1e-4);
    // Philox4x32-R: 2 high and 2 low multiplies per round per call; a call serves 128 / bits
    // elements. The compiler may hoist loop-invariant multiplies, never add any.
    const double calls_per_element = double(v["bits"].get<int>()) / 128.0;
    const double muls = v["ptx_per_element_by_opcode"].value("mul.hi.u32", 0.0) +
                        v["ptx_per_element_by_opcode"].value("mul.lo.s32", 0.0);
    EXPECT_LE(muls, 4.0 * v["rounds"].get<int>() * calls_per_element + 1e-9);
    EXPECT_GE(muls, 3.0 * v["rounds"].get<int>() * calls_per_element);
  }
}

}  // namespace
