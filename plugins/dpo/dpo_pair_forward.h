// plugins/dpo/dpo_pair_forward.h: the model's forward over a preference batch, each pair's prompt
// computed once for its chosen and its rejected row.
#pragma once

#include <ATen/core/Tensor.h>

namespace trl {
class CausalLM;
}

namespace trl::dpo {

/// model.hidden_states(input_ids, attention_mask) (2B, T, H) of the collator's rows (pair i is rows i
/// and i + B), equal up to float rounding and with the same gradients, through shared_prefix.h: the
/// columns rows i and i + B share in every pair (at least the shortest prompt, right padding puts
/// every prompt at column 0) are computed once per pair. TRL's concatenated forward computes them
/// twice; with prompts half of each row that is a quarter of the forward and backward work.
at::Tensor pair_hidden_states(const CausalLM& model, const at::Tensor& input_ids, const at::Tensor& attention_mask);

}  // namespace trl::dpo
