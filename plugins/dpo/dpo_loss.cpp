// The DPO loss and its reward metrics (spec §1.5, §1.7; TRL dpo_trainer.py _compute_loss at HEAD f2cd57710).
#include "dpo_loss.h"

#include <string>

#include <ATen/ATen.h>

#include "dpo_f_divergence.h"
#include "dpo_pair_losses.h"
#include "dpo_sequence_logps.h"
#include "dpo_wpo.h"
#include "trl/sdk/error.h"

namespace trl::dpo {
namespace {

// A (B,) input of dpo_loss(): the caller's contract, so a violation is a bug, not a user error.
void check_rows(const at::Tensor& t, const char* name, const at::Tensor& like, bool same_dtype) {
  TRL_INTERNAL_ASSERT(t.defined(), std::string("dpo_loss: DpoLossInputs::") + name + " is required by this config");
  TRL_INTERNAL_ASSERT(t.dim() == 1 && t.size(0) == like.size(0),
                      std::string("dpo_loss: ") + name + " must be (B,) with B = " + std::to_string(like.size(0)) +
                          ", got " + std::string(c10::str(t.sizes())));
  TRL_INTERNAL_ASSERT(t.device() == like.device(), std::string("dpo_loss: ") + name + " is on " +
                                                       t.device().str() + ", the policy log-probs on " +
                                                       like.device().str());
  if (same_dtype)
    TRL_INTERNAL_ASSERT(t.scalar_type() == like.scalar_type(),
                        std::string("dpo_loss: ") + name + " is " + c10::toString(t.scalar_type()) +
                            ", the policy log-probs are " + c10::toString(like.scalar_type()));
}

}  // namespace

DpoLossResult dpo_loss(const DpoLossInputs& in, const DpoLossConfig& config) {
  TRL_INTERNAL_ASSERT(in.chosen_logps.defined() && in.chosen_logps.dim() == 1 && in.chosen_logps.size(0) > 0,
                      "dpo_loss: chosen_logps must be (B,) with B > 0");
  TRL_INTERNAL_ASSERT(at::isFloatingType(in.chosen_logps.scalar_type()),
                      "dpo_loss: chosen_logps must be floating point");
  const at::Tensor& like = in.chosen_logps;
  const int64_t B = like.size(0);
  check_rows(in.rejected_logps, "rejected_logps", like, /*same_dtype=*/true);
  // A few comparisons per call: a config built in code (not read through dpo_params) is checked too.
  validate(config, "dpo loss config");
  const DpoLossNeeds needs = dpo_loss_needs(config);

  DpoPairTerms terms;
  terms.chosen_logps = in.chosen_logps;
  terms.rejected_logps = in.rejected_logps;
  check_rows(in.ref_chosen_logps, "ref_chosen_logps", like, /*same_dtype=*/false);
  check_rows(in.ref_rejected_logps, "ref_rejected_logps", like, /*same_dtype=*/false);
  // Precomputed columns may be stored in another dtype; the reference never carries a gradient.
  const at::Tensor ref_chosen_logps = in.ref_chosen_logps.detach().to(like.scalar_type());      // (B,)
  const at::Tensor ref_rejected_logps = in.ref_rejected_logps.detach().to(like.scalar_type());  // (B,)
  // Legacy reference_free (§1.9): the loss reads the reference log-probs as 0, for every loss type (legacy
  // TRL did so only where it wrote `(not reference_free) * ref`; bco_pair, sppo_hard, nca_pair, aot_pair and
  // discopop read the reference there regardless, docs/user-guide.md). The rewards below use the reference.
  terms.ref_chosen_logps = config.reference_free ? at::zeros_like(like).detach() : ref_chosen_logps;
  terms.ref_rejected_logps = config.reference_free ? at::zeros_like(like).detach() : ref_rejected_logps;
  terms.chosen_logratios = terms.chosen_logps - terms.ref_chosen_logps;        // (B,) ρ_c
  terms.rejected_logratios = terms.rejected_logps - terms.ref_rejected_logps;  // (B,) ρ_r
  terms.chosen_scores = f_divergence_scores(terms.chosen_logratios, config.f_divergence_type,
                                            config.f_alpha_divergence_coef);
  terms.rejected_scores = f_divergence_scores(terms.rejected_logratios, config.f_divergence_type,
                                              config.f_alpha_divergence_coef);
  if (needs.completion_lengths) {
    check_rows(in.chosen_lengths, "chosen_lengths", like, /*same_dtype=*/false);
    check_rows(in.rejected_lengths, "rejected_lengths", like, /*same_dtype=*/false);
    terms.chosen_lengths = in.chosen_lengths.to(like.scalar_type()).clamp_min(1.0);
    terms.rejected_lengths = in.rejected_lengths.to(like.scalar_type()).clamp_min(1.0);
  }
  if (needs.sft) {
    check_rows(in.sft_chosen_logps, "sft_chosen_logps", like, /*same_dtype=*/true);
    check_rows(in.sft_chosen_tokens, "sft_chosen_tokens", like, /*same_dtype=*/false);
    // Token-weighted over the whole local batch, not a mean of per-row means (§6.A A6).
    terms.sft_loss = -in.sft_chosen_logps.sum() / in.sft_chosen_tokens.sum().to(like.scalar_type());
  }
  at::Tensor pair_weights;  // (B,) w_chosen · w_rejected
  if (needs.wpo_weights) {
    check_rows(in.chosen_weights, "chosen_weights", like, /*same_dtype=*/false);
    check_rows(in.rejected_weights, "rejected_weights", like, /*same_dtype=*/false);
    pair_weights = (in.chosen_weights.detach() * in.rejected_weights.detach()).to(like.scalar_type());
  }

  at::Tensor loss;  // 0-dim
  for (const auto& [type, weight] : weighted_loss_terms(config)) {
    at::Tensor per_pair = dpo_pair_loss(type, terms, config);  // (B,)
    // Out of place: TRL's in-place `*=` crashes for hinge (backward) and sft (expanded view), §6.A A1.
    if (pair_weights.defined()) per_pair = per_pair * pair_weights;
    const at::Tensor term = per_pair.mean() * weight;
    loss = loss.defined() ? loss + term : term;
  }

  DpoLossResult result;
  result.loss = loss;
  // Legacy TRL: chosen_rewards = beta * (chosen_logps - ref_chosen_logps), the reference's even when
  // reference_free zeroed it in the loss.
  result.chosen_rewards = (config.beta * (in.chosen_logps - ref_chosen_logps)).detach();
  result.rejected_rewards = (config.beta * (in.rejected_logps - ref_rejected_logps)).detach();
  result.chosen_logps = in.chosen_logps.detach();
  result.rejected_logps = in.rejected_logps.detach();
  TRL_INTERNAL_ASSERT(result.chosen_rewards.size(0) == B, "dpo_loss: reward rows lost their batch size");
  return result;
}

std::vector<std::pair<std::string, at::Tensor>> DpoLossResult::metrics() const {
  return {
      {"rewards/chosen", chosen_rewards.mean()},
      {"rewards/rejected", rejected_rewards.mean()},
      // TRL: (chosen_rewards > rejected_rewards).float().mean(): strict, so 0 when policy == reference.
      {"rewards/accuracies", chosen_rewards.gt(rejected_rewards).to(at::kFloat).mean()},
      {"rewards/margins", (chosen_rewards - rejected_rewards).mean()},
      {"logps/chosen", chosen_logps.mean()},
      {"logps/rejected", rejected_logps.mean()},
  };
}

DpoLossInputs dpo_loss_inputs(const DpoTokenInputs& tokens, const DpoLossConfig& config) {
  const DpoLossNeeds needs = dpo_loss_needs(config);
  const at::Tensor& logps = tokens.per_token_logps;  // (2B, L)
  TRL_INTERNAL_ASSERT(logps.defined() && logps.dim() == 2 && logps.size(0) > 0 && logps.size(0) % 2 == 0,
                      "dpo_loss_inputs: per_token_logps must be (2B, L) with B > 0");
  const int64_t B = logps.size(0) / 2;
  DpoLossInputs in;

  const std::vector<at::Tensor> policy = sequence_logps(logps, tokens.label_mask, config.ld_alpha).chunk(2, 0);
  in.chosen_logps = policy[0];    // (B,)
  in.rejected_logps = policy[1];  // (B,)

  if (tokens.ref_per_token_logps.defined()) {
    TRL_INTERNAL_ASSERT(tokens.ref_per_token_logps.sizes() == logps.sizes(),
                        "dpo_loss_inputs: ref_per_token_logps must have the shape of per_token_logps");
    // TRL HEAD applies LD to the reference too, with the same shared lengths (§1.4).
    const std::vector<at::Tensor> ref =
        sequence_logps(tokens.ref_per_token_logps.detach(), tokens.label_mask, config.ld_alpha).chunk(2, 0);
    in.ref_chosen_logps = ref[0];
    in.ref_rejected_logps = ref[1];
  }

  if (needs.completion_lengths) {
    const at::Tensor& mask = tokens.completion_mask;  // (2B, T)
    TRL_INTERNAL_ASSERT(mask.defined() && mask.dim() == 2 && mask.size(0) == 2 * B,
                        "dpo_loss_inputs: ipo and sigmoid_norm need completion_mask (2B, T)");
    const std::vector<at::Tensor> lengths = mask.to(at::kBool).sum(/*dim=*/1).chunk(2, 0);  // (B,) each
    in.chosen_lengths = lengths[0];
    in.rejected_lengths = lengths[1];
  }

  if (needs.sft) {
    // Raw log-probs, no LD weighting (§6.A A6); only the chosen half.
    const at::Tensor chosen_tokens = logps.narrow(0, 0, B);                 // (B, L)
    const at::Tensor chosen_mask = tokens.label_mask.narrow(0, 0, B);       // (B, L)
    in.sft_chosen_logps = summed_logps(chosen_tokens, chosen_mask);         // (B,)
    in.sft_chosen_tokens = chosen_mask.to(at::kBool).sum(/*dim=*/1);        // (B,) int64
  }

  if (needs.wpo_weights) {
    TRL_INTERNAL_ASSERT(tokens.log_sum_p2.defined(), "dpo_loss_inputs: use_weighting needs log_sum_p2 (2B, L)");
    const std::vector<at::Tensor> weights = wpo_weights(logps, tokens.log_sum_p2, tokens.label_mask).chunk(2, 0);
    in.chosen_weights = weights[0];
    in.rejected_weights = weights[1];
  }
  return in;
}

}  // namespace trl::dpo
