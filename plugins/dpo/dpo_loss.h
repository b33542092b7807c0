// plugins/dpo/dpo_loss.h: the DPO loss of TRL's DPOTrainer (HEAD) and the reward metrics it logs
// (spec/trl-reference.md §1.4, §1.5, §1.7, §6.A).
//
// Two entry points:
//  - dpo_loss() takes per-sequence log-probs (what a trainer has after its forward passes, or what
//    precompute_ref_log_probs stored) and returns the loss and the §1.7 reward/logps metrics;
//  - dpo_loss_inputs() builds those from per-token log-probs (token_stats() output), doing the LD-DPO
//    combination, the WPO weights and the sft term's sums the way TRL does.
//
// Letters: B pairs; 2B rows, all chosen then all rejected (the collator's order); L label positions of
// the shifted sequence (position t predicts token t+1); T positions of the unshifted sequence.
// All tensors of one call share a device and a floating dtype (float32 and float64 are tested against
// TRL; the alpha-divergence clamp also has TRL's float16 and bfloat16 entries). Nothing here moves
// tensors between devices.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dpo_loss_config.h"

namespace trl::dpo {

/// Per-sequence inputs of dpo_loss(); which are required depends on the config (dpo_loss_needs()).
struct DpoLossInputs {
  /// (B,) policy log-prob of each chosen completion, summed over its tokens (LD-weighted if ld_alpha is
  /// set; sequence_logps()). Carries the gradient.
  at::Tensor chosen_logps;
  /// (B,) the same for the rejected completions.
  at::Tensor rejected_logps;
  /// (B,) reference log-probs, computed exactly like chosen_logps (LD included) but without gradient, or
  /// the precomputed column. Always required: with reference_free the loss reads them as 0, but the
  /// rewards/* metrics use them (TRL's legacy trainer).
  at::Tensor ref_chosen_logps;
  /// (B,) the same for the rejected completions.
  at::Tensor ref_rejected_logps;
  /// (B,) completion token counts of the chosen rows from the *unshifted* completion mask (any numeric
  /// dtype); clamped to >= 1 here. Needed by ipo and sigmoid_norm only.
  at::Tensor chosen_lengths;
  /// (B,) the same for the rejected rows.
  at::Tensor rejected_lengths;
  /// (B,) sum of the policy's raw per-token log-probs over each chosen completion (no LD weighting),
  /// with grad: the sft / rpo_alpha term is −Σ sft_chosen_logps / Σ sft_chosen_tokens, TRL's
  /// cross-entropy over every chosen completion token of the local batch (§6.A A6). Needed by sft only.
  at::Tensor sft_chosen_logps;
  /// (B,) the number of chosen completion tokens behind sft_chosen_logps (shifted mask). If the batch
  /// has none the sft term is NaN, as in TRL (the training loop then stops on the non-finite loss).
  at::Tensor sft_chosen_tokens;
  /// (B,) WPO weight of each chosen row (wpo_weights()), no grad. Needed with use_weighting only.
  at::Tensor chosen_weights;
  /// (B,) WPO weight of each rejected row.
  at::Tensor rejected_weights;
};

/// The loss of one local batch and the rows behind its metrics.
struct DpoLossResult {
  /// 0-dim, dtype of the log-probs, with grad: Σ_k weight_k · mean_i(w_i · ℓ_{k,i}) over
  /// weighted_loss_terms() (w_i = WPO weight product, 1 without use_weighting).
  at::Tensor loss;
  /// (B,) β·ρ_c, detached: β times the (LD-weighted) log-ratio before any f-divergence (§6.A A4), with
  /// the reference model's log-probs even under reference_free (legacy TRL's rewards).
  at::Tensor chosen_rewards;
  /// (B,) β·ρ_r, detached.
  at::Tensor rejected_rewards;
  /// (B,) the policy's chosen log-probs, detached (logps/chosen).
  at::Tensor chosen_logps;
  /// (B,) the policy's rejected log-probs, detached (logps/rejected).
  at::Tensor rejected_logps;

  /// The §1.7 metrics that depend only on these rows, TRL names, each a 0-dim detached tensor of this
  /// batch: rewards/chosen, rewards/rejected, rewards/accuracies (float32 mean of the strict
  /// β·ρ_c > β·ρ_r, as TRL), rewards/margins, logps/chosen, logps/rejected. Across processes, gather
  /// the (B,) rows instead and take the same means.
  std::vector<std::pair<std::string, at::Tensor>> metrics() const;
};

/// TRL's DPO loss (HEAD `_compute_loss`, spec §1.5) for one local batch. The config is validated again
/// (ConfigError, see validate()); bad shapes, dtypes, devices or a missing required input are bugs in
/// the caller (InternalError).
DpoLossResult dpo_loss(const DpoLossInputs& inputs, const DpoLossConfig& config);

/// Per-token inputs of a 2B-row batch, as a trainer has them after its forward passes.
struct DpoTokenInputs {
  /// (2B, L) policy log p(label) at each shifted position (token_stats().logps), with grad.
  at::Tensor per_token_logps;
  /// (2B, L) bool or integer: true where the label is a completion token (the shifted completion mask).
  at::Tensor label_mask;
  /// (2B, T) the unshifted completion mask (the collator's completion_mask): ipo and sigmoid_norm divide
  /// by its row sums (§6.A A5: not the shifted count). May be undefined when neither is used.
  at::Tensor completion_mask;
  /// (2B, L) reference log p(label), no grad. Undefined when the caller fills ref_chosen_logps /
  /// ref_rejected_logps itself (precomputed reference log-probs).
  at::Tensor ref_per_token_logps;
  /// (2B, L) log Σ_v p_v² of the policy at each position (TokenStatsOptions::log_sum_p2). Needed with
  /// use_weighting only.
  at::Tensor log_sum_p2;
};

/// Builds dpo_loss()'s inputs from per-token log-probs, exactly as TRL: sequence log-probs with LD-DPO
/// for the policy and the reference, unshifted lengths, raw chosen sums and counts for sft, WPO weights
/// from the raw (pre-LD) log-probs and the shifted mask. Fills only what the config needs.
DpoLossInputs dpo_loss_inputs(const DpoTokenInputs& tokens, const DpoLossConfig& config);

}  // namespace trl::dpo
