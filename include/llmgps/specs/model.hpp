#pragma once
// Model specs: read from a Hugging Face config.json (Llama-style dense, Mixtral, Qwen-MoE, OLMoE,
// DeepSeek-V3 field names) or a built-in preset (data/models/NAME.json, which are such files).
#include <string>
#include <vector>

namespace llmgps {

struct ModelSpec {
  std::string name;
  std::string model_type;
  int layers = 0;
  int hidden_size = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;    // query/key head dim (MLA: nope + rope)
  int v_head_dim = 0;  // value head dim (= head_dim except MLA)
  int ffn_dim = 0;     // dense FFN intermediate size (dense layers)
  int vocab_size = 0;

  // Mixture of experts (num_experts == 0: dense model).
  int num_experts = 0;
  int top_k = 0;
  int moe_ffn_dim = 0;         // per-expert intermediate size
  int shared_ffn_dim = 0;      // total intermediate size of always-on shared experts (0: none)
  int first_dense_layers = 0;  // DeepSeek first_k_dense_replace
  int moe_layer_step = 1;      // Qwen decoder_sparse_step
  std::vector<int> dense_layer_ids;  // Qwen mlp_only_layers
  int expert_groups = 0;             // DeepSeek n_group (0: no group-limited routing)
  int topk_groups = 0;               // DeepSeek topk_group: groups a token's experts come from

  // Multi-head latent attention (DeepSeek); 0 = standard (GQA/MHA) attention.
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_rope_head_dim = 0;

  // Shipped as an FP8 checkpoint (config quantization_config.quant_method "fp8", DeepSeek-V3's):
  // FP8 is then its typical dtype where the GPU has it (default_dtype).
  bool fp8_checkpoint = false;

  bool is_moe() const { return num_experts > 0; }
  bool is_mla() const { return kv_lora_rank > 0; }
  bool is_moe_layer(int layer) const;
  int moe_layer_count() const;
  double params() const;  // parameter count (weights): the parts below over the layers
  // Parameter counts by part.
  double attention_params() const;   // one layer's attention projections
  double dense_ffn_params() const;   // one dense layer's gated FFN
  double expert_params() const;      // one routed expert's gated FFN
  double shared_ffn_params() const;  // one MoE layer's shared experts
  double router_params() const;      // one MoE layer's gate
  double norm_params() const;        // one layer's two RMSNorm weights
  double embedding_params() const;   // the input embedding (the LM head holds as many)
};

namespace specs {
ModelSpec load_model(const std::string& ref);  // preset name or path to config.json
ModelSpec model_from_json(const std::string& text, const std::string& file,
                          const std::string& name);
std::vector<std::string> model_presets();
}  // namespace specs
}  // namespace llmgps
