// trl/sdk/model/model_config.h: a Hugging Face config.json for the decoder family this SDK implements
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM).
//
// Absent keys take the defaults of the matching transformers config class (they differ per model_type:
// e.g. num_key_value_heads is 8 for Mistral, 32 for Qwen2/Qwen3 and num_attention_heads for Llama; head_dim
// is 128 for Qwen3 and hidden_size / num_attention_heads elsewhere). Keys that would change the math and
// are not implemented are refused with a ModelError naming the key, never silently ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace trl {

/// RoPE frequency scaling (transformers' rope_scaling / rope_parameters). Only the types whose
/// inverse frequencies are a pure function of the config are implemented: "default", "linear", "llama3".
struct RopeScaling {
  std::string rope_type = "default";           ///< "default" (none), "linear" or "llama3"
  double factor = 1.0;                         ///< linear and llama3: the scaling factor
  double low_freq_factor = 1.0;                ///< llama3 only
  double high_freq_factor = 4.0;               ///< llama3 only
  int64_t original_max_position_embeddings = 0;  ///< llama3 only: the pre-scaling context length
};

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
  int64_t num_key_value_heads = 0;     ///< key/value heads (GQA); divides num_attention_heads
  int64_t head_dim = 0;                ///< per-head width (q/k/v projections are heads × head_dim wide)
  double rms_norm_eps = 1e-6;          ///< RMSNorm epsilon
  double rope_theta = 10000.0;         ///< RoPE base
  RopeScaling rope_scaling;            ///< RoPE frequency scaling ("default" = none)
  int64_t max_position_embeddings = 2048;  ///< longest supported sequence
  bool attention_bias = false;         ///< q/k/v projections have biases (Qwen2 always; Llama/Qwen3 per key)
  bool attention_out_bias = false;     ///< o_proj has a bias (Llama/Qwen3 with attention_bias; never Qwen2)
  bool qk_norm = false;                ///< per-head RMSNorm on q and k before RoPE (Qwen3)
  bool tie_word_embeddings = false;    ///< lm_head shares embed_tokens' weight
  /// Sliding-window attention width when some layer uses it (Mistral's sliding_window, Qwen's with
  /// use_sliding_window). Not implemented as a mask: the model refuses a sequence longer than the window,
  /// where full and windowed attention are the same.
  std::optional<int64_t> sliding_window;
  double initializer_range = 0.02;     ///< std of the normal init for random models
  std::optional<int64_t> bos_token_id; ///< from config.json
  std::vector<int64_t> eos_token_ids;  ///< one or several (Llama-3 lists several); may be empty
  std::optional<int64_t> pad_token_id; ///< from config.json; also the embedding's padding_idx (no gradient)
  std::string torch_dtype = "float32"; ///< dtype the weights are stored in ("float32", "bfloat16", "float16")
  nlohmann::json raw = nlohmann::json::object();  ///< the whole file as read

  /// Parses and checks a config.json object; errors are ModelError naming `file` and the key.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& file);
  /// Reads DIR/config.json.
  static ModelConfig load(const std::string& dir);
  /// The config.json object (raw keys updated with the fields above).
  nlohmann::json to_json() const;
  /// Parameter count of the model this config describes (a tied lm_head counted once).
  int64_t num_parameters() const;
};

}  // namespace trl
