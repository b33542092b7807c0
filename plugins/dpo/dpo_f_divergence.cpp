// f-divergence scores (spec §1.5; TRL dpo_trainer.py _compute_loss, the f_divergence_type branches).
#include "dpo_f_divergence.h"

#include <cmath>

#include <ATen/ATen.h>

#include "trl/sdk/error.h"

namespace trl::dpo {

double alpha_divergence_exponent_cap(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf: return 11.0;
    case at::kBFloat16:
    case at::kFloat: return 80.0;
    case at::kDouble: return 700.0;
    default:
      throw InternalError(std::string("alpha_divergence: log-ratios must be floating point, got ") +
                          c10::toString(dtype));
  }
}

at::Tensor f_divergence_scores(const at::Tensor& logratios, FDivergenceType type, double alpha_coef) {
  switch (type) {
    case FDivergenceType::reverse_kl:
      return logratios;
    // TRL 1.16 keeps the constants of f' that TRL 1.10.0.dev0 (the spec) dropped: they cancel in Δ, but not in
    // the per-length scores of ipo and sigmoid_norm (docs/parity.md, behaviour changes).
    case FDivergenceType::forward_kl:
      // f'(t) = 1 − 1/t.
      return 1.0 - at::exp(-logratios);
    case FDivergenceType::js_divergence:
      // f'(t) = log(2t/(t+1)) = log 2 + logσ(log t).
      return std::log(2.0) + at::log_sigmoid(logratios);
    case FDivergenceType::alpha_divergence: {
      // f'(t) = (t^(a−1) − 1)/(a−1); a → 1 is the log, i.e. reverse KL.
      if (std::abs(alpha_coef - 1.0) < 1e-6) return logratios;
      const double coef = 1.0 / (alpha_coef - 1.0);
      const c10::ScalarType dtype = logratios.scalar_type();
      const at::Tensor t = (alpha_coef - 1.0) * logratios;  // (B,) input dtype, as TRL rounds it
      // TRL evaluates exp in float32 whatever the input; float64 keeps float64 so it is not rounded down.
      const c10::ScalarType exp_dtype = dtype == at::kDouble ? at::kDouble : at::kFloat;
      const at::Tensor capped = at::clamp_max(t.to(exp_dtype), alpha_divergence_exponent_cap(dtype));
      return (at::exp(capped) - 1.0).to(dtype) * coef;
    }
  }
  throw InternalError("f_divergence_scores: unhandled f-divergence type");
}

}  // namespace trl::dpo
