// The gfpo trainer's loss step (see gfpo_trainer_loss.h). B rows, P prompt width, C completion width.
#include "gfpo_trainer_loss.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/shared_prefix.h"

namespace trl::gfpo {

at::Tensor prompt_shared_hidden_states(const CausalLM& model, const at::Tensor& input_ids,
                                       const at::Tensor& attention_mask, int64_t prompt_width) {
  const at::Tensor source = prefix_sources(input_ids, attention_mask, prompt_width);  // (B)
  const int64_t shared = std::min(prompt_width, shared_prefix_length(input_ids, attention_mask, source));
  return shared_prefix_hidden_states(model, input_ids, attention_mask, source, shared);
}

TokenStats completion_token_stats(const CausalLM& model, const MicroBatch& batch, double temperature, bool entropy,
                                  bool entropy_grad) {
  const int64_t P = batch.prompt_ids.size(1);
  const int64_t C = batch.completion_ids.size(1);
  const at::Tensor input_ids = at::cat({batch.prompt_ids, batch.completion_ids}, 1);            // (B, P + C)
  const at::Tensor attention_mask = at::cat({batch.prompt_mask, batch.completion_mask}, 1);     // (B, P + C)
  // The G generations of a prompt share its P columns: computed once per prompt.
  const at::Tensor hidden = prompt_shared_hidden_states(model, input_ids, attention_mask, P);   // (B, P + C, H)
  // Position P - 1 + t predicts completion token t.
  const at::Tensor predicting = hidden.narrow(1, P - 1, C);                                     // (B, C, H)
  const at::Tensor labels = batch.completion_ids.masked_fill(batch.completion_mask.eq(0), kIgnoreIndex);  // (B, C)
  TokenStatsOptions options;
  options.temperature = temperature;
  options.entropy = entropy;
  options.entropy_grad = entropy_grad;
  return token_stats(model, predicting, labels, options);
}

at::Tensor completion_logps_no_grad(const CausalLM& model, const MicroBatch& batch, double temperature) {
  const at::NoGradGuard no_grad;
  return completion_token_stats(model, batch, temperature, /*entropy=*/false).logps;
}

GrpoLossOutput micro_batch_loss(const CausalLM& model, const MicroBatch& batch, const LossSettings& settings) {
  if (batch.rows() == 0) {
    // Nothing to learn from (every kept row fell into the dropped remainder): a zero that backward() accepts.
    GrpoLossOutput out;
    out.loss = at::zeros({}, at::kFloat).requires_grad_(true);
    out.policy_loss = at::zeros({}, at::kFloat);
    return out;
  }
  const TokenStats stats = completion_token_stats(model, batch, settings.temperature, /*entropy=*/true,
                                                  /*entropy_grad=*/settings.loss.entropy_bonus);
  GrpoLossInputs inputs;
  inputs.logps = stats.logps;                                                   // (B, C), with grad
  inputs.old_logps = batch.old_logps;                                           // undefined = detached current
  inputs.ref_logps = batch.ref_logps;
  inputs.advantages = batch.advantages;                                         // (B,)
  inputs.completion_mask = batch.completion_mask.to(stats.logps.scalar_type());  // (B, C)
  inputs.entropies = stats.entropy;
  inputs.num_items_in_batch = settings.num_items_in_batch;
  inputs.gradient_accumulation_steps = settings.gradient_accumulation_steps;
  inputs.num_processes = settings.num_processes;
  inputs.steps_per_generation = settings.steps_per_generation;
  inputs.entropy_coef = settings.entropy_coef;
  return grpo_loss(settings.loss, inputs);
}

}  // namespace trl::gfpo
