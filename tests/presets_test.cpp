#include "llmgps/specs/presets.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "llmgps/specs/json_fields.hpp"

using namespace llmgps::specs;

TEST(Presets, IssueListedPresetsAreCompiledIn) {
  auto hw = preset_names("hw");
  for (const char* n :
       {"a100-sxm4-80g", "h100-sxm5", "h200-sxm", "nvlink3", "nvlink4", "pcie4", "4x-a100-nvlink3"})
    EXPECT_NE(std::find(hw.begin(), hw.end(), n), hw.end()) << n;
  auto models = preset_names("models");
  for (const char* n : {"mixtral-8x7b", "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b",
                        "llama3-70b", "qwen1.5-moe-a2.7b", "olmoe-1b-7b", "deepseek-v3"})
    EXPECT_NE(std::find(models.begin(), models.end(), n), models.end()) << n;
}

TEST(Presets, UnknownNameGivesNull) {
  EXPECT_EQ(find_preset("hw", "tpu-v5"), nullptr);
}

TEST(Presets, EveryGpuAndLinkNumberCarriesItsSource) {
  for (const auto& p : embedded_presets()) {
    if (std::string(p.kind) != "hw") continue;
    auto j = parse_json_text(p.json, p.name);
    if (j["kind"] == "system")
      continue;  // counts of GPUs and nodes define a system; nothing to source
    std::string missing;
    EXPECT_TRUE(all_numbers_sourced(j, missing)) << p.name << ": " << missing;
  }
}
