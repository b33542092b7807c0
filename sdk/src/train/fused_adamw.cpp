// AdamW's update in one pass per parameter (fused_adamw.h).
//
// The per-element arithmetic follows LibTorch's ops in their order, each scalar rounded to float as
// ATen does for a float32 tensor: p·(1 − lr·wd), m·β1 + (1 − β1)·g, v·β2 + (1 − β2)·g·g,
// denom = √v / √(1 − β2ᵗ) + ε, p + (−lr / (1 − β1ᵗ))·m / denom. ATen's vectorised kernels may fuse a
// multiply-add, so results agree to float rounding (tests/unit/train_optimizer_test.cpp), not bit for bit.
// Compiled with -fno-math-errno (sdk/CMakeLists.txt) so the loop's sqrt vectorises.
#include "train/fused_adamw.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/variable.h>

#include "core/kernel_dispatch.h"
#include "core/vector_clones.h"

namespace trl {
namespace {

using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;

/// Scalars of one parameter's update, rounded to float once as ATen rounds a Scalar for a float tensor.
struct UpdateScalars {
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, neg_step_size;
};

// The element loop is compiled for AVX-512, AVX2 and the baseline (core/vector_clones.h), with the same values on
// each: every operation is rounded alone (-ffp-contract=off, sdk/CMakeLists.txt), and vector sqrt and division
// round as the scalar ones do (test FusedAdamW.EveryElementIsTheScalarFormula).
/// Elements [begin, end) of one parameter; decay is loop-invariant, so the compiler keeps a loop without it.
TRL_VECTOR_CLONES
void update_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                  int64_t begin, int64_t end, bool decay, const UpdateScalars& s) {
  for (int64_t i = begin; i < end; ++i) {
    const float param = decay ? p[i] * s.decay : p[i];
    const float grad = g[i];
    const float exp_avg = m[i] * s.beta1 + s.one_minus_beta1 * grad;
    const float exp_avg_sq = v[i] * s.beta2 + s.one_minus_beta2 * grad * grad;
    m[i] = exp_avg;
    v[i] = exp_avg_sq;
    const float denom = std::sqrt(exp_avg_sq) / s.bias_correction2_sqrt + s.eps;
    p[i] = param + s.neg_step_size * exp_avg / denom;
  }
}

void fused_update(float* p, const float* g, float* m, float* v, int64_t n, bool decay, const UpdateScalars& s) {
  constexpr int64_t kGrain = int64_t{1} << 15;  // 128 KB of each stream per task
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) { update_range(p, g, m, v, begin, end, decay, s); });
}

bool fusable(const at::Tensor& p, const at::Tensor& grad, const AdamWParamState& state, const AdamWOptions& options) {
  auto plain = [&](const at::Tensor& t) {
    return use_cpu_kernels(t) && t.scalar_type() == at::kFloat && t.is_contiguous() && t.numel() == p.numel();
  };
  return !options.amsgrad() && plain(p) && plain(grad) && plain(state.exp_avg()) && plain(state.exp_avg_sq());
}

/// LibTorch 1.13's AdamW::step for one parameter, op for op.
void reference_update(at::Tensor& p, const at::Tensor& grad, AdamWParamState& state, const AdamWOptions& options,
                      double bias_correction1, double bias_correction2) {
  const auto [beta1, beta2] = options.betas();
  if (options.weight_decay() != 0) p.mul_(1 - options.lr() * options.weight_decay());
  state.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
  state.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  at::Tensor denom;
  if (options.amsgrad()) {
    at::max_out(state.max_exp_avg_sq(), state.exp_avg_sq(), state.max_exp_avg_sq());
    denom = (state.max_exp_avg_sq().sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
  } else {
    denom = (state.exp_avg_sq().sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
  }
  p.addcdiv_(state.exp_avg(), denom, -options.lr() / bias_correction1);
}

}  // namespace

compat::OptimizerStateKey adamw_state_key(const at::Tensor& parameter) {
  return compat::optimizer_state_key(parameter);
}

at::Tensor FusedAdamW::step(LossClosure closure) {
  at::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const AdamWOptions&>(group.options());
    for (at::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      const at::Tensor& grad = p.grad();
      TORCH_CHECK(!grad.is_sparse(), "AdamW does not support sparse gradients");
      auto& slot = state()[adamw_state_key(p)];
      if (!slot) {
        auto fresh = std::make_unique<AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
        fresh->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        if (options.amsgrad()) fresh->max_exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& s = static_cast<AdamWParamState&>(*slot);
      s.step(s.step() + 1);
      const auto [beta1, beta2] = options.betas();
      const double bias_correction1 = 1 - std::pow(beta1, s.step());
      const double bias_correction2 = 1 - std::pow(beta2, s.step());
      if (!fusable(p, grad, s, options)) {
        reference_update(p, grad, s, options, bias_correction1, bias_correction2);
        continue;
      }
      const UpdateScalars scalars{static_cast<float>(1 - options.lr() * options.weight_decay()),
                                  static_cast<float>(beta1),
                                  static_cast<float>(1 - beta1),
                                  static_cast<float>(beta2),
                                  static_cast<float>(1 - beta2),
                                  static_cast<float>(std::sqrt(bias_correction2)),
                                  static_cast<float>(options.eps()),
                                  static_cast<float>(-options.lr() / bias_correction1)};
      fused_update(p.data_ptr<float>(), grad.data_ptr<float>(), s.exp_avg().data_ptr<float>(),
                   s.exp_avg_sq().data_ptr<float>(), p.numel(), options.weight_decay() != 0, scalars);
      // Written through raw pointers: bump the version counters as the in-place ops would have.
      for (const at::Tensor& t : {p, s.exp_avg(), s.exp_avg_sq()}) torch::autograd::impl::bump_version(t);
    }
  }
  return loss;
}

}  // namespace trl
