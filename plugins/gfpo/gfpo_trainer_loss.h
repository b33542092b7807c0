// gfpo_trainer_loss.h: the gfpo trainer's loss step: the policy's per-token statistics at the completion
// positions of a micro-batch, and the GRPO loss of that micro-batch (spec §3.4).
//
// Letters: B rows, P prompt width, C completion width, H hidden size.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "gfpo_trainer_buffer.h"
#include "grpo_loss.h"
#include "trl/sdk/model/token_stats.h"

namespace trl {
class CausalLM;
}

namespace trl::gfpo {

/// Token statistics of `model` for each completion token of `batch`, (B, C) each: one forward over the
/// prompt + completion rows (attention mask = prompt mask and completion mask, so a masked truncated
/// completion is not attended, as TRL), then token_stats on the positions that predict a completion token,
/// with logits divided by `temperature` (spec §3.4). Positions whose completion mask is 0 are not labelled
/// (their log-prob and entropy are 0). The log-probs are differentiable unless called under a no-grad guard;
/// the entropy too with `entropy_grad` (the entropy bonus).
TokenStats completion_token_stats(const CausalLM& model, const MicroBatch& batch, double temperature, bool entropy,
                                  bool entropy_grad = false);

/// model.hidden_states(input_ids, attention_mask) (B, P + C, H) of prompt + completion rows, equal up to
/// float rounding, with the columns of each prompt (the first `prompt_width`) computed once for the rows
/// that hold it (shared_prefix.h). The split stays at the prompt width even when a group's completions
/// begin alike, so where it falls does not depend on which rows a batch holds (a rank's share computes
/// what one process computes, to float rounding). attention_mask may be undefined (all real).
at::Tensor prompt_shared_hidden_states(const CausalLM& model, const at::Tensor& input_ids,
                                       const at::Tensor& attention_mask, int64_t prompt_width);

/// Everything grpo_loss needs besides the micro-batch.
struct LossSettings {
  GrpoLossConfig loss;                      ///< the loss knobs
  double temperature = 1.0;                 ///< divides the logits (as at sampling time)
  double num_items_in_batch = 1.0;          ///< dapo's N for the whole generation batch
  int64_t gradient_accumulation_steps = 1;  ///< GA in training, 1 in evaluation
  int64_t num_processes = 1;                ///< data-parallel ranks: dapo divides N by it (spec §3.4)
  int64_t steps_per_generation = 1;         ///< steps_per_generation in training, 1 in evaluation (GrpoLossInputs)
  double entropy_coef = 0.0;                ///< the entropy bonus's coefficient this micro-step (GrpoLossInputs)
};

/// The GRPO loss of one micro-batch of `model` (grpo_loss with the buffered old and reference log-probs;
/// entropies always, for the `entropy` metric and the top-entropy mask, differentiable when the entropy bonus
/// is on). An empty micro-batch gives a zero
/// loss that requires grad and touches no weight, and no metrics.
GrpoLossOutput micro_batch_loss(const CausalLM& model, const MicroBatch& batch, const LossSettings& settings);

/// Per-token log-probs (B, C) of `model` on `batch` without gradient: the old policy right after
/// generation, or the reference model.
at::Tensor completion_logps_no_grad(const CausalLM& model, const MicroBatch& batch, double temperature);

}  // namespace trl::gfpo
