// trl/sdk/model/kv_cache.h: the key/value cache for incremental decoding, preallocated for a maximum
// length so the decoding loop does not allocate per token.
#pragma once

#include <cstdint>
#include <memory>

#include <ATen/core/Tensor.h>

namespace trl {

class CausalLM;

/// Per-layer keys and values of the positions seen so far, for B rows.
class KVCache {
 public:
  /// Room for `max_length` positions of `batch_size` rows of `model`, on its device and dtype.
  KVCache(const CausalLM& model, int64_t batch_size, int64_t max_length);
  ~KVCache();
  KVCache(const KVCache&) = delete;
  KVCache& operator=(const KVCache&) = delete;

  /// Positions filled so far.
  int64_t length() const;
  /// Capacity in positions.
  int64_t max_length() const;
  /// Rows.
  int64_t batch_size() const;
  /// Mask of every position filled so far (B, length) int64: 1 = real token, 0 = padding.
  const at::Tensor& attention_mask() const;

  /// Used by the model: appends (B, heads, t, head_dim) keys and values of `layer` and returns views of
  /// all keys/values so far (B, heads, length + t, head_dim). `new_mask` (B, t) is appended once per call
  /// sequence, by layer 0.
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& keys, const at::Tensor& values);
  /// Used by the model: records the mask of the t new positions; call before the layers, once per forward.
  void begin_step(const at::Tensor& new_mask);
  /// Used by the model: commits the t new positions after all layers appended.
  void end_step();
  /// Keeps only the rows in `index` (int64), e.g. to drop finished sequences.
  void select_rows(const at::Tensor& index);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trl
