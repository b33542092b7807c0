// Private to the model sources: rotary position embeddings in one pass over float32 on the CPU, forward and
// backward. apply_rope (causal_lm_impl.h) takes it where it applies; otherwise the ops of transformers'
// apply_rotary_pos_emb. Letters as in causal_lm_impl.h.
#pragma once

#include <ATen/core/Tensor.h>

namespace trl {

/// Whether rope_kernel() takes x (B, T, heads, D) with cos and sin (B, T, 1, D): trl-host's CPU kernels are on
/// (kernel_dispatch.h), cos and sin float32 and x float32 or bfloat16 (autocast's projections of a float32
/// model; a bfloat16 model's bfloat16 angles and float64 keep the ops), D even, the last dims of x, cos and sin
/// contiguous and the shapes as above.
bool use_rope_kernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/// x·cos + rotate_half(x)·sin with rotate_half(x) = cat(-x[D/2:], x[:D/2]), each element by the float32
/// operations LibTorch's ops perform (each product rounded, then the sum), so the same values to the bit (float32
/// out; a bfloat16 x is promoted as the ops promote it, and its gradient rounded as autograd rounds it); an
/// autograd function whose gradient for x, g·cos + rotate_halfᵀ(g·sin), is autograd's through those ops to
/// the bit as well (cos and sin are constants of the positions and get none). One pass each way instead of
/// five ops forward (neg, cat, two products, a sum) and eight backward (two products, the slices' zero-filled
/// copies, a negation, three sums). Rows are spread over the intra-op threads, each computed whole by one
/// thread, so results do not depend on the thread count. Differentiable once (its backward is a kernel, not
/// ops autograd could differentiate again; no trainer takes second derivatives). Only where use_rope_kernel().
at::Tensor rope_kernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace trl
