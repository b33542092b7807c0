// trl/sdk/model/shared_prefix.h: hidden states of rows that begin with the same tokens, computed once
// for those tokens. DPO's chosen and rejected rows share their prompt, GRPO's G completions of one
// prompt share it too: with prompts half of each row, a quarter of DPO's forward and backward work is
// the second copy of each prompt.
//
// Letters: R rows, T columns, P shared columns, U rows that are their own source, H hidden.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace trl {

class CausalLM;

/// For each row, the first row whose first `columns` columns (ids and mask) equal its own, (R) int64 on
/// the CPU: G generations of one prompt all get the first of them. input_ids and attention_mask (R, T)
/// (mask undefined = all real); 0 <= columns <= T.
at::Tensor prefix_sources(const at::Tensor& input_ids, const at::Tensor& attention_mask, int64_t columns);

/// The largest P < T such that every row r's first P columns (ids and mask) equal those of row
/// source[r]. input_ids and attention_mask (R, T) (mask undefined = all real); source (R) int64, each
/// entry a row that is its own source. 0 when nothing is shared (every row its own source, or the
/// first column differs). Throws InternalError for a bad source.
int64_t shared_prefix_length(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor& source);

/// model.hidden_states(input_ids, attention_mask) (R, T, H), equal up to float rounding and with the
/// same gradients, computed as one forward over the first `prefix` columns of the U source rows, then
/// one over the remaining columns of all R rows attending to their source's keys and values (a growing
/// KVCache). `prefix` must satisfy shared_prefix_length() >= prefix; 0 runs the plain forward. Throws
/// InternalError when the rows do not share `prefix` columns.
at::Tensor shared_prefix_hidden_states(const CausalLM& model, const at::Tensor& input_ids,
                                       const at::Tensor& attention_mask, const at::Tensor& source, int64_t prefix);

}  // namespace trl
