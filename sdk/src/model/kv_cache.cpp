// Key/value cache (trl/sdk/model/kv_cache.h), preallocated or growing. Letters: B rows, Nkv key/value
// heads, M max_length, D head_dim, t positions of the current step.
#include "trl/sdk/model/kv_cache.h"

#include <limits>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"

namespace trl {

struct KVCache::Impl {
  bool growing = false;
  // Preallocated: per layer (B, Nkv, M, D) buffers. Growing: per layer (B, Nkv, length, D), undefined
  // before the first step; the step's concatenations wait in pending_* until end_step() commits them.
  std::vector<at::Tensor> keys, values, pending_keys, pending_values;
  at::Tensor mask_buffer;                // preallocated: (B, M) int64; growing: (B, length) int64
  at::Tensor mask_view;                  // (B, length [+ t])
  int64_t length = 0;
  int64_t step = 0;                      // t of the step in progress, 0 between steps
  int64_t batch_size = 0;
  int64_t max_length = 0;

  void refresh_view() { mask_view = growing ? mask_buffer : mask_buffer.narrow(1, 0, length + step); }
};

KVCache::KVCache(const CausalLM& model, int64_t batch_size, int64_t max_length) : impl_(std::make_unique<Impl>()) {
  TRL_INTERNAL_ASSERT(batch_size > 0 && max_length > 0, "KVCache: batch_size and max_length must be positive");
  const ModelConfig& c = model.config();
  const auto options = at::TensorOptions().dtype(model.dtype()).device(model.device());
  impl_->batch_size = batch_size;
  impl_->max_length = max_length;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    impl_->keys.push_back(at::empty({batch_size, c.num_key_value_heads, max_length, c.head_dim}, options));
    impl_->values.push_back(at::empty({batch_size, c.num_key_value_heads, max_length, c.head_dim}, options));
  }
  impl_->mask_buffer = at::zeros({batch_size, max_length}, options.dtype(at::kLong));
  impl_->refresh_view();
}

KVCache::KVCache(const CausalLM& model, int64_t batch_size) : impl_(std::make_unique<Impl>()) {
  TRL_INTERNAL_ASSERT(batch_size > 0, "KVCache: batch_size must be positive");
  const auto layers = static_cast<size_t>(model.config().num_hidden_layers);
  impl_->growing = true;
  impl_->batch_size = batch_size;
  impl_->max_length = std::numeric_limits<int64_t>::max();
  impl_->keys.resize(layers);
  impl_->values.resize(layers);
  impl_->mask_buffer = at::zeros({batch_size, 0}, at::TensorOptions().dtype(at::kLong).device(model.device()));
  impl_->refresh_view();
}

KVCache::~KVCache() = default;

int64_t KVCache::length() const { return impl_->length; }
int64_t KVCache::max_length() const { return impl_->max_length; }
int64_t KVCache::batch_size() const { return impl_->batch_size; }
const at::Tensor& KVCache::attention_mask() const { return impl_->mask_view; }

void KVCache::begin_step(const at::Tensor& new_mask) {
  Impl& m = *impl_;
  TRL_INTERNAL_ASSERT(new_mask.dim() == 2 && new_mask.size(0) == m.batch_size,
                      "KVCache::begin_step: the mask must be (B, t) with the cache's B");
  const int64_t t = new_mask.size(1);
  if (m.growing) {  // a step that threw left only pending_* and mask_view behind; both are replaced here
    m.step = t;
    m.pending_keys.assign(m.keys.size(), at::Tensor());
    m.pending_values.assign(m.values.size(), at::Tensor());
    m.mask_view = at::cat({m.mask_buffer, new_mask.to(m.mask_buffer.options())}, 1);
    return;
  }
  if (m.length + t > m.max_length)
    throw InternalError("KVCache: " + std::to_string(m.length) + " cached + " + std::to_string(t) +
                        " new positions exceed the capacity of " + std::to_string(m.max_length));
  m.step = t;
  m.mask_buffer.narrow(1, m.length, t).copy_(new_mask);
  m.refresh_view();
}

std::pair<at::Tensor, at::Tensor> KVCache::append(int64_t layer, const at::Tensor& keys, const at::Tensor& values) {
  Impl& m = *impl_;
  TRL_INTERNAL_ASSERT(layer >= 0 && layer < static_cast<int64_t>(m.keys.size()), "KVCache::append: no such layer");
  TRL_INTERNAL_ASSERT(m.step > 0 && keys.size(2) == m.step, "KVCache::append: call begin_step with the step's mask first");
  const auto l = static_cast<size_t>(layer);
  if (m.growing) {
    const at::Tensor& k = m.keys[l];
    const at::Tensor& v = m.values[l];
    m.pending_keys[l] = k.defined() ? at::cat({k, keys}, 2) : keys;
    m.pending_values[l] = v.defined() ? at::cat({v, values}, 2) : values;
    return {m.pending_keys[l], m.pending_values[l]};
  }
  at::Tensor& k = m.keys[l];
  at::Tensor& v = m.values[l];
  k.narrow(2, m.length, m.step).copy_(keys);
  v.narrow(2, m.length, m.step).copy_(values);
  return {k.narrow(2, 0, m.length + m.step), v.narrow(2, 0, m.length + m.step)};
}

void KVCache::end_step() {
  Impl& m = *impl_;
  if (m.growing) {
    for (size_t l = 0; l < m.keys.size(); ++l) {
      TRL_INTERNAL_ASSERT(m.pending_keys[l].defined(), "KVCache::end_step: a layer appended nothing");
      m.keys[l] = std::move(m.pending_keys[l]);
      m.values[l] = std::move(m.pending_values[l]);
    }
    m.mask_buffer = m.mask_view;
  }
  m.length += m.step;
  m.step = 0;
  m.refresh_view();
}

void KVCache::select_rows(const at::Tensor& index) {
  Impl& m = *impl_;
  TRL_INTERNAL_ASSERT(index.dim() == 1 && index.scalar_type() == at::kLong, "KVCache::select_rows: index must be 1-D int64");
  const at::Tensor rows = index.to(m.mask_buffer.device());
  const int64_t B = rows.size(0);
  if (m.growing) {  // index_select is differentiable: a repeated row sends its gradient back summed
    for (at::Tensor& k : m.keys)
      if (k.defined()) k = k.index_select(0, rows);
    for (at::Tensor& v : m.values)
      if (v.defined()) v = v.index_select(0, rows);
  } else {
    // Only the filled prefix is copied; the new buffers keep the full capacity.
    auto compact = [&](at::Tensor& buffer) {
      std::vector<int64_t> shape = buffer.sizes().vec();
      shape[0] = B;
      at::Tensor fresh = at::empty(shape, buffer.options());
      if (m.length > 0) fresh.narrow(2, 0, m.length).copy_(buffer.narrow(2, 0, m.length).index_select(0, rows));
      buffer = fresh;
    };
    for (at::Tensor& k : m.keys) compact(k);
    for (at::Tensor& v : m.values) compact(v);
  }
  m.mask_buffer = m.mask_buffer.index_select(0, rows);
  m.batch_size = B;
  m.step = 0;
  m.refresh_view();
}

}  // namespace trl
