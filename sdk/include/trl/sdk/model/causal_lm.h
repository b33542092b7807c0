// trl/sdk/model/causal_lm.h: one decoder-only transformer covering the Llama / Mistral / Qwen2 / Qwen3
// family, with Hugging Face tensor names, loaded from and saved to a HF model directory.
//
// The model is plain LibTorch tensors with autograd (no torch::nn), so a trainer can backpropagate
// through hidden_states() and the token statistics (token_stats.h) built on top of it.
// Letters: B rows, T tokens, H hidden size, V vocab size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include "trl/sdk/model/model_config.h"

namespace trl {

class KVCache;

/// Where and in which dtype to materialise a model.
struct ModelOptions {
  c10::Device device = c10::Device(c10::kCPU);   ///< target device
  c10::ScalarType dtype = c10::kFloat;            ///< compute dtype (weights are converted on load)
};

/// A causal language model. Not copyable; clone() makes an independent deep copy.
class CausalLM {
  struct Impl;
  /// The LoRA sources (lora.h) keep their adapters in Impl.
  friend struct CausalLMAccess;
  /// Only CausalLM can make one (explicit: `{}` does not convert), so the constructor stays internal.
  struct Key {
    explicit Key() = default;
  };

 public:
  /// Internal: use from_pretrained(), from_config() or clone().
  CausalLM(Key key, std::unique_ptr<Impl> impl);
  /// Loads DIR/config.json and DIR/model.safetensors (or the shards of model.safetensors.index.json),
  /// converting F32/F16/BF16 weights to options.dtype, and DIR/generation_config.json when present.
  /// Errors are ModelError naming the file and the tensor or key: a missing, unexpected or wrongly shaped
  /// tensor is refused (a tied lm_head.weight and legacy rotary_emb.inv_freq buffers are ignored).
  static std::unique_ptr<CausalLM> from_pretrained(const std::string& dir, const ModelOptions& options = {});
  /// A randomly initialised model (HF's init: normal(0, initializer_range) for linear and embedding
  /// weights, the pad_token_id row of the embedding zeroed as nn.Embedding(padding_idx) does, norms 1,
  /// biases 0), drawn from a CPU generator seeded with `seed` in named_parameters() order.
  static std::unique_ptr<CausalLM> from_config(const ModelConfig& config, uint64_t seed,
                                               const ModelOptions& options = {});
  ~CausalLM();
  CausalLM(const CausalLM&) = delete;
  CausalLM& operator=(const CausalLM&) = delete;

  /// An independent copy of every weight and LoRA adapter (lora.h), same device, dtype and requires_grad.
  std::unique_ptr<CausalLM> clone() const;
  /// Copies every weight from `other` (same config) in place, without gradient tracking.
  void copy_weights_from(const CausalLM& other);

  /// The config this model was built from.
  const ModelConfig& config() const;
  /// generation_config.json as loaded (an object; empty for a model made by from_config).
  const nlohmann::json& generation_config() const;
  /// Replaces the generation_config.json object written by save_pretrained().
  void set_generation_config(nlohmann::json generation_config);
  /// The device the weights live on.
  c10::Device device() const;
  /// The weights' dtype.
  c10::ScalarType dtype() const;

  /// Trainable weights with their HF names, in a fixed order (embed, layers, norm, lm_head if untied).
  const std::vector<std::pair<std::string, at::Tensor>>& named_parameters() const;
  /// The same tensors without names.
  std::vector<at::Tensor> parameters() const;
  /// Turns gradient tracking of every weight on or off (a frozen reference model: off).
  void set_requires_grad(bool requires_grad);

  /// Final-norm hidden states (B, T, H) in the model dtype.
  /// input_ids (B, T) int64; attention_mask (B, T) int64/bool, 1 = real token (undefined = all real);
  /// position_ids (B, T) int64 (undefined = cumulative count of real tokens - 1 clamped at 0, counted over
  /// the cached positions too, so left and right padding leave real tokens' outputs unchanged).
  /// Attention is causal over real keys; a padding query attends to itself only, so its output is finite.
  /// With a cache, the new keys/values are appended and attention covers cached positions too.
  /// Throws ModelError for a token id outside [0, V) or a sequence longer than the sliding window.
  at::Tensor hidden_states(const at::Tensor& input_ids, const at::Tensor& attention_mask = {},
                           const at::Tensor& position_ids = {}, KVCache* cache = nullptr) const;
  /// Logits (..., V) of hidden states (..., H): the lm_head projection. Use token_stats() in training.
  at::Tensor logits(const at::Tensor& hidden) const;
  /// The lm_head weight (V, H) (embed_tokens' weight when tied).
  const at::Tensor& lm_head_weight() const;

  /// Writes config.json (torch_dtype = the weights' dtype), model.safetensors (HF tensor names, tied
  /// lm_head omitted, metadata format=pt) and generation_config.json into `dir` (created if missing).
  /// Writes go to temporaries renamed into place; a stale model.safetensors.index.json is removed.
  void save_pretrained(const std::string& dir) const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace trl
