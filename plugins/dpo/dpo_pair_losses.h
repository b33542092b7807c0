// plugins/dpo/dpo_pair_losses.h: the fifteen per-pair DPO losses of TRL's `loss_type` (spec §1.5).
//
// Letters: B pairs. Every tensor below is (B,) in one floating dtype unless stated.
#pragma once

#include <ATen/core/Tensor.h>

#include "dpo_loss_config.h"

namespace trl::dpo {

/// What the per-pair losses read, all prepared by dpo_loss().
struct DpoPairTerms {
  at::Tensor chosen_logps;        ///< log π(chosen), LD-weighted if on; carries the gradient
  at::Tensor rejected_logps;      ///< log π(rejected), likewise
  at::Tensor ref_chosen_logps;    ///< log π_ref(chosen), no grad (zeros when reference_free)
  at::Tensor ref_rejected_logps;  ///< log π_ref(rejected), likewise
  at::Tensor chosen_logratios;    ///< ρ_c = chosen_logps − ref_chosen_logps
  at::Tensor rejected_logratios;  ///< ρ_r
  at::Tensor chosen_scores;       ///< s_c = f-divergence score of ρ_c
  at::Tensor rejected_scores;     ///< s_r
  at::Tensor chosen_lengths;      ///< L_c: unshifted completion token counts clamped to >= 1; only ipo, sigmoid_norm
  at::Tensor rejected_lengths;    ///< L_r, likewise
  at::Tensor sft_loss;            ///< 0-dim token-mean NLL of the chosen completions; only sft
};

/// ℓ_i of one loss type for every pair: (B,), with grad through the policy terms. sft returns its scalar
/// broadcast to (B,) (an expanded view: do not modify it in place). Reads beta, label_smoothing and
/// discopop_tau from `config`; the config must have passed validate().
at::Tensor dpo_pair_loss(DpoLossType type, const DpoPairTerms& terms, const DpoLossConfig& config);

}  // namespace trl::dpo
