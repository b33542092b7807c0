// plugins/dpo/dpo_f_divergence.h: the f-divergence transform of DPO log-ratios into scores (spec §1.5).
//
// Letters: B pairs.
#pragma once

#include <ATen/core/Tensor.h>

#include "dpo_loss_config.h"

namespace trl::dpo {

/// Largest exponent alpha_divergence feeds to exp() for a dtype, so exp(.) / (a−1) stays finite after the
/// cast back: 11 for float16, 80 for bfloat16 and float32 (TRL's table), 700 for float64, which TRL's
/// table lacks (it raises KeyError, §6.A A8; exp(709.8) is the float64 limit).
double alpha_divergence_exponent_cap(c10::ScalarType dtype);

/// Scores s from log-ratios ρ = log π − log π_ref, elementwise, in the dtype of `logratios`:
/// reverse_kl ρ; forward_kl 1 − exp(−ρ); js_divergence log 2 + logσ(ρ); alpha_divergence
/// (exp((a−1)ρ) − 1)/(a−1) (TRL 1.16's forms, with the constants the spec's TRL dropped) with
/// the exponent evaluated in float32 (float64 for float64 input) and clamped above at
/// alpha_divergence_exponent_cap, and ρ itself when |a−1| < 1e-6.
/// logratios: (B,) floating point, may carry grad; `alpha_coef` is a (f_alpha_divergence_coef).
at::Tensor f_divergence_scores(const at::Tensor& logratios, FDivergenceType type, double alpha_coef);

}  // namespace trl::dpo
