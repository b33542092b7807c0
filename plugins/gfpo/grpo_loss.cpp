// The GRPO clipped policy loss, its masks and metrics (spec §3.4, §3.5, §5 items 17-18, §6.B B1, B5-B8).
// B rows, T completion tokens; the importance ratio is (B, T) per token or (B, 1) per sequence.
#include "grpo_loss.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "trl/sdk/error.h"

namespace trl::gfpo {

GrpoLossConfig GrpoLossConfig::from(const GrpoConfig& config) {
  GrpoLossConfig c;
  c.loss_type = config.loss_type;
  c.importance_sampling_level = config.importance_sampling_level;
  c.epsilon_low = config.epsilon_low;
  c.epsilon_high = config.epsilon_high;
  c.delta = config.delta;
  c.beta = config.beta;
  c.use_bias_correction_kl = config.use_bias_correction_kl;
  c.top_entropy_quantile = config.top_entropy_quantile;
  c.off_policy_mask_threshold = config.off_policy_mask_threshold;
  c.max_completion_length = config.max_completion_length;
  c.sapo_temperature_pos = config.sapo_temperature_pos;
  c.sapo_temperature_neg = config.sapo_temperature_neg;
  c.vespo_k_pos = config.vespo_k_pos;
  c.vespo_lambda_pos = config.vespo_lambda_pos;
  c.vespo_k_neg = config.vespo_k_neg;
  c.vespo_lambda_neg = config.vespo_lambda_neg;
  c.entropy_bonus = config.entropy_bonus();
  return c;
}

bool normalizes_by_items(LossType type) {
  return type == LossType::dapo || type == LossType::cispo || type == LossType::vespo;
}

bool clipped_objective(LossType type) {
  return type == LossType::grpo || type == LossType::bnpo || type == LossType::dr_grpo || type == LossType::dapo ||
         type == LossType::luspo;
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void check_same_shape(const at::Tensor& t, const at::Tensor& logps, const char* name) {
  TRL_INTERNAL_ASSERT(t.sizes() == logps.sizes(), std::string(name) + " must have the shape of logps (B, T)");
  TRL_INTERNAL_ASSERT(t.device() == logps.device(), std::string(name) + " must be on the device of logps");
}

// Advantages as (B, 1), in the loss dtype.
at::Tensor advantages_column(const at::Tensor& advantages, int64_t rows, at::ScalarType dtype) {
  TRL_INTERNAL_ASSERT(advantages.defined() && advantages.numel() == rows &&
                          (advantages.dim() == 1 || (advantages.dim() == 2 && advantages.size(1) == 1)),
                      "advantages must be (B,) or (B, 1)");
  return advantages.reshape({rows, 1}).to(dtype);
}

// NaN-skipping min / max over a 1-D tensor; NaN when every value is NaN (utils.nanmin / nanmax).
// Written without a boolean index so that it never waits on the device.
at::Tensor nanmin(const at::Tensor& x) {
  const at::Tensor nan = at::isnan(x);
  const at::Tensor min = at::where(nan, at::full_like(x, kInf), x).min();
  return at::where(nan.all(), at::full_like(min, kNaN), min);
}
at::Tensor nanmax(const at::Tensor& x) {
  const at::Tensor nan = at::isnan(x);
  const at::Tensor max = at::where(nan, at::full_like(x, -kInf), x).max();
  return at::where(nan.all(), at::full_like(max, kNaN), max);
}

}  // namespace

std::optional<double> entropy_threshold(const at::Tensor& unmasked_entropies, double q) {
  TRL_INTERNAL_ASSERT(q >= 0.0 && q <= 1.0, "quantile must be in [0, 1]");
  if (unmasked_entropies.numel() == 0) return std::nullopt;
  // TRL takes the quantile in float32 (`.float()`); float64 entropies keep their precision here.
  const at::Tensor values = unmasked_entropies.scalar_type() == at::kDouble ? unmasked_entropies.reshape({-1})
                                                                             : unmasked_entropies.reshape({-1}).to(at::kFloat);
  return at::quantile(values, q).item<double>();
}

at::Tensor high_entropy_mask_at(const at::Tensor& entropies, const at::Tensor& mask, std::optional<double> threshold) {
  check_same_shape(mask, entropies, "mask");
  const at::Tensor keep = mask.to(at::kBool);  // (B, T)
  if (!threshold) return at::zeros_like(keep);
  // TRL compares entropies * mask, then ands the mask again so padding is never kept.
  const at::Tensor masked_entropies = entropies * mask.to(entropies.scalar_type());  // (B, T)
  return masked_entropies.ge(*threshold).logical_and(keep);
}

at::Tensor high_entropy_mask(const at::Tensor& entropies, const at::Tensor& mask, double q) {
  check_same_shape(mask, entropies, "mask");
  return high_entropy_mask_at(entropies, mask, entropy_threshold(entropies.masked_select(mask.to(at::kBool)), q));
}

at::Tensor off_policy_mask(const at::Tensor& advantages, const at::Tensor& logps, const at::Tensor& sampling_logps,
                           const at::Tensor& mask, double threshold) {
  check_same_shape(sampling_logps, logps, "sampling_logps");
  check_same_shape(mask, logps, "mask");
  const int64_t B = logps.size(0);
  const at::Tensor A = advantages.reshape({B, 1});                                           // (B, 1)
  const at::Tensor kl_div = sampling_logps - logps.detach();                                 // (B, T) log pi_old - log pi
  const at::Tensor seq_kl_sum = (kl_div * mask).sum(1, /*keepdim=*/true);                    // (B, 1)
  const at::Tensor avg_seq_kl = seq_kl_sum / mask.sum(1, /*keepdim=*/true).clamp_min(1.0);   // (B, 1)
  return A.ge(0).logical_or(avg_seq_kl.le(threshold)).to(mask.scalar_type());               // (B, 1)
}

at::Tensor vespo_gamma_weights(const at::Tensor& advantages, const at::Tensor& log_ratio, const at::Tensor& mask,
                               double k_pos, double lambda_pos, double k_neg, double lambda_neg) {
  const at::NoGradGuard no_grad;
  // log(1e-8) rather than -20: TRL keeps the original implementation's lower bound.
  const double lower_clamp = std::log(1e-8);
  const at::Tensor seq_log_ratio = (log_ratio.detach().clamp(-20.0, 20.0) * mask).sum(-1, /*keepdim=*/true);  // (B, 1)
  const at::Tensor log_w = seq_log_ratio.clamp(lower_clamp, 20.0);
  const at::Tensor w = log_w.exp();
  const at::Tensor nonneg = advantages.ge(0);                                            // (B, 1)
  const at::Tensor k = at::where(nonneg, at::full_like(log_w, k_pos), at::full_like(log_w, k_neg));
  const at::Tensor lambda =
      at::where(nonneg, at::full_like(log_w, lambda_pos), at::full_like(log_w, lambda_neg)).clamp_min(1e-4);
  const at::Tensor log_phi = lambda + k * log_w - lambda * w;  // log phi(w) = lambda + k log w - lambda w
  return at::nan_to_num(log_phi.exp(), 0.0, 0.0, 0.0);         // (B, 1)
}

GrpoLossOutput grpo_loss(const GrpoLossConfig& config, const GrpoLossInputs& inputs) {
  const at::Tensor& logps = inputs.logps;  // (B, T)
  TRL_INTERNAL_ASSERT(logps.defined() && logps.dim() == 2 && logps.is_floating_point(), "logps must be (B, T) float");
  check_same_shape(inputs.completion_mask, logps, "completion_mask");
  TRL_INTERNAL_ASSERT(inputs.gradient_accumulation_steps >= 1 && inputs.num_processes >= 1 &&
                          inputs.steps_per_generation >= 1,
                      "gradient_accumulation_steps, num_processes and steps_per_generation must be >= 1");
  const int64_t B = logps.size(0);
  const at::ScalarType dtype = logps.scalar_type();
  const bool sequence_level = config.importance_sampling_level == ImportanceSamplingLevel::sequence;
  const at::Tensor mask = inputs.completion_mask.to(dtype);                       // (B, T)
  const at::Tensor A = advantages_column(inputs.advantages, B, dtype);            // (B, 1)
  at::Tensor old_logps = logps.detach();                                          // ratio exactly 1 in value
  if (inputs.old_logps.defined()) {
    check_same_shape(inputs.old_logps, logps, "old_logps");
    old_logps = inputs.old_logps.to(dtype);
  }

  at::Tensor entropy_mask;  // (B, T) bool, or undefined = keep every token
  if (config.top_entropy_quantile < 1.0) {
    if (!inputs.entropies.defined())
      throw InternalError("top_entropy_quantile < 1 needs the per-token entropies");
    check_same_shape(inputs.entropies, logps, "entropies");
    entropy_mask = inputs.entropy_threshold
                       ? high_entropy_mask_at(inputs.entropies, mask, inputs.entropy_threshold)
                       : high_entropy_mask(inputs.entropies, mask, 1.0 - config.top_entropy_quantile);
  }
  at::Tensor sequence_mask;  // (B, 1), or undefined = keep every row
  if (config.off_policy_mask_threshold) {
    const at::Tensor sampling = inputs.sampling_logps.defined() ? inputs.sampling_logps.to(dtype) : old_logps;
    sequence_mask = off_policy_mask(A, logps, sampling, mask, *config.off_policy_mask_threshold);
  }

  const at::Tensor log_ratio = logps - old_logps;  // (B, T)
  const at::Tensor log_importance_weights =
      sequence_level ? ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)).unsqueeze(-1)  // (B, 1)
                     : log_ratio;                                                                  // (B, T)
  at::Tensor coef_1 = log_importance_weights.exp();

  at::Tensor per_token_kl;  // (B, T)
  if (config.beta != 0.0) {
    if (!inputs.ref_logps.defined()) throw InternalError("beta != 0 needs the reference log-probs");
    check_same_shape(inputs.ref_logps, logps, "ref_logps");
    const at::Tensor ref_minus_policy = inputs.ref_logps.to(dtype) - logps;
    per_token_kl = ref_minus_policy.exp() - ref_minus_policy - 1;  // k3 estimator
    // The correction uses the ratio before the delta clamp (spec §6.B B6).
    if (config.use_bias_correction_kl) per_token_kl = per_token_kl * coef_1;
  }

  at::Tensor per_token_loss;  // (B, T) or (B, 1)
  at::Tensor phi_seq;         // (B, 1), vespo only
  switch (config.loss_type) {
    case LossType::cispo: {
      // MiniMax-M1: the capped importance weight is a constant factor of the REINFORCE term.
      const at::Tensor clamped_ratios = coef_1.clamp_max(config.epsilon_high).detach();
      per_token_loss = -clamped_ratios * A * logps;
      break;
    }
    case LossType::sapo: {
      const at::Tensor temperatures = at::where(A.gt(0), at::full_like(A, config.sapo_temperature_pos),
                                                at::full_like(A, config.sapo_temperature_neg));  // (B, 1)
      const at::Tensor soft_coef_1 = at::sigmoid(temperatures * (coef_1 - 1)) * 4 / temperatures;
      per_token_loss = -soft_coef_1 * A;
      break;
    }
    case LossType::vespo:
      phi_seq = vespo_gamma_weights(A, log_ratio, mask, config.vespo_k_pos, config.vespo_lambda_pos,
                                    config.vespo_k_neg, config.vespo_lambda_neg);
      per_token_loss = -phi_seq * A * logps;
      break;
    default: {
      // The clipped branch uses the ratio before the delta clamp; the clamp only caps the unclipped branch.
      const at::Tensor coef_2 = coef_1.clamp(1.0 - config.epsilon_low, 1.0 + config.epsilon_high);
      if (config.delta) coef_1 = coef_1.clamp_max(*config.delta);
      per_token_loss = -at::min(coef_1 * A, coef_2 * A);
    }
  }
  if (sequence_mask.defined()) per_token_loss = per_token_loss * sequence_mask;
  if (entropy_mask.defined()) per_token_loss = per_token_loss * entropy_mask.to(dtype);
  if (config.beta != 0.0) per_token_loss = per_token_loss + config.beta * per_token_kl;

  const at::Tensor masked_loss = per_token_loss * mask;  // (B, T)
  const double ga = static_cast<double>(inputs.gradient_accumulation_steps);
  at::Tensor loss;
  switch (config.loss_type) {
    case LossType::grpo:
    case LossType::sapo:
      loss = (masked_loss.sum(-1) / mask.sum(-1).clamp_min(1.0)).mean();
      break;
    case LossType::bnpo:
      loss = masked_loss.sum() / mask.sum().clamp_min(1.0);
      break;
    case LossType::dr_grpo:
      loss = masked_loss.sum() / static_cast<double>(B * config.max_completion_length);
      break;
    case LossType::luspo:
      // TRL 1.16 masks before the row sum (a (B, T) loss, e.g. at token level or with the KL term, would
      // otherwise count padding); the GFPO base's (loss * lengths).mean() agrees only for a (B, 1) loss.
      loss = masked_loss.sum(-1).mean();
      break;
    case LossType::dapo:
    case LossType::cispo:
    case LossType::vespo:
      // N spans the whole generation batch on all processes (spec §6.B B7); trl 1.16 rescales it to one
      // accumulation window (x GA / steps_per_generation, 1 with the default steps_per_generation = GA), so the
      // micro-batch losses of an optimizer step sum (and DDP averages) to that window's token mean even when
      // a generation batch serves several optimizer steps. No division by GA.
      loss = masked_loss.sum() / (std::max(inputs.num_items_in_batch, 1.0) / static_cast<double>(inputs.num_processes) *
                                  static_cast<double>(inputs.gradient_accumulation_steps) /
                                  static_cast<double>(inputs.steps_per_generation));
      break;
  }
  GrpoLossOutput out;
  out.policy_loss = loss.detach();
  out.loss = normalizes_by_items(config.loss_type) ? loss : loss / ga;

  if (config.entropy_bonus) {
    // TRL 1.16: L = L_policy - coef * H, H the token mean over the tokens the policy loss acts on, scaled
    // only for gradient accumulation, never by a loss type's own normaliser.
    if (!inputs.entropies.defined()) throw InternalError("the entropy bonus needs the per-token entropies");
    check_same_shape(inputs.entropies, logps, "entropies");
    const at::Tensor effective_mask = entropy_mask.defined() ? mask * entropy_mask.to(dtype) : mask;  // (B, T)
    const at::Tensor entropy_sum = (inputs.entropies.to(dtype) * effective_mask).sum();
    const at::Tensor entropy_tokens = effective_mask.sum();
    const at::Tensor entropy_loss = entropy_sum / entropy_tokens.clamp_min(1.0) / ga;
    out.loss = out.loss - inputs.entropy_coef * entropy_loss;
    out.entropy_sum = entropy_sum.detach();
    out.entropy_tokens = entropy_tokens.detach();
  }

  // Metrics (grpo HEAD, one process). Token-level means weight tokens; at sequence level the clip flags are
  // one per row and every row counts, empty ones included (spec §6.B B5).
  const at::NoGradGuard no_grad;
  const at::Tensor token_count = mask.sum().clamp_min(1.0);
  auto token_mean = [&](const at::Tensor& x) { return ((x * mask).sum() / token_count).detach(); };
  auto flag_mean = [&](const at::Tensor& flags) {
    const at::Tensor x = flags.to(dtype);
    return sequence_level ? (x.sum() / std::max<double>(static_cast<double>(B), 1.0)) : token_mean(x);
  };
  // Per-row clipped fraction; 0/0 = NaN for a token-level row with an empty mask, skipped by nanmin/nanmax.
  auto row_fraction = [&](const at::Tensor& flags) {
    const at::Tensor x = flags.to(dtype);
    return sequence_level ? x.squeeze(1) : (x * mask).sum(-1) / mask.sum(-1);
  };
  if (config.entropy_bonus) out.metrics.emplace_back("policy_loss", out.policy_loss);
  if (config.beta != 0.0) out.metrics.emplace_back("kl", token_mean(per_token_kl));
  if (inputs.entropies.defined()) {
    check_same_shape(inputs.entropies, logps, "entropies");
    out.metrics.emplace_back("entropy", token_mean(inputs.entropies.to(dtype)));
  }
  if (config.loss_type == LossType::cispo) {
    // The uncapped ratio against the cap itself (coef_1 > epsilon_high, not 1 + epsilon_high), as TRL.
    out.metrics.emplace_back("cispo_clip_ratio", flag_mean(coef_1.gt(config.epsilon_high).logical_and(A.gt(0))));
    return out;
  }
  if (config.loss_type == LossType::vespo) {
    // One weight per row: TRL's global_masked_mean of a (B, 1) tensor is the row mean, every row counted.
    const double rows = std::max<double>(static_cast<double>(B), 1.0);
    out.metrics.emplace_back("vespo/phi_seq_mean", (phi_seq.sum() / rows).detach());
    return out;
  }
  if (!clipped_objective(config.loss_type)) return out;
  // After the delta clamp, as TRL (spec §6.B B1).
  const at::Tensor is_low_clipped = coef_1.lt(1.0 - config.epsilon_low).logical_and(A.lt(0));
  const at::Tensor is_high_clipped = coef_1.gt(1.0 + config.epsilon_high).logical_and(A.gt(0));
  const at::Tensor is_region_clipped = is_low_clipped.logical_or(is_high_clipped);
  out.metrics.emplace_back("clip_ratio/low_mean", flag_mean(is_low_clipped));
  out.metrics.emplace_back("clip_ratio/high_mean", flag_mean(is_high_clipped));
  out.metrics.emplace_back("clip_ratio/region_mean", flag_mean(is_region_clipped));
  out.metrics.emplace_back("clip_ratio/low_min", nanmin(row_fraction(is_low_clipped)));
  out.metrics.emplace_back("clip_ratio/high_max", nanmax(row_fraction(is_high_clipped)));
  return out;
}

}  // namespace trl::gfpo
