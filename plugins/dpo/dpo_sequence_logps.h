// plugins/dpo/dpo_sequence_logps.h: per-token log-probs to per-sequence DPO log-probs, with LD-DPO's
// length desensitisation (spec §1.4).
//
// Letters: B pairs; rows are 2B, all chosen then all rejected (the collator's order); L label positions
// (the shifted sequence: position t holds log p(token t+1 | tokens ≤ t)). `label_mask` (2B, L) is the
// shifted completion mask: true where the label is a completion token.
#pragma once

#include <optional>

#include <ATen/core/Tensor.h>

namespace trl::dpo {

/// Sum of each row's completion-token log-probs. Positions outside `label_mask` are ignored whatever
/// they hold (TRL zeroes them; a non-finite value there does not leak in).
/// per_token_logps: (2B, L) floating point, may carry grad; label_mask: (2B, L) bool or integer.
/// Returns (2B,) in the dtype of per_token_logps.
at::Tensor summed_logps(const at::Tensor& per_token_logps, const at::Tensor& label_mask);

/// The sequence log-probs DPO uses: summed_logps without LD-DPO; with ld_alpha = α, for pair i with
/// ℓ_i = min(chosen, rejected completion token count), the first ℓ_i completion tokens count fully and
/// the rest with weight α. TRL HEAD applies this to the policy and the reference alike (also when it
/// precomputes reference log-probs). Rows are paired as i and i + B. Returns (2B,).
at::Tensor sequence_logps(const at::Tensor& per_token_logps, const at::Tensor& label_mask,
                          std::optional<double> ld_alpha);

}  // namespace trl::dpo
