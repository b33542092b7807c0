// The decoder's forward pass: embedding, N × (RMSNorm → attention → residual, RMSNorm → SwiGLU MLP →
// residual), final RMSNorm, and the lm_head projection. Semantics of transformers' LlamaModel /
// Qwen2Model / Qwen3Model / MistralModel; letters as in causal_lm_impl.h.
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "causal_lm_impl.h"
#include "core/kernel_dispatch.h"
#include "decode_kernels.h"
#include "decode_products.h"
#include "lora_impl.h"
#include "rms_norm_kernel.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/kv_cache.h"

namespace trl {
namespace {

/// What every layer of one forward call shares.
struct ForwardContext {
  at::Tensor cos, sin;  // (B, T, 1, D)
  at::Tensor mask;      // (B, 1, T, L) additive
  KVCache* cache = nullptr;
  const LoraAdapters* lora = nullptr;  // adapters to apply (lora.h), null when none or disabled
  bool decode = false;                 // one position per row without autograd: decode_kernels.h

  at::Tensor norm(const at::Tensor& x, const at::Tensor& weight, double eps) const {
    return decode ? decode_rms_norm(x, weight, eps) : rms_norm(x, weight, eps);
  }
  at::Tensor rope(const at::Tensor& x) const { return apply_rope(x, cos, sin); }

  /// A projection with its LoRA adapter if any; a decode step's plain projections take decode_linear().
  at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t layer,
                    LoraModule module) const {
    if (decode && !adapted(layer, module) && use_decode_linear(x, weight)) return decode_linear(x, weight, bias);
    return adapted_linear(x, weight, bias, lora, layer, module);
  }

  /// linear() of one input against several projections (a layer's q/k/v, or gate/up). In a decode step
  /// where each would take decode_linear(), they share one parallel region (decode_linear_many: the same
  /// values, one wake-up of the intra-op threads instead of one per product).
  std::vector<at::Tensor> linears(const at::Tensor& x, const std::vector<at::Tensor>& weights,
                                  const std::vector<at::Tensor>& biases, int64_t layer,
                                  const std::vector<LoraModule>& modules) const {
    bool together = decode;
    for (size_t i = 0; together && i < weights.size(); ++i)
      together = !adapted(layer, modules[i]) && use_decode_linear(x, weights[i]);
    if (together) return decode_linear_many(x, weights, biases);
    std::vector<at::Tensor> outs;
    for (size_t i = 0; i < weights.size(); ++i) outs.push_back(linear(x, weights[i], biases[i], layer, modules[i]));
    return outs;
  }

  bool adapted(int64_t layer, LoraModule module) const {
    return lora != nullptr && lora->layers[static_cast<size_t>(layer)][static_cast<size_t>(module)].A.defined();
  }
};

at::Tensor self_attention(const ModelConfig& c, const LayerWeights& w, int64_t layer, const at::Tensor& h,
                          const ForwardContext& ctx) {
  const int64_t B = h.size(0), T = h.size(1), D = c.head_dim;
  const std::vector<at::Tensor> qkv =
      ctx.linears(h, {w.q_proj, w.k_proj, w.v_proj}, {w.q_bias, w.k_bias, w.v_bias}, layer,
                  {LoraModule::q_proj, LoraModule::k_proj, LoraModule::v_proj});
  at::Tensor q = qkv[0].view({B, T, c.num_attention_heads, D});
  at::Tensor k = qkv[1].view({B, T, c.num_key_value_heads, D});
  at::Tensor v = qkv[2].view({B, T, c.num_key_value_heads, D});
  if (c.qk_norm) {  // Qwen3: per-head RMSNorm before RoPE
    q = ctx.norm(q, w.q_norm, c.rms_norm_eps);
    k = ctx.norm(k, w.k_norm, c.rms_norm_eps);
  }
  q = ctx.rope(q).transpose(1, 2);  // (B, Nq, T, D)
  k = ctx.rope(k).transpose(1, 2);  // (B, Nkv, T, D)
  v = v.transpose(1, 2);            // (B, Nkv, T, D)
  if (ctx.cache != nullptr) std::tie(k, v) = ctx.cache->append(layer, k, v);  // (B, Nkv, L, D)
  // decode_attention() rather than grouped_attention() (LibTorch 2.x: its fused SDPA kernel; 1.13: matmul /
  // softmax / matmul): since the kernel's slices are spread over the intra-op threads, it decoded as fast as SDPA
  // or a little faster on the Intel VM (two interleaved series, per call: large 1.036x and 0.997x at 8 rows,
  // 1.015x and 1.031x at 16, small 1.027x and 1.034x); run on the calling thread it had lost (1.81-1.93 s per
  // call against 1.53-1.70 s; docs/performance.md).
  const at::Tensor attended =
      ctx.decode ? decode_attention(q, k, v, ctx.mask) : grouped_attention(q, k, v, ctx.mask);  // (B, T, Nq·D)
  return ctx.linear(attended, w.o_proj, w.o_bias, layer, LoraModule::o_proj);  // (B, T, H)
}

at::Tensor swiglu_mlp(const LayerWeights& w, const at::Tensor& h, int64_t layer, const ForwardContext& ctx) {
  const std::vector<at::Tensor> gate_up =
      ctx.linears(h, {w.gate_proj, w.up_proj}, {at::Tensor(), at::Tensor()}, layer, {LoraModule::gate_proj, LoraModule::up_proj});
  const at::Tensor &gate = gate_up[0], &up = gate_up[1];
  const at::Tensor activated = ctx.decode ? decode_swiglu(gate, up) : at::silu(gate) * up;
  return ctx.linear(activated, w.down_proj, {}, layer, LoraModule::down_proj);
}

at::Tensor decoder_layer(const ModelConfig& c, const LayerWeights& w, int64_t layer, const at::Tensor& x,
                         const ForwardContext& ctx) {
  const at::Tensor after_attention = x + self_attention(c, w, layer, ctx.norm(x, w.input_norm, c.rms_norm_eps), ctx);
  return after_attention + swiglu_mlp(w, ctx.norm(after_attention, w.post_norm, c.rms_norm_eps), layer, ctx);
}

/// input_ids (B, T) int64 on the model's device, with the mask and position ids of its shape where given.
void check_shapes(c10::Device device, const at::Tensor& ids, const at::Tensor& attention_mask,
                  const at::Tensor& position_ids) {
  TRL_INTERNAL_ASSERT(ids.defined() && ids.dim() == 2 && ids.size(1) > 0,
                      "hidden_states: input_ids must be (B, T) with T > 0");
  TRL_INTERNAL_ASSERT(ids.scalar_type() == at::kLong, "hidden_states: input_ids must be int64");
  TRL_INTERNAL_ASSERT(ids.device() == device, "hidden_states: input_ids must be on the model's device");
  TRL_INTERNAL_ASSERT(!attention_mask.defined() || attention_mask.sizes() == ids.sizes(),
                      "hidden_states: attention_mask must have input_ids' shape (B, T)");
  TRL_INTERNAL_ASSERT(!position_ids.defined() || position_ids.sizes() == ids.sizes(),
                      "hidden_states: position_ids must have input_ids' shape (B, T)");
}

/// Every token id in [0, V): a ModelError naming the model's source otherwise (a min and a max over the ids).
void check_vocabulary(const ModelConfig& config, const std::string& source, const at::Tensor& ids) {
  const int64_t lowest = ids.min().item<int64_t>(), highest = ids.max().item<int64_t>();
  if (lowest < 0 || highest >= config.vocab_size)
    throw ModelError(source, "input_ids: token id " + std::to_string(lowest < 0 ? lowest : highest) +
                                   " is outside the vocabulary [0, " + std::to_string(config.vocab_size) +
                                   ") (does the tokenizer belong to this model?)");
}

}  // namespace

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  if (use_rms_norm_kernel(x, weight)) return rms_norm_kernel(x, weight, eps);
  // transformers normalises in float32 whatever the weights' dtype; float64 stays float64 here.
  const at::Tensor xf = x.to(at::promote_types(at::kFloat, x.scalar_type()));
  const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

namespace {

/// hidden_states() of input_ids whose token embeddings `x` (B, T, H) are already looked up.
at::Tensor decoder_stack(const CausalLMAccess::Impl& m, const at::Tensor& input_ids, at::Tensor x,
                         const at::Tensor& attention_mask, const at::Tensor& position_ids, KVCache* cache) {
  const ModelConfig& c = m.config;
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  const at::Tensor real = attention_mask.defined() ? attention_mask.to(at::kBool)
                                                   : at::ones({B, T}, input_ids.options().dtype(at::kBool));

  int64_t offset = 0;
  at::Tensor key_mask = real;  // (B, L)
  if (cache != nullptr) {
    TRL_INTERNAL_ASSERT(cache->batch_size() == B, "hidden_states: the cache holds a different number of rows");
    offset = cache->length();
    cache->begin_step(real);
    key_mask = cache->attention_mask().to(at::kBool);
  }
  const int64_t L = offset + T;
  if (c.sliding_window && L > *c.sliding_window)
    throw ModelError(m.source, "sliding_window: " + std::to_string(*c.sliding_window) +
                                   " is shorter than this sequence (" + std::to_string(L) +
                                   " positions); sliding-window attention is not implemented");

  ForwardContext ctx;
  ctx.cache = cache;
  ctx.lora = active_lora(m);
  const at::Tensor positions =
      position_ids.defined() ? position_ids
                             : key_mask.to(at::kLong).cumsum(1).narrow(1, offset, T).sub(1).clamp_min(0);  // (B, T)
  std::tie(ctx.cos, ctx.sin) = rope_cos_sin(m.inv_freq, positions, m.dtype);
  ctx.mask = attention_bias_mask(key_mask, offset, T, m.dtype);

  ctx.decode = use_decode_kernels(x);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) x = decoder_layer(c, m.weights.layers[i], i, x, ctx);
  if (cache != nullptr) cache->end_step();
  return ctx.norm(x, m.weights.norm, c.rms_norm_eps);
}

/// The embedding lookup: padding_idx as nn.Embedding(padding_idx=pad_token_id), so that row gets no gradient,
/// as in transformers.
at::Tensor lookup(const CausalLMAccess::Impl& m, const at::Tensor& ids) {
  return at::embedding(m.weights.embed, ids, m.config.pad_token_id.value_or(-1));
}

}  // namespace

at::Tensor CausalLM::hidden_states(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                   const at::Tensor& position_ids, KVCache* cache) const {
  const Impl& m = *impl_;
  check_shapes(m.device, input_ids, attention_mask, position_ids);
  check_vocabulary(m.config, m.source, input_ids);
  return decoder_stack(m, input_ids, lookup(m, input_ids), attention_mask, position_ids, cache);  // x: (B, T, H)
}

at::Tensor embed_tokens(const CausalLM& model, const at::Tensor& ids) {
  const CausalLMAccess::Impl& m = CausalLMAccess::impl(model);
  check_shapes(m.device, ids, {}, {});
  check_vocabulary(m.config, m.source, ids);
  return lookup(m, ids);
}

at::Tensor hidden_states_of_embeddings(const CausalLM& model, const at::Tensor& input_ids, const at::Tensor& embedded,
                                       const at::Tensor& attention_mask, KVCache* cache) {
  const CausalLMAccess::Impl& m = CausalLMAccess::impl(model);
  check_shapes(m.device, input_ids, attention_mask, {});  // the ids' vocabulary was checked by embed_tokens()
  TRL_INTERNAL_ASSERT(embedded.dim() == 3 && embedded.size(0) == input_ids.size(0) &&
                          embedded.size(1) == input_ids.size(1) && embedded.size(2) == m.config.hidden_size,
                      "hidden_states: the embeddings must be (B, T, H) for input_ids (B, T)");
  return decoder_stack(m, input_ids, embedded, attention_mask, {}, cache);
}

at::Tensor CausalLM::logits(const at::Tensor& hidden) const {
  const at::Tensor& head = impl_->weights.lm_head;
  return use_decode_linear(hidden, head) ? decode_linear(hidden, head) : at::linear(hidden, head);
}

}  // namespace trl
