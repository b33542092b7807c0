// trl/sdk/model/kv_cache.h: the key/value cache for incremental decoding, preallocated for a maximum
// length so the decoding loop does not allocate per token; or growing, for a forward pass in parts
// that autograd differentiates (shared_prefix.h).
//
// Preallocated: per layer, keys and values live in one (B, kv_heads, max_length, head_dim) buffer each;
// a forward call writes its t new positions in place and attends over views of the filled prefix.
// Growing: each forward call concatenates its keys and values to the earlier ones, out of place, so
// the gradient reaches the earlier calls' weights and activations. The padding mask of every filled
// position is kept alongside, so left-padded prompts stay masked while decoding.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include <ATen/core/Tensor.h>

namespace trl {

class CausalLM;

/// Per-layer keys and values of the positions seen so far, for B rows.
class KVCache {
 public:
  /// Room for `max_length` positions of `batch_size` rows of `model`, on its device and dtype.
  KVCache(const CausalLM& model, int64_t batch_size, int64_t max_length);
  /// A growing cache for `batch_size` rows of `model`: no capacity, every step differentiable.
  KVCache(const CausalLM& model, int64_t batch_size);
  ~KVCache();
  KVCache(const KVCache&) = delete;
  KVCache& operator=(const KVCache&) = delete;

  /// Positions filled so far (committed by end_step()).
  int64_t length() const;
  /// Capacity in positions (the largest int64 for a growing cache).
  int64_t max_length() const;
  /// Rows.
  int64_t batch_size() const;
  /// Mask of every position filled so far (B, length) int64: 1 = real token, 0 = padding. Between
  /// begin_step() and end_step() it also covers the step's new positions (B, length + t).
  const at::Tensor& attention_mask() const;

  /// Used by the model: records the mask (B, t) of the t new positions; call before the layers, once per
  /// forward. A step begun and never ended (the forward threw) is discarded by the next begin_step().
  /// Throws InternalError when the step would pass max_length().
  void begin_step(const at::Tensor& new_mask);
  /// Used by the model: writes the step's (B, kv_heads, t, head_dim) keys and values of `layer` in place
  /// and returns views of all keys/values so far (B, kv_heads, length + t, head_dim).
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& keys, const at::Tensor& values);
  /// Used by the model: commits the step's t new positions after all layers appended.
  void end_step();
  /// Keeps only the rows in `index` (int64, on any device), in that order, e.g. to drop finished sequences;
  /// a row may be repeated (a growing cache carries the gradient back to the row it was copied from).
  void select_rows(const at::Tensor& index);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trl
