// WPO weights (spec §1.5, §6.A A5; TRL dpo_trainer.py _compute_loss, the use_weighting block; WPO paper Eq. 2).
#include "dpo_wpo.h"

#include <string>

#include <ATen/ATen.h>

#include "trl/sdk/error.h"

namespace trl::dpo {

at::Tensor wpo_weights(const at::Tensor& per_token_logps, const at::Tensor& log_sum_p2, const at::Tensor& label_mask) {
  TRL_INTERNAL_ASSERT(per_token_logps.defined() && log_sum_p2.defined() && label_mask.defined(),
                      "wpo_weights: undefined input");
  TRL_INTERNAL_ASSERT(per_token_logps.dim() == 2 && per_token_logps.sizes() == log_sum_p2.sizes() &&
                          per_token_logps.sizes() == label_mask.sizes(),
                      "wpo_weights: per_token_logps, log_sum_p2 and label_mask must all be (2B, L), got " +
                          std::string(c10::str(per_token_logps.sizes(), ", ", log_sum_p2.sizes(), ", ",
                                               label_mask.sizes())));
  TRL_INTERNAL_ASSERT(at::isFloatingType(per_token_logps.scalar_type()), "wpo_weights: log-probs must be floating point");
  // The weights scale the loss but are not trained through (TRL computes them under no_grad).
  const at::Tensor logps = per_token_logps.detach();                                   // (2B, L)
  const at::Tensor keep = label_mask.to(at::kBool);                                    // (2B, L)
  const at::Tensor aligned = logps - log_sum_p2.detach().to(logps.scalar_type());      // (2B, L)
  const at::Tensor summed = at::where(keep, aligned, at::zeros_like(aligned)).sum(/*dim=*/1);  // (2B,)
  const at::Tensor lengths = keep.sum(/*dim=*/1).clamp_min(1).to(logps.scalar_type()); // (2B,)
  return at::exp(summed / lengths);
}

}  // namespace trl::dpo
