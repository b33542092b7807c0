// plugins/dpo/dpo_wpo.h: WPO weights (Weighted Preference Optimization, spec §1.5 "WPO weighting").
//
// Letters: B pairs, rows 2B (chosen, then rejected), L label positions; label_mask as in
// dpo_sequence_logps.h (the shifted completion mask).
#pragma once

#include <ATen/core/Tensor.h>

namespace trl::dpo {

/// Per-row WPO weight w = exp(mean over the row's completion tokens of [log p(token) − log Σ_v p_v²]),
/// without gradient and not clamped. As TRL HEAD (§6.A A5): the log-probs are the raw per-token ones
/// (before LD-DPO), and the mean divides by the shifted completion token count clamped to at least 1.
/// per_token_logps: (2B, L); log_sum_p2: (2B, L) log Σ_v p_v² = logsumexp(2·logits) − 2·logsumexp(logits)
/// at each position (TokenStatsOptions::log_sum_p2); label_mask: (2B, L). Returns (2B,), no grad.
at::Tensor wpo_weights(const at::Tensor& per_token_logps, const at::Tensor& log_sum_p2, const at::Tensor& label_mask);

}  // namespace trl::dpo
