// grpo_loss.h: the GRPO clipped policy loss of one micro-batch and its metrics (spec §3.4, §3.5 "From the
// loss", §5 items 17-18, §6.B B1, B5-B8). GFPO trains with the same loss on the kept rows (spec §4.4).
//
// Letters: B rows of the micro-batch, T completion tokens (right-padded), m the completion mask.
// Works in the dtype of `logps` (float32 normally, float64 in the golden tests) on its device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "gfpo_params.h"

namespace trl::gfpo {

/// The loss settings (GRPOConfig names in comments).
struct GrpoLossConfig {
  LossType loss_type = LossType::dapo;                                          ///< loss_type
  ImportanceSamplingLevel importance_sampling_level = ImportanceSamplingLevel::token;  ///< importance_sampling_level
  double epsilon_low = 0.2;                                                     ///< epsilon
  double epsilon_high = 0.2;                                                    ///< epsilon_high (resolved)
  std::optional<double> delta;                                                  ///< delta
  double beta = 0.0;                                                            ///< beta
  bool use_bias_correction_kl = false;                                          ///< use_bias_correction_kl
  double top_entropy_quantile = 1.0;                                            ///< top_entropy_quantile
  std::optional<double> off_policy_mask_threshold;                              ///< off_policy_mask_threshold
  int64_t max_completion_length = 256;                                          ///< dr_grpo's divisor
  double sapo_temperature_pos = 1.0;                                            ///< sapo_temperature_pos
  double sapo_temperature_neg = 1.05;                                           ///< sapo_temperature_neg
  double vespo_k_pos = 2.0;                                                     ///< vespo_k_pos
  double vespo_lambda_pos = 3.0;                                                ///< vespo_lambda_pos
  double vespo_k_neg = 3.0;                                                     ///< vespo_k_neg
  double vespo_lambda_neg = 2.0;                                                ///< vespo_lambda_neg
  /// Whether the entropy bonus is in the loss (entropy_coef != 0 or use_adaptive_entropy); the coefficient
  /// of a micro-step is GrpoLossInputs::entropy_coef, since the adaptive controller moves it.
  bool entropy_bonus = false;

  /// The loss fields of a resolved configuration.
  static GrpoLossConfig from(const GrpoConfig& config);
};

/// One micro-batch. Every (B, T) tensor has the shape of `logps`.
struct GrpoLossInputs {
  at::Tensor logps;            ///< (B, T) per-token log-probs of the policy, with grad (logits / temperature)
  at::Tensor old_logps;        ///< (B, T) at generation time; undefined = logps.detach() (ratio exactly 1)
  at::Tensor ref_logps;        ///< (B, T) of the reference model; required when beta != 0
  at::Tensor advantages;       ///< (B,)
  at::Tensor completion_mask;  ///< (B, T) 1 for tokens that count, 0 for padding (and masked truncations)
  /// (B, T) per-token entropy; optional, required when top_entropy_quantile < 1 or with the entropy bonus
  /// (which differentiates it: pass entropies with grad for the bonus to train anything).
  at::Tensor entropies;
  at::Tensor sampling_logps;   ///< (B, T) log-probs of the sampler, for the off-policy mask; undefined = old_logps
  /// dapo's N: active completion tokens of the whole generation batch on all processes (spec §6.B B7),
  /// not of this micro-batch. Clamped to >= 1 as at HEAD (the GFPO base does not clamp, so N = 0 gave inf),
  /// then rescaled to one accumulation window with steps_per_generation below.
  double num_items_in_batch = 1.0;
  int64_t gradient_accumulation_steps = 1;  ///< GA in training, 1 in evaluation (grpo, bnpo, dr_grpo divide by it)
  int64_t num_processes = 1;                ///< dapo divides N by it
  /// The micro-batches a generation batch is cut into in training (steps_per_generation), 1 in evaluation:
  /// dapo, cispo and vespo rescale N to one accumulation window, N x GA / steps_per_generation (trl 1.16).
  int64_t steps_per_generation = 1;
  /// The top-entropy threshold, when computed elsewhere over all processes' entropies
  /// (entropy_threshold); nullopt = from this micro-batch's entropies.
  std::optional<double> entropy_threshold;
  /// The entropy bonus's coefficient for this micro-step (with entropy_bonus): entropy_coef, or under adaptive
  /// control the controller's value when the last window's entropy was <= entropy_target and 0 otherwise.
  double entropy_coef = 0.0;
};

/// The loss and its metrics.
struct GrpoLossOutput {
  at::Tensor loss;         ///< 0-dim, with grad: what backward() is called on (already divided by GA where due)
  at::Tensor policy_loss;  ///< 0-dim, detached, before the division by GA and without the entropy bonus
  /// With entropy_bonus: Σ entropy and the token count over the tokens the bonus acts on (the completion
  /// mask, times the top-entropy mask if any), 0-dim detached: the adaptive controller's window sums.
  at::Tensor entropy_sum, entropy_tokens;
  /// TRL names, 0-dim detached tensors, in this order: policy_loss (entropy_bonus), kl (beta != 0), entropy
  /// (entropies given), then for grpo, bnpo, dr_grpo, dapo and luspo clip_ratio/low_mean,
  /// clip_ratio/high_mean, clip_ratio/region_mean, clip_ratio/low_min, clip_ratio/high_max; for cispo
  /// cispo_clip_ratio; for vespo vespo/phi_seq_mean; sapo has none. Values are TRL 1.16's on one process;
  /// low_min / high_max are NaN when every row's mask is empty (TRL's log() then drops them).
  std::vector<std::pair<std::string, at::Tensor>> metrics;
};

/// Whether `type` divides by the generation batch's token count N (dapo, cispo, vespo) rather than by
/// gradient_accumulation_steps.
bool normalizes_by_items(LossType type);

/// Whether `type` uses the clipped objective -min(r A, clip(r) A) and logs the clip_ratio/* metrics
/// (grpo, bnpo, dr_grpo, dapo, luspo).
bool clipped_objective(LossType type);

/// The GRPO loss (grpo_trainer._compute_loss, spec §3.4):
///   lr = logps - old_logps; r = exp(lr) per token, or exp(sum(lr*m) / max(sum m, 1)) per sequence;
///   kl = exp(ref - logps) - (ref - logps) - 1, times r (before the delta clamp) with use_bias_correction_kl;
///   token loss, by loss_type:
///     grpo, bnpo, dr_grpo, dapo, luspo: r2 = clamp(r, 1 - eps_low, 1 + eps_high) from the ratio before the
///       delta clamp; then r = min(r, delta); -min(r*A, r2*A);
///     cispo: -stopgrad(min(r, eps_high)) * A * logps (eps_high itself is the cap, ScaleRL's eps_max);
///     sapo: -(4 / tau) * sigmoid(tau * (r - 1)) * A, tau = sapo_temperature_pos if A > 0 else _neg;
///     vespo: -phi * A * logps with phi = vespo_gamma_weights(...) (no grad);
///   times the off-policy mask, times the top-entropy mask, + beta * kl; then aggregated:
///   grpo, sapo: mean_rows(sum_t loss*m / max(sum_t m, 1)) / GA; bnpo: sum(loss*m) / max(sum m, 1) / GA;
///   dr_grpo: sum(loss*m) / (B * max_completion_length) / GA; luspo: mean_rows(sum_t loss*m) / GA;
///   dapo, cispo, vespo: sum(loss*m) / (max(N, 1) / processes x GA / steps_per_generation).
/// With entropy_bonus: loss -= entropy_coef * sum(H*m') / max(sum m', 1) / GA, m' = m times the top-entropy
/// mask if any (TRL 1.16: the bonus is a token mean whatever the loss type).
/// Clip metrics use the ratio after the delta clamp (spec §6.B B1): low-clipped r < 1 - eps_low with A < 0,
/// high-clipped r > 1 + eps_high with A > 0. Their *_mean values are token-weighted (row-weighted, empty
/// rows included, at sequence level); low_min / high_max are the min / max over rows of each row's clipped
/// fraction, rows with an empty mask skipped (spec §6.B B5).
GrpoLossOutput grpo_loss(const GrpoLossConfig& config, const GrpoLossInputs& inputs);

/// VESPO's gamma weight of each sequence (grpo_trainer.get_gamma_weights, no vLLM correction), no grad:
///   log w = clamp(sum_t clamp(lr, -20, 20) * m, log 1e-8, 20) (a sum over the sequence, not a mean);
///   k, lambda = (k_pos, lambda_pos) where A >= 0 else (k_neg, lambda_neg), lambda clamped to >= 1e-4;
///   phi = exp(lambda + k log w - lambda w), NaN and inf mapped to 0 (phi(1) = 1).
/// advantages (B, 1); log_ratio, mask (B, T); result (B, 1).
at::Tensor vespo_gamma_weights(const at::Tensor& advantages, const at::Tensor& log_ratio, const at::Tensor& mask,
                               double k_pos, double lambda_pos, double k_neg, double lambda_neg);

/// The entropy at quantile `q` (torch.quantile, linear interpolation) of the given per-token entropies
/// (1-D: every process's unmasked entropies); nullopt when there are none.
std::optional<double> entropy_threshold(const at::Tensor& unmasked_entropies, double q);

/// The top-entropy mask (grpo_trainer.get_high_entropy_mask, spec §5 item 18): tokens whose entropy is
/// >= the `q`-quantile of the entropies of unmasked tokens, never a masked token. With no unmasked token
/// the mask is all false. GRPO passes q = 1 - top_entropy_quantile. entropies, mask: (B, T); result (B, T) bool.
at::Tensor high_entropy_mask(const at::Tensor& entropies, const at::Tensor& mask, double q);

/// The same with a threshold computed elsewhere (entropy_threshold over all processes).
at::Tensor high_entropy_mask_at(const at::Tensor& entropies, const at::Tensor& mask, std::optional<double> threshold);

/// The off-policy sequence mask (DeepSeek-V3.2 eq. 9; grpo_trainer.get_off_policy_mask, spec §5 item 17):
/// keep a row if A >= 0 or mean over its unmasked tokens of (sampling_logps - logps) <= threshold (the
/// mean's count clamped to >= 1). advantages (B,) or (B, 1); others (B, T); result (B, 1) in mask's dtype.
at::Tensor off_policy_mask(const at::Tensor& advantages, const at::Tensor& logps, const at::Tensor& sampling_logps,
                           const at::Tensor& mask, double threshold);

}  // namespace trl::gfpo
