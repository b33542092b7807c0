// plugins/dpo/dpo_token_metrics.h: DPO's token-level metrics (spec §1.7): entropy, logits/chosen,
// logits/rejected, mean_token_accuracy, from per-token statistics of the policy.
//
// TRL weights them by tokens across processes: it gathers sums and counts, then divides, and reports 0
// when there is no token. So this keeps sums and counts apart; a distributed trainer all-reduces
// packed() before calling metrics().
//
// Letters: B pairs, 2B rows (chosen, then rejected), L label positions (the shifted sequence).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace trl::dpo {

/// Token sums and counts of one local batch; every field is a 0-dim float64 tensor without grad.
struct DpoTokenMetricSums {
  at::Tensor entropy_sum;         ///< Σ predictive entropy over every completion token (chosen and rejected)
  at::Tensor completion_tokens;   ///< number of those tokens
  at::Tensor chosen_logit_sum;    ///< Σ over chosen completion tokens of the vocabulary-mean raw logit
  at::Tensor chosen_tokens;       ///< number of chosen completion tokens
  at::Tensor rejected_logit_sum;  ///< Σ over rejected completion tokens of the vocabulary-mean raw logit
  at::Tensor rejected_tokens;     ///< number of rejected completion tokens
  at::Tensor chosen_correct;      ///< chosen completion tokens whose argmax prediction is the label

  /// The seven values as one (7,) float64 tensor, in field order (for a single all-reduce).
  at::Tensor packed() const;
  /// The inverse of packed(); `packed` is (7,) float64.
  static DpoTokenMetricSums from_packed(const at::Tensor& packed);
  /// TRL's names and values, 0-dim float64 tensors: entropy, logits/chosen, logits/rejected,
  /// mean_token_accuracy, each sum / count, or 0 when the count is 0.
  std::vector<std::pair<std::string, at::Tensor>> metrics() const;
};

/// Sums of the policy's per-token statistics over completion tokens (token_stats() with entropy,
/// mean_logit and argmax_hit). entropy, mean_logit: (2B, L) floating; argmax_hit: (2B, L) bool;
/// label_mask: (2B, L) bool or integer, the shifted completion mask. Values outside the mask are ignored.
DpoTokenMetricSums dpo_token_metric_sums(const at::Tensor& entropy, const at::Tensor& mean_logit,
                                         const at::Tensor& argmax_hit, const at::Tensor& label_mask);

}  // namespace trl::dpo
