// Token-level DPO metrics (spec §1.7; TRL dpo_trainer.py _compute_loss, "Log the metrics").
#include "dpo_token_metrics.h"

#include <string>

#include <ATen/ATen.h>

#include "trl/sdk/error.h"

namespace trl::dpo {
namespace {

at::Tensor masked_sum(const at::Tensor& values, const at::Tensor& keep) {
  const at::Tensor v = values.detach().to(at::kDouble);
  return at::where(keep, v, at::zeros_like(v)).sum();
}

// TRL: sum / count if count > 0 else 0.0, without reading the device.
at::Tensor ratio_or_zero(const at::Tensor& sum, const at::Tensor& count) {
  return at::where(count.gt(0), sum / count.clamp_min(1.0), at::zeros_like(sum));
}

}  // namespace

DpoTokenMetricSums dpo_token_metric_sums(const at::Tensor& entropy, const at::Tensor& mean_logit,
                                         const at::Tensor& argmax_hit, const at::Tensor& label_mask) {
  TRL_INTERNAL_ASSERT(entropy.defined() && mean_logit.defined() && argmax_hit.defined() && label_mask.defined(),
                      "dpo_token_metric_sums: undefined input");
  TRL_INTERNAL_ASSERT(label_mask.dim() == 2 && label_mask.size(0) % 2 == 0 && entropy.sizes() == label_mask.sizes() &&
                          mean_logit.sizes() == label_mask.sizes() && argmax_hit.sizes() == label_mask.sizes(),
                      "dpo_token_metric_sums: entropy, mean_logit, argmax_hit and label_mask must all be (2B, L)");
  const int64_t B = label_mask.size(0) / 2;
  const at::Tensor keep = label_mask.to(at::kBool);       // (2B, L)
  const at::Tensor keep_chosen = keep.narrow(0, 0, B);    // (B, L)
  const at::Tensor keep_rejected = keep.narrow(0, B, B);  // (B, L)

  DpoTokenMetricSums sums;
  sums.entropy_sum = masked_sum(entropy, keep);
  sums.completion_tokens = keep.sum().to(at::kDouble);
  sums.chosen_logit_sum = masked_sum(mean_logit.narrow(0, 0, B), keep_chosen);
  sums.chosen_tokens = keep_chosen.sum().to(at::kDouble);
  sums.rejected_logit_sum = masked_sum(mean_logit.narrow(0, B, B), keep_rejected);
  sums.rejected_tokens = keep_rejected.sum().to(at::kDouble);
  sums.chosen_correct = (argmax_hit.narrow(0, 0, B).to(at::kBool) & keep_chosen).sum().to(at::kDouble);
  return sums;
}

at::Tensor DpoTokenMetricSums::packed() const {
  return at::stack({entropy_sum, completion_tokens, chosen_logit_sum, chosen_tokens, rejected_logit_sum,
                    rejected_tokens, chosen_correct})
      .to(at::kDouble);
}

DpoTokenMetricSums DpoTokenMetricSums::from_packed(const at::Tensor& packed) {
  TRL_INTERNAL_ASSERT(packed.dim() == 1 && packed.size(0) == 7, "DpoTokenMetricSums::from_packed: expected (7,)");
  const at::Tensor p = packed.to(at::kDouble);
  DpoTokenMetricSums sums;
  sums.entropy_sum = p[0];
  sums.completion_tokens = p[1];
  sums.chosen_logit_sum = p[2];
  sums.chosen_tokens = p[3];
  sums.rejected_logit_sum = p[4];
  sums.rejected_tokens = p[5];
  sums.chosen_correct = p[6];
  return sums;
}

std::vector<std::pair<std::string, at::Tensor>> DpoTokenMetricSums::metrics() const {
  return {
      {"entropy", ratio_or_zero(entropy_sum, completion_tokens)},
      {"logits/chosen", ratio_or_zero(chosen_logit_sum, chosen_tokens)},
      {"logits/rejected", ratio_or_zero(rejected_logit_sum, rejected_tokens)},
      {"mean_token_accuracy", ratio_or_zero(chosen_correct, chosen_tokens)},
  };
}

}  // namespace trl::dpo
