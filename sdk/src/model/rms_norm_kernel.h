// Private to the model sources: RMSNorm in one pass over float32 on the CPU, forward and backward. rms_norm
// (causal_lm_impl.h) takes it where it applies; otherwise the ops of transformers' LlamaRMSNorm.
#pragma once

#include <ATen/core/Tensor.h>

namespace trl {

/// Whether rms_norm_kernel() takes x (..., H) with weight (H): trl-host's CPU kernels are on (kernel_dispatch.h),
/// both float32 (float64 and bfloat16 inputs keep the ops) and contiguous.
bool use_rms_norm_kernel(const at::Tensor& x, const at::Tensor& weight);

/// weight · (x · r) with r = 1 / sqrt(mean(x²) + eps) per row of H, each element by the float32 operations
/// LibTorch's ops perform (x·x, the sum divided by H, + eps, 1 / sqrt, then the two products, each rounded); an
/// autograd function whose gradients are autograd's through those ops, element for element (for x: g·w·r +
/// (−0.5·Σ(g·w·x)·r³ / H)·2x; for the weight: Σ over rows of g·(x·r)). Only the sums are LibTorch's in a
/// different order (16 partial float sums per row; the weight's column sums in blocks of rows, the blocks added
/// in double), so the values are the ops' up to the rounding of those sums, not to the bit. Two passes forward
/// and backward instead of six ops forward and some twelve backward, and no saved (rows, H) product: the
/// backward keeps x, the weight and r. Rows (forward, and the gradient for x) and columns (the weight's
/// gradient) are spread over the intra-op threads, each computed whole by one thread in a fixed order, so
/// results do not depend on the thread count. Differentiable once, as the rotary kernel. Only where
/// use_rms_norm_kernel().
at::Tensor rms_norm_kernel(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace trl
