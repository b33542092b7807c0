// AdamW with one pass per parameter over its values, gradient and moments (float32 on the CPU).
#pragma once

#include <string>

#include <ATen/core/Tensor.h>
#include <torch/optim/adamw.h>

#include "core/torch_compat.h"

namespace trl {

/// torch::optim::AdamW with LibTorch 1.13's state (AdamWParamState: step, exp_avg, exp_avg_sq) and math,
/// whose step() updates a contiguous float32 CPU parameter in one pass over p, grad, exp_avg and
/// exp_avg_sq, spread over ATen's intra-op threads. LibTorch's step makes about eight passes over each
/// parameter and allocates two temporaries of its size (sqrt, division); the op profile of the bench's
/// large-preset DPO step put them at about a tenth of its time. Other parameters (other dtypes or
/// devices, amsgrad) take LibTorch's own sequence of ops.
class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  /// One AdamW update of every parameter with a gradient; `closure` (optional) recomputes the loss first.
  at::Tensor step(LossClosure closure = nullptr) override;
};

/// The key of a parameter's entry in Optimizer::state() (LibTorch keys it by the TensorImpl's address:
/// printed as a string in 1.13, the pointer itself in 2.x; core/torch_compat.h).
compat::OptimizerStateKey adamw_state_key(const at::Tensor& parameter);

}  // namespace trl
