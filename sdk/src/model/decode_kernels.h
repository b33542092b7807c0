// Private to the model sources: the CPU kernels of a decode step (one new position per row, float32, no
// autograd), where the forward pass is dozens of small ops per layer on a few thousand values each and
// LibTorch's per-op cost outweighs the arithmetic (decode_kernels.cpp says what was measured).
// Letters as in causal_lm_impl.h.
#pragma once

#include <ATen/core/Tensor.h>

namespace trl {

/// Whether a forward pass over `hidden` (B, T, H) takes these kernels (the attention only without LibTorch's
/// fused kernel, causal_lm_forward.cpp): trl-host's CPU kernels are on (kernel_dispatch.h), float32, T == 1,
/// grad mode off and no autocast.
bool use_decode_kernels(const at::Tensor& hidden);

/// rms_norm (causal_lm_impl.h) over the last dim of float32 x, one pass per row: weight · (x · rsqrt(mean(x²) + eps)).
/// The mean is summed in double, so it may differ from LibTorch's float reduction in the last bit.
at::Tensor decode_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// Single-query grouped attention: q (B, Nq, 1, D), k and v (B, Nkv, L, D) (the cache's views; the last dim
/// contiguous), mask (B, 1, 1, L) additive and contiguous. softmax(q·kᵀ/√D + mask)·v per query head, with query
/// head h reading key/value head h / G; returns (B, 1, Nq·D) as grouped_attention does.
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

/// silu(gate) · up in one pass, both contiguous float32 of one shape.
at::Tensor decode_swiglu(const at::Tensor& gate, const at::Tensor& up);

}  // namespace trl
