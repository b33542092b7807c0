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
 public:
  /// Loads DIR/config.json and DIR/model.safetensors (or the shards of model.safetensors.index.json).
  /// Errors are ModelError naming the file and the tensor or key.
  static std::unique_ptr<CausalLM> from_pretrained(const std::string& dir, const ModelOptions& options = {});
  /// A randomly initialised model (HF's init: normal(0, initializer_range), norms 1, biases 0), seeded.
  static std::unique_ptr<CausalLM> from_config(const ModelConfig& config, uint64_t seed,
                                               const ModelOptions& options = {});
  ~CausalLM();
  CausalLM(const CausalLM&) = delete;
  CausalLM& operator=(const CausalLM&) = delete;

  /// An independent copy of every weight, same device and dtype, requires_grad as in this model.
  std::unique_ptr<CausalLM> clone() const;
  /// Copies every weight from `other` (same config) in place, without gradient tracking.
  void copy_weights_from(const CausalLM& other);

  /// The config this model was built from.
  const ModelConfig& config() const;
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
  /// position_ids (B, T) int64 (undefined = cumulative count of real tokens - 1, so left padding works).
  /// With a cache, the new keys/values are appended and attention covers cached positions too.
  at::Tensor hidden_states(const at::Tensor& input_ids, const at::Tensor& attention_mask = {},
                           const at::Tensor& position_ids = {}, KVCache* cache = nullptr) const;
  /// Logits (..., V) of hidden states (..., H): the lm_head projection. Use token_stats() in training.
  at::Tensor logits(const at::Tensor& hidden) const;
  /// The lm_head weight (V, H) (embed_tokens' weight when tied).
  const at::Tensor& lm_head_weight() const;

  /// Writes config.json, model.safetensors (HF tensor names, tied lm_head omitted) and
  /// generation_config.json into `dir` (created if missing). Writes go to temporaries renamed into place.
  void save_pretrained(const std::string& dir) const;

 private:
  struct Impl;
  explicit CausalLM(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trl
