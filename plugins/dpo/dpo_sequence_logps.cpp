// Sequence log-probs and LD-DPO (spec §1.4; TRL dpo_trainer.py _compute_loss, the ld_alpha branch).
#include "dpo_sequence_logps.h"

#include <string>

#include <ATen/ATen.h>

#include "trl/sdk/error.h"

namespace trl::dpo {
namespace {

void check_token_inputs(const at::Tensor& per_token_logps, const at::Tensor& label_mask) {
  TRL_INTERNAL_ASSERT(per_token_logps.defined() && label_mask.defined(), "sequence log-probs: undefined input");
  TRL_INTERNAL_ASSERT(per_token_logps.dim() == 2 && per_token_logps.sizes() == label_mask.sizes(),
                      "sequence log-probs: per_token_logps " + std::string(c10::str(per_token_logps.sizes())) +
                          " and label_mask " + std::string(c10::str(label_mask.sizes())) +
                          " must both be (2B, L)");
  TRL_INTERNAL_ASSERT(at::isFloatingType(per_token_logps.scalar_type()),
                      "sequence log-probs: per_token_logps must be floating point");
  TRL_INTERNAL_ASSERT(per_token_logps.device() == label_mask.device(),
                      "sequence log-probs: per_token_logps and label_mask on different devices");
}

}  // namespace

at::Tensor summed_logps(const at::Tensor& per_token_logps, const at::Tensor& label_mask) {
  check_token_inputs(per_token_logps, label_mask);
  const at::Tensor keep = label_mask.to(at::kBool);                                  // (2B, L)
  // Sum, not mean (spec §1.4): a mean would quietly rescale beta by length.
  return at::where(keep, per_token_logps, at::zeros_like(per_token_logps)).sum(/*dim=*/1);  // (2B,)
}

at::Tensor sequence_logps(const at::Tensor& per_token_logps, const at::Tensor& label_mask,
                          std::optional<double> ld_alpha) {
  if (!ld_alpha) return summed_logps(per_token_logps, label_mask);
  check_token_inputs(per_token_logps, label_mask);
  TRL_INTERNAL_ASSERT(per_token_logps.size(0) % 2 == 0, "LD-DPO: rows must be 2B (chosen, then rejected)");
  const at::Tensor keep = label_mask.to(at::kBool);                                  // (2B, L)
  const at::Tensor position = keep.to(at::kLong).cumsum(/*dim=*/1);                  // (2B, L) 1-based count
  const at::Tensor lengths = keep.sum(/*dim=*/1);                                    // (2B,) int64
  const std::vector<at::Tensor> halves = lengths.chunk(2, /*dim=*/0);
  const at::Tensor shared = at::minimum(halves[0], halves[1]);                       // (B,) ℓ_i
  const at::Tensor shared_rows = at::cat({shared, shared}, /*dim=*/0).unsqueeze(1);  // (2B, 1)
  const at::Tensor in_shared = keep & position.le(shared_rows);                      // (2B, L)
  const at::Tensor in_tail = keep & position.gt(shared_rows);                        // (2B, L)
  const at::Tensor zero = at::zeros_like(per_token_logps);
  const at::Tensor shared_logps = at::where(in_shared, per_token_logps, zero).sum(/*dim=*/1);  // (2B,)
  const at::Tensor tail_logps = at::where(in_tail, per_token_logps, zero).sum(/*dim=*/1);      // (2B,)
  return shared_logps + *ld_alpha * tail_logps;
}

}  // namespace trl::dpo
