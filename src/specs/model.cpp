#include "llmgps/specs/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/json_fields.hpp"
#include "llmgps/specs/presets.hpp"
#include "llmgps/util/suggest.hpp"

namespace llmgps {

using nlohmann::json;
using specs::JsonContext;

bool ModelSpec::is_moe_layer(int layer) const {
  if (num_experts == 0) return false;
  if (layer < first_dense_layers) return false;
  if (std::find(dense_layer_ids.begin(), dense_layer_ids.end(), layer) != dense_layer_ids.end())
    return false;
  return (layer + 1) % moe_layer_step == 0;
}

int ModelSpec::moe_layer_count() const {
  int n = 0;
  for (int l = 0; l < layers; ++l) n += is_moe_layer(l) ? 1 : 0;
  return n;
}

double ModelSpec::attention_params() const {
  const double h = hidden_size;
  if (is_mla()) {
    const double q = q_lora_rank > 0 ? h * q_lora_rank + double(q_lora_rank) * num_heads * head_dim
                                     : h * num_heads * head_dim;
    return q + h * (kv_lora_rank + qk_rope_head_dim) +
           double(kv_lora_rank) * num_heads * (head_dim - qk_rope_head_dim + v_head_dim) +
           double(num_heads) * v_head_dim * h;
  }
  return h * (double(num_heads) * head_dim + 2.0 * num_kv_heads * head_dim) +
         double(num_heads) * head_dim * h;
}

double ModelSpec::dense_ffn_params() const {
  return 3.0 * hidden_size * double(ffn_dim);
}
double ModelSpec::expert_params() const {
  return 3.0 * hidden_size * double(moe_ffn_dim);
}
double ModelSpec::shared_ffn_params() const {
  return 3.0 * hidden_size * double(shared_ffn_dim);
}
double ModelSpec::router_params() const {
  return double(hidden_size) * num_experts;
}
double ModelSpec::norm_params() const {
  return 2.0 * hidden_size;
}
double ModelSpec::embedding_params() const {
  return double(vocab_size) * hidden_size;
}

double ModelSpec::params() const {
  const double moe_ffn = expert_params() * num_experts + shared_ffn_params() + router_params();
  const int moe_layers = moe_layer_count();
  return layers * attention_params() + moe_layers * moe_ffn +
         (layers - moe_layers) * dense_ffn_params() + 2.0 * embedding_params();
}

namespace specs {

namespace {
int first_int(const json& j, std::initializer_list<const char*> names, const JsonContext& ctx,
              int fallback) {
  for (const char* n : names)
    if (auto v = optional_int(j, n, ctx)) return *v;
  return fallback;
}
}  // namespace

ModelSpec model_from_json(const std::string& text, const std::string& file,
                          const std::string& name) {
  json j = parse_json_text(text, file);
  if (!j.is_object()) throw InputError(file, "expected a JSON object (a Hugging Face config.json)");
  JsonContext ctx{file, ""};
  ModelSpec m;
  m.name = name;
  if (const json* t = find_field(j, "model_type"); t && t->is_string())
    m.model_type = t->get<std::string>();
  if (const json* q = find_field(j, "quantization_config"); q && q->is_object())
    if (const json* qm = find_field(*q, "quant_method"); qm && qm->is_string())
      m.fp8_checkpoint = qm->get<std::string>() == "fp8";
  m.layers = positive_int_field(j, "num_hidden_layers", ctx);
  m.hidden_size = positive_int_field(j, "hidden_size", ctx);
  m.num_heads = positive_int_field(j, "num_attention_heads", ctx);
  m.num_kv_heads = first_int(j, {"num_key_value_heads"}, ctx, m.num_heads);
  if (m.num_kv_heads <= 0) throw InputError(ctx.where("num_key_value_heads"), "must be positive");
  if (m.num_heads % m.num_kv_heads != 0)
    throw InputError(ctx.where("num_key_value_heads"),
                     "must divide num_attention_heads (" + std::to_string(m.num_heads) + ")");
  m.vocab_size = positive_int_field(j, "vocab_size", ctx);
  m.ffn_dim = positive_int_field(j, "intermediate_size", ctx);

  // Attention geometry: MLA (DeepSeek) or standard multi-head / grouped-query attention.
  m.kv_lora_rank = first_int(j, {"kv_lora_rank"}, ctx, 0);
  if (m.kv_lora_rank > 0) {
    m.q_lora_rank = first_int(j, {"q_lora_rank"}, ctx, 0);
    m.qk_rope_head_dim = positive_int_field(j, "qk_rope_head_dim", ctx);
    m.head_dim = positive_int_field(j, "qk_nope_head_dim", ctx) + m.qk_rope_head_dim;
    m.v_head_dim = positive_int_field(j, "v_head_dim", ctx);
  } else {
    int derived = m.hidden_size / m.num_heads;
    m.head_dim = first_int(j, {"head_dim"}, ctx, derived);
    if (m.head_dim <= 0) throw InputError(ctx.where("head_dim"), "must be positive");
    if (!find_field(j, "head_dim") && m.hidden_size % m.num_heads != 0)
      throw InputError(ctx.where("num_attention_heads"),
                       "must divide hidden_size when head_dim is absent");
    m.v_head_dim = m.head_dim;
  }

  // Mixture of experts: Mixtral num_local_experts, Qwen/OLMoE num_experts, DeepSeek
  // n_routed_experts.
  m.num_experts = first_int(j, {"num_local_experts", "n_routed_experts", "num_experts"}, ctx, 0);
  if (m.num_experts > 0) {
    m.top_k = positive_int_field(j, "num_experts_per_tok", ctx);
    if (m.top_k > m.num_experts)
      throw InputError(ctx.where("num_experts_per_tok"),
                       "exceeds the number of experts (" + std::to_string(m.num_experts) + ")");
    // Mixtral and OLMoE size experts with intermediate_size; Qwen-MoE and DeepSeek have a separate
    // field.
    m.moe_ffn_dim = first_int(j, {"moe_intermediate_size"}, ctx, m.ffn_dim);
    if (m.moe_ffn_dim <= 0)
      throw InputError(ctx.where("moe_intermediate_size"), "must be positive");
    m.shared_ffn_dim = first_int(j, {"shared_expert_intermediate_size"}, ctx, 0);
    if (int n_shared = first_int(j, {"n_shared_experts"}, ctx, 0); n_shared > 0)
      m.shared_ffn_dim = n_shared * m.moe_ffn_dim;
    m.first_dense_layers = first_int(j, {"first_k_dense_replace"}, ctx, 0);
    m.moe_layer_step = first_int(j, {"decoder_sparse_step", "moe_layer_freq"}, ctx, 1);
    if (m.moe_layer_step <= 0)
      throw InputError(ctx.where("decoder_sparse_step"), "must be positive");
    if (const json* dl = find_field(j, "mlp_only_layers")) {
      if (!dl->is_array())
        throw InputError(ctx.where("mlp_only_layers"), "expected an array of layer ids");
      for (const auto& v : *dl) {
        if (!v.is_number_integer())
          throw InputError(ctx.where("mlp_only_layers"), "expected integers");
        m.dense_layer_ids.push_back(v.get<int>());
      }
    }
    // DeepSeek's group-limited routing: experts in n_group groups, a token's top-k drawn from
    // its topk_group best groups (with groups placed by node, a token reaches few nodes).
    m.expert_groups = first_int(j, {"n_group"}, ctx, 0);
    m.topk_groups = first_int(j, {"topk_group"}, ctx, 0);
    if (m.expert_groups < 0 || (m.expert_groups > 0 && m.num_experts % m.expert_groups != 0))
      throw InputError(ctx.where("n_group"), fmt::format("must divide the {} experts (got {})",
                                                         m.num_experts, m.expert_groups));
    if (m.topk_groups < 0 || m.topk_groups > std::max(m.expert_groups, 0))
      throw InputError(ctx.where("topk_group"), fmt::format("must be in [0, n_group = {}] (got {})",
                                                            m.expert_groups, m.topk_groups));
    if (m.moe_layer_count() == 0) throw InputError(file, "MoE config leaves no MoE layer");
  }
  return m;
}

namespace {
// A model file's name: its config's _name_or_path (the repository, "org/Name" -> "Name"), else
// the folder of a config.json (how Hugging Face stores models), else the file's stem.
std::string model_name_for(const std::string& text, const std::filesystem::path& file) {
  try {
    const json j = json::parse(text);
    if (const json* n = j.is_object() ? find_field(j, "_name_or_path") : nullptr;
        n && n->is_string() && !n->get<std::string>().empty()) {
      std::string name = n->get<std::string>();
      while (!name.empty() && name.back() == '/') name.pop_back();
      const std::size_t slash = name.rfind('/');
      if (!name.empty()) return slash == std::string::npos ? name : name.substr(slash + 1);
    }
  } catch (const json::exception&) {
    // model_from_json reports the parse error with the file's line and column.
  }
  const std::string parent = file.parent_path().filename().string();
  if (file.filename() == "config.json" && !parent.empty() && parent != "." && parent != "..")
    return parent;
  return file.stem().string();
}
}  // namespace

ModelSpec load_model(const std::string& ref) {
  if (!looks_like_path(ref)) {
    // A preset wins over a folder of the same name in the working directory ("./name" or
    // "name/" reaches the folder).
    if (const char* text = find_preset("models", ref))
      return model_from_json(text, "preset '" + ref + "'", ref);
    if (!std::filesystem::exists(ref))
      throw InputError("model", "unknown model preset '" + ref + "'" +
                                    util::did_you_mean(ref, preset_names("models")) +
                                    " (known: " + preset_list("models") + ")");
  }
  // A Hugging Face model folder: its config.json.
  std::filesystem::path file(ref);
  if (std::filesystem::is_directory(file)) {
    file /= "config.json";
    if (!std::filesystem::exists(file))
      throw InputError("model", "folder '" + ref + "' has no config.json");
  }
  const std::string text = read_text_file(file.string());
  return model_from_json(text, file.string(), model_name_for(text, file));
}

std::vector<std::string> model_presets() {
  return preset_names("models");
}

}  // namespace specs
}  // namespace llmgps
