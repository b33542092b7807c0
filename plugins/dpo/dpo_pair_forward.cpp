// Forward of a preference batch with shared prompts (dpo_pair_forward.h).
#include "dpo_pair_forward.h"

#include <ATen/ATen.h>

#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/shared_prefix.h"

namespace trl::dpo {

at::Tensor pair_hidden_states(const CausalLM& model, const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  TRL_INTERNAL_ASSERT(input_ids.dim() == 2 && input_ids.size(0) % 2 == 0, "pair forward: rows must be 2B");
  const int64_t B = input_ids.size(0) / 2;
  const at::Tensor pair = at::arange(B, at::kLong);
  const at::Tensor source = at::cat({pair, pair});  // row i + B shares row i's prompt
  const int64_t prefix = shared_prefix_length(input_ids, attention_mask, source);
  return shared_prefix_hidden_states(model, input_ids, attention_mask, source, prefix);
}

}  // namespace trl::dpo
