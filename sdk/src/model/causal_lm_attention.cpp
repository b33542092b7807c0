// Causal, padding-aware grouped-query attention (transformers' eager_attention_forward semantics).
//
// Keys and values are not repeated per query head (repeat_kv): the G query heads that share one
// key/value head are stacked along the row dimension, so one matmul per key/value head covers them.
// Measured (B 8, 4 query / 2 key-value heads, T 256, D 64, one thread, best of 40, on this project's
// loaded 2-core machine): forward 6.4-8.6 ms here vs 6.4-10.1 ms for LibTorch 1.13's
// at::_scaled_dot_product_attention after repeat_kv; forward + backward 17-21 ms vs 26-32 ms. In 1.13
// that function is a composite of the same matmul/softmax ops (no fused CPU kernel, no GQA), so it is
// not used. float32 on the CPU runs per (row, key/value head) slice with its own backward pass
// (sliced_attention.cpp). LibTorch 2.x has a fused CPU kernel (flash attention with masks and grouped
// heads), which the same large DPO attention runs in less than half the time of matmul/softmax/matmul
// (docs/performance.md): there, and on any device, attention is at::scaled_dot_product_attention.
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include "causal_lm_impl.h"
#include "core/kernel_dispatch.h"

namespace trl {
namespace {

/// Scores per slice below which the batched ops are used: a decode step (one query row per head) is a
/// few dozen scores per slice, where per-slice dispatch would cost more than the matmuls.
constexpr int64_t kSlicedAttentionMinScores = 4096;

}  // namespace

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
  // The mask lets every query see at least itself, so no row is all -inf (which fused kernels turn to NaN).
  // float64 keeps the batched path: transformers' eager attention takes its softmax in float32 there.
  if (use_fused_attention() && q.scalar_type() != at::kDouble) {
    if (autocast_active(q.device()) && q.device().is_cpu()) {
      // Under CPU autocast the fused kernel runs in float32: q and k already are (RoPE multiplies autocast's
      // bfloat16 projections by float32 cos/sin, as transformers does), v is widened exactly, and LibTorch's
      // bfloat16 flash-attention backward on the CPU takes about twice its float32 time (docs/torch2.md).
      // o_proj's autocast rounds the output to bfloat16 as it would have been.
      const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
      return fused_attention(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), mask.to(at::kFloat))
          .transpose(1, 2)
          .reshape({B, T, Nq * D});
    }
    return fused_attention(q, k, v, mask).transpose(1, 2).reshape({B, T, Nq * D});
  }
  // Query head h uses key/value head h / G (repeat_kv's order), which reshaping (B, Nq, T, D) into
  // (B, Nkv, G·T, D) keeps. The 1/sqrt(D) goes on q (T·D values) rather than on the scores (T·L), and
  // every op is out of place: an in-place op on the 5-D view made autograd rebuild the base tensor and
  // tripled the backward's time.
  const at::Tensor grouped_q = (q * std::pow(static_cast<double>(D), -0.5)).reshape({B, Nkv, G * T, D});
  // float32 on the CPU goes per slice (sliced_attention.cpp); other dtypes keep transformers' float32 softmax.
  // Under bf16 autocast the matmuls must go through autocast's dispatch: the batched path.
  const bool sliced = use_cpu_kernels(q) && !autocast_active(q.device()) && q.scalar_type() == at::kFloat && G * T * L >= kSlicedAttentionMinScores;
  at::Tensor out;  // (B, Nkv, G·T, D)
  if (sliced) {
    out = sliced_attention(grouped_q, k, v, mask);
  } else {
    const at::Tensor scores = at::matmul(grouped_q, k.transpose(2, 3)).view({B, Nkv, G, T, L}) + mask.unsqueeze(1);
    const at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type()).view({B, Nkv, G * T, L});
    out = at::matmul(probs, v);
  }
  return out.view({B, Nq, T, D}).transpose(1, 2).reshape({B, T, Nq * D});
}

}  // namespace trl
