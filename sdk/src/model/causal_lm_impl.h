// Private to the model sources: the weights of a CausalLM and the pieces of its forward pass.
// Letters: B rows, T new tokens, L attended positions (cached + new), H hidden, D head_dim,
// Nq query heads, Nkv key/value heads, G = Nq / Nkv, I intermediate, V vocab.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trl/sdk/model/causal_lm.h"

namespace trl {

/// One decoder layer's weights, HF layout (Linear weights are (out, in)). Optional ones are undefined.
struct LayerWeights {
  at::Tensor q_proj, q_bias;    ///< (Nq·D, H), (Nq·D)
  at::Tensor k_proj, k_bias;    ///< (Nkv·D, H), (Nkv·D)
  at::Tensor v_proj, v_bias;    ///< (Nkv·D, H), (Nkv·D)
  at::Tensor o_proj, o_bias;    ///< (H, Nq·D), (H)
  at::Tensor q_norm, k_norm;    ///< (D) Qwen3 only
  at::Tensor gate_proj;         ///< (I, H)
  at::Tensor up_proj;           ///< (I, H)
  at::Tensor down_proj;         ///< (H, I)
  at::Tensor input_norm;        ///< (H) input_layernorm
  at::Tensor post_norm;         ///< (H) post_attention_layernorm
};

/// How from_config() initialises a tensor (transformers' _init_weights).
enum class InitKind { normal, zeros, ones };

/// Every weight of the model; lm_head aliases embed when tied.
struct ModelWeights {
  at::Tensor embed;                  ///< (V, H) model.embed_tokens.weight
  std::vector<LayerWeights> layers;  ///< num_hidden_layers
  at::Tensor norm;                   ///< (H) model.norm.weight
  at::Tensor lm_head;                ///< (V, H) lm_head.weight, or embed when tied
};

/// Calls `visit(name, tensor slot, shape, init)` for every stored weight in transformers'
/// named_parameters() order (a tied lm_head is not visited), then aliases lm_head when tied.
using WeightVisitor =
    std::function<void(const std::string& name, at::Tensor& slot, const std::vector<int64_t>& shape, InitKind init)>;
void visit_weights(const ModelConfig& config, ModelWeights& weights, const WeightVisitor& visit);

struct LoraAdapters;  // lora_impl.h

struct CausalLM::Impl {
  ModelConfig config;
  c10::Device device = c10::Device(c10::kCPU);
  c10::ScalarType dtype = c10::kFloat;
  ModelWeights weights;
  std::vector<std::pair<std::string, at::Tensor>> named;  ///< the same tensors, named, in visit order
  at::Tensor inv_freq;                                    ///< (D/2) float32 RoPE inverse frequencies, on device
  nlohmann::json generation_config = nlohmann::json::object();
  std::string source;                                     ///< config.json path, or "config" when built in code
  std::shared_ptr<LoraAdapters> lora;                     ///< LoRA adapters (lora.h), or null

  /// Fills `named` and `inv_freq` once `weights` are set.
  void finish();
};

/// The token embeddings (B, T, H) of ids (B, T), looked up as hidden_states() looks them up (ids checked the
/// same way). One lookup of several id tensors, concatenated, gives the (V, H) table one dense gradient instead
/// of one per lookup (shared_prefix.cpp: the prompt and completion parts of a shared-prefix forward).
at::Tensor embed_tokens(const CausalLM& model, const at::Tensor& ids);

/// CausalLM::hidden_states() (default positions) of input_ids (B, T) whose embeddings (B, T, H) came from
/// embed_tokens().
at::Tensor hidden_states_of_embeddings(const CausalLM& model, const at::Tensor& input_ids, const at::Tensor& embedded,
                                       const at::Tensor& attention_mask, KVCache* cache);

/// Llama-style RMSNorm over the last dim: computed in float32, cast back, then scaled (transformers'
/// LlamaRMSNorm / Qwen2RMSNorm). x (..., N), weight (N). float32 on the CPU takes rms_norm_kernel.h.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// RoPE inverse frequencies (D/2) float32 for the config's theta and scaling (transformers'
/// modeling_rope_utils: default, linear, llama3), computed with the same float32 operations.
at::Tensor rope_inverse_frequencies(const ModelConfig& config);

/// cos and sin (B, T, 1, D) in `dtype` for positions (B, T) int64: freqs = pos × inv_freq, duplicated
/// as cat(freqs, freqs) (transformers' rotate_half convention).
std::pair<at::Tensor, at::Tensor> rope_cos_sin(const at::Tensor& inv_freq, const at::Tensor& positions,
                                               c10::ScalarType dtype);

/// x·cos + rotate_half(x)·sin for x (B, T, heads, D), rotate_half(x) = cat(-x2, x1). Float32 on the CPU: the
/// same values in one pass each way (rope_kernel.h), training and decode steps alike.
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/// Additive attention mask (B, 1, T, L) in `dtype`: 0 where query t (absolute position offset + t) may
/// attend key l (l <= offset + t and key l is real), -inf elsewhere; a query always sees itself, so a
/// padding query's row is never all -inf. key_mask (B, L) bool.
at::Tensor attention_bias_mask(const at::Tensor& key_mask, int64_t offset, int64_t T, c10::ScalarType dtype);

/// Grouped-query attention without repeating keys/values: q (B, Nq, T, D), k and v (B, Nkv, L, D),
/// mask (B, 1, T, L) additive. Softmax in float32 as transformers' eager attention. Returns (B, T, Nq·D).
at::Tensor grouped_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

/// softmax(q kᵀ + mask) v for float32 on the CPU, computed per (row, key/value head) slice on ATen's
/// intra-op threads with a backward pass of its own (sliced_attention.cpp says why): q (B, Nkv, G·T, D)
/// already scaled, the G query heads of one key/value head stacked by rows; k and v (B, Nkv, L, D);
/// mask (B, 1, T, L) additive. Returns (B, Nkv, G·T, D).
at::Tensor sliced_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

/// Dtype name as config.json's torch_dtype spells it ("float32", "bfloat16", ...).
std::string dtype_name(c10::ScalarType dtype);

}  // namespace trl
