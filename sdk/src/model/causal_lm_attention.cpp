// Causal, padding-aware grouped-query attention (transformers' eager_attention_forward semantics).
//
// Keys and values are not repeated per query head (repeat_kv): the G query heads that share one
// key/value head are stacked along the row dimension, so one matmul per key/value head covers them.
// Measured on this project's 2-core machine, LibTorch 1.13's at::_scaled_dot_product_attention (a
// composite of the same matmul/softmax ops, no fused CPU kernel, no GQA) was not faster; see the report
// in git history for the numbers.
#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "causal_lm_impl.h"

namespace trl {

at::Tensor attention_bias_mask(const at::Tensor& key_mask, int64_t offset, int64_t T, c10::ScalarType dtype) {
  const int64_t B = key_mask.size(0), L = key_mask.size(1);
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(key_mask.device());
  const at::Tensor query_pos = at::arange(offset, offset + T, long_options).unsqueeze(1);  // (T, 1)
  const at::Tensor key_pos = at::arange(L, long_options).unsqueeze(0);                      // (1, L)
  const at::Tensor causal = key_pos.le(query_pos);                                           // (T, L)
  const at::Tensor itself = key_pos.eq(query_pos);                                           // (T, L)
  const at::Tensor allowed = causal.unsqueeze(0) & (key_mask.unsqueeze(1) | itself.unsqueeze(0));  // (B, T, L)
  return at::zeros({B, 1, T, L}, key_mask.options().dtype(dtype))
      .masked_fill_(allowed.logical_not().unsqueeze(1), -std::numeric_limits<double>::infinity());
}

at::Tensor grouped_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  const int64_t B = q.size(0), Nq = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t Nkv = k.size(1), L = k.size(2), G = Nq / Nkv;
  // Query head h uses key/value head h / G (repeat_kv's order), so (B, Nq, T, D) regroups for free.
  const at::Tensor grouped_q = q.reshape({B, Nkv, G * T, D});
  at::Tensor scores = at::matmul(grouped_q, k.transpose(2, 3)).view({B, Nkv, G, T, L});
  // In place is safe under autograd: matmul's backward needs its inputs, not its output.
  scores.mul_(std::pow(static_cast<double>(D), -0.5)).add_(mask.unsqueeze(1));
  const at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type()).view({B, Nkv, G * T, L});
  const at::Tensor out = at::matmul(probs, v);  // (B, Nkv, G·T, D)
  return out.view({B, Nq, T, D}).transpose(1, 2).reshape({B, T, Nq * D});
}

}  // namespace trl
