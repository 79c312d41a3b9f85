#include "llmgps/specs/model.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"
#include "test_util.hpp"

using namespace llmgps;

TEST(Model, MixtralPreset) {
  ModelSpec m = specs::load_model("mixtral-8x7b");
  EXPECT_EQ(m.layers, 32);
  EXPECT_EQ(m.hidden_size, 4096);
  EXPECT_EQ(m.num_heads, 32);
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_EQ(m.head_dim, 128);
  EXPECT_EQ(m.num_experts, 8);
  EXPECT_EQ(m.top_k, 2);
  EXPECT_EQ(m.moe_ffn_dim, 14336);
  EXPECT_EQ(m.moe_layer_count(), 32);
  EXPECT_NEAR(m.params() / 1e9, 46.7, 0.3);  // Mixtral 8x7B has 46.7B parameters
}

TEST(Model, DenseLlamaParameterCounts) {
  EXPECT_NEAR(specs::load_model("llama2-7b").params() / 1e9, 6.74, 0.05);
  EXPECT_NEAR(specs::load_model("llama3-8b").params() / 1e9, 8.03, 0.05);
  EXPECT_NEAR(specs::load_model("llama2-70b").params() / 1e9, 68.98, 0.2);
  EXPECT_EQ(specs::load_model("llama2-7b").num_experts, 0);
}

TEST(Model, DeepSeekV3FieldNames) {
  ModelSpec m = specs::load_model("deepseek-v3");
  EXPECT_TRUE(m.is_mla());
  EXPECT_EQ(m.num_experts, 256);
  EXPECT_EQ(m.top_k, 8);
  EXPECT_EQ(m.moe_ffn_dim, 2048);
  EXPECT_EQ(m.shared_ffn_dim, 2048);
  EXPECT_EQ(m.head_dim, 192);
  EXPECT_EQ(m.v_head_dim, 128);
  EXPECT_EQ(m.moe_layer_count(), 58);
  EXPECT_FALSE(m.is_moe_layer(2));
  EXPECT_TRUE(m.is_moe_layer(3));
  EXPECT_NEAR(m.params() / 1e9, 671, 10);  // 671B total (without the MTP module)
}

TEST(Model, QwenAndOlmoeFieldNames) {
  ModelSpec q = specs::load_model("qwen1.5-moe-a2.7b");
  EXPECT_EQ(q.num_experts, 60);
  EXPECT_EQ(q.top_k, 4);
  EXPECT_EQ(q.moe_ffn_dim, 1408);
  EXPECT_EQ(q.shared_ffn_dim, 5632);
  EXPECT_NEAR(q.params() / 1e9, 14.3, 0.3);
  ModelSpec o = specs::load_model("olmoe-1b-7b");
  EXPECT_EQ(o.num_experts, 64);
  EXPECT_EQ(o.top_k, 8);
  EXPECT_EQ(o.moe_ffn_dim, 1024);
  EXPECT_NEAR(o.params() / 1e9, 6.9, 0.2);
}

TEST(Model, ConfigFromPathUsesFolderName) {
  test::TempDir d;
  std::filesystem::create_directories(d.path / "tiny");
  test::write_file(d.file("tiny/config.json"),
                   R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                       "num_attention_heads": 4, "vocab_size": 100})");
  ModelSpec m = specs::load_model(d.file("tiny/config.json"));
  EXPECT_EQ(m.name, "tiny");
  EXPECT_EQ(m.num_kv_heads, 4);  // defaults to num_attention_heads
  EXPECT_EQ(m.head_dim, 16);
}

TEST(Model, IncompleteAndMalformedConfigsNameTheField) {
  test::TempDir d;
  test::write_file(d.file("a.json"), R"({"hidden_size": 64, "num_hidden_layers": 2})");
  try {
    specs::load_model(d.file("a.json"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.where().find("num_attention_heads"), std::string::npos);
  }
  test::write_file(d.file("b.json"), R"({"hidden_size": 64,)");
  EXPECT_THROW(specs::load_model(d.file("b.json")), InputError);
  test::write_file(d.file("c.json"),
                   R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 100})");
  EXPECT_THROW(specs::load_model(d.file("c.json")), InputError);  // 3 does not divide 4
  test::write_file(d.file("e.json"),
                   R"({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 4, "vocab_size": 100, "num_local_experts": 4,
      "num_experts_per_tok": 5})");
  EXPECT_THROW(specs::load_model(d.file("e.json")), InputError);  // top-k above experts
  EXPECT_THROW(specs::load_model("gpt-5"), InputError);
}
