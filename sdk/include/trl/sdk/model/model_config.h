// trl/sdk/model/model_config.h: a Hugging Face config.json for the decoder family this SDK implements
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trl {

/// The decoder's shape and switches, read from config.json. Unknown keys are kept in `raw` and
/// written back on save; keys that would change the math and are not implemented are refused.
struct ModelConfig {
  std::string architecture;            ///< "Qwen2ForCausalLM", "LlamaForCausalLM", ... (architectures[0])
  std::string model_type;              ///< "qwen2", "llama", "qwen3", "mistral"
  int64_t vocab_size = 0;              ///< V
  int64_t hidden_size = 0;             ///< H
  int64_t intermediate_size = 0;       ///< MLP width
  int64_t num_hidden_layers = 0;       ///< decoder layers
  int64_t num_attention_heads = 0;     ///< query heads
  int64_t num_key_value_heads = 0;     ///< key/value heads (GQA); defaults to num_attention_heads
  int64_t head_dim = 0;                ///< per-head width; defaults to hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;          ///< RMSNorm epsilon
  double rope_theta = 10000.0;         ///< RoPE base
  int64_t max_position_embeddings = 2048;  ///< longest supported sequence
  bool attention_bias = false;         ///< q/k/v projections have biases (Qwen2: true)
  bool qk_norm = false;                ///< per-head RMSNorm on q and k (Qwen3)
  bool tie_word_embeddings = false;    ///< lm_head shares embed_tokens' weight
  std::optional<int64_t> sliding_window;  ///< Mistral/Qwen sliding window, if enabled (refused unless >= sequence)
  double initializer_range = 0.02;     ///< std of the normal init for random models
  std::optional<int64_t> bos_token_id; ///< from config.json
  std::vector<int64_t> eos_token_ids;  ///< one or several (Llama-3 lists several)
  std::optional<int64_t> pad_token_id; ///< from config.json
  std::string torch_dtype = "float32"; ///< dtype the weights are stored in
  nlohmann::json raw = nlohmann::json::object();  ///< the whole file as read

  /// Parses and checks a config.json object; errors are ModelError naming `file` and the key.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& file);
  /// Reads DIR/config.json.
  static ModelConfig load(const std::string& dir);
  /// The config.json object (raw keys updated with the fields above).
  nlohmann::json to_json() const;
  /// Parameter count of the model this config describes.
  int64_t num_parameters() const;
};

}  // namespace trl
