// Private to the model sources: the lm_head's log-prob gradient in bfloat16 in one pass over the kept
// probabilities, for token_stats' backward pass under bf16 autocast (token_stats.cpp). Letters as there.
#pragma once

#include <ATen/core/Tensor.h>

namespace trl {

/// Whether logp_gradient_bf16() takes probabilities p (N, V), gradients g (N) and labels (N): trl-host's CPU
/// kernels are on (kernel_dispatch.h), p and g float32, labels int64, all three contiguous.
bool use_logp_gradient_kernel(const at::Tensor& probs, const at::Tensor& g, const at::Tensor& labels);

/// dz = g·(onehot(label) − p) rounded to bfloat16, (N, V): the values of
/// p.mul(-g.unsqueeze(1)).scatter_add_(1, label, g).to(bfloat16) to the bit (each element's float32 product,
/// the label's float32 sum, one rounding to nearest even), in one pass that reads p once and writes the
/// bfloat16 result, where those ops take three passes over float32. p is not modified. Rows are spread over the
/// intra-op threads, each computed by one thread. Labels must lie in [0, V) (token_stats checks them). Only
/// where use_logp_gradient_kernel().
at::Tensor logp_gradient_bf16(const at::Tensor& probs, const at::Tensor& g, const at::Tensor& labels);

}  // namespace trl
