// Shared-prefix forward (trl/sdk/model/shared_prefix.h). Letters as there.
//
// Why it equals the plain forward: attention is causal, so the first P positions of a row never see
// the later ones, and a row sharing them with its source has exactly the source's hidden states, keys
// and values there. The later positions attend to those keys through the cache with the same mask and
// the same position ids (counted over the cached positions, causal_lm_forward.cpp).
#include "trl/sdk/model/shared_prefix.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "causal_lm_impl.h"
#include "trl/sdk/error.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/kv_cache.h"

namespace trl {
namespace {

/// The mask as int64 (R, T), all ones when undefined.
at::Tensor mask_or_ones(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  return attention_mask.defined() ? attention_mask.to(at::kLong) : at::ones_like(input_ids);
}

/// The source rows on the CPU, checked: (R) int64 in [0, R), each one its own source.
std::vector<int64_t> checked_sources(const at::Tensor& input_ids, const at::Tensor& source) {
  const int64_t R = input_ids.size(0);
  TRL_INTERNAL_ASSERT(input_ids.dim() == 2, "shared prefix: input_ids must be (R, T)");
  TRL_INTERNAL_ASSERT(source.dim() == 1 && source.size(0) == R && source.scalar_type() == at::kLong,
                      "shared prefix: source must be (R) int64 with input_ids' R");
  const at::Tensor cpu = source.cpu().contiguous();
  std::vector<int64_t> rows(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + R);
  for (int64_t r = 0; r < R; ++r) {
    const int64_t s = rows[static_cast<size_t>(r)];
    TRL_INTERNAL_ASSERT(s >= 0 && s < R && rows[static_cast<size_t>(s)] == s,
                        "shared prefix: row " + std::to_string(r) + "'s source " + std::to_string(s) +
                            " is not a row that is its own source");
  }
  return rows;
}

/// shared_prefix_length() for `sources`, the checked_sources() of `source`.
int64_t shared_columns(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor& source,
                       const std::vector<int64_t>& sources) {
  const int64_t R = input_ids.size(0), T = input_ids.size(1);
  bool any_shared = false;
  for (int64_t r = 0; r < R; ++r) any_shared |= sources[static_cast<size_t>(r)] != r;
  if (T < 2 || !any_shared) return 0;
  const at::Tensor mask = mask_or_ones(input_ids, attention_mask);
  const at::Tensor index = source.to(input_ids.device());
  const at::Tensor differs = input_ids.ne(input_ids.index_select(0, index)) | mask.ne(mask.index_select(0, index));
  // First differing column of each row (T when none): argmax of a 0/1 row returns the first 1.
  const at::Tensor flagged = at::cat({differs, at::ones({R, 1}, differs.options())}, 1).to(at::kByte);
  const int64_t shared = flagged.argmax(1).min().item<int64_t>();
  return std::min(shared, T - 1);
}

}  // namespace

at::Tensor prefix_sources(const at::Tensor& input_ids, const at::Tensor& attention_mask, int64_t columns) {
  TRL_INTERNAL_ASSERT(input_ids.dim() == 2 && columns >= 0 && columns <= input_ids.size(1),
                      "prefix_sources: input_ids must be (R, T) and columns in [0, T]");
  const int64_t R = input_ids.size(0);
  // One key per row: its first `columns` ids, then its first `columns` mask values.
  const at::Tensor keys = at::cat({input_ids.narrow(1, 0, columns),
                                   mask_or_ones(input_ids, attention_mask).narrow(1, 0, columns)}, 1)
                              .cpu()
                              .contiguous();
  const int64_t* key = keys.data_ptr<int64_t>();
  const int64_t width = keys.size(1);
  std::map<std::vector<int64_t>, int64_t> first_row;
  at::Tensor sources = at::empty({R}, at::kLong);
  int64_t* source = sources.data_ptr<int64_t>();
  for (int64_t r = 0; r < R; ++r) {
    std::vector<int64_t> row(key + r * width, key + (r + 1) * width);
    source[r] = first_row.emplace(std::move(row), r).first->second;
  }
  return sources;
}

int64_t shared_prefix_length(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor& source) {
  return shared_columns(input_ids, attention_mask, source, checked_sources(input_ids, source));
}

at::Tensor shared_prefix_hidden_states(const CausalLM& model, const at::Tensor& input_ids,
                                       const at::Tensor& attention_mask, const at::Tensor& source, int64_t prefix) {
  if (prefix == 0) return model.hidden_states(input_ids, attention_mask);
  const std::vector<int64_t> sources = checked_sources(input_ids, source);
  const int64_t T = input_ids.size(1);
  TRL_INTERNAL_ASSERT(prefix > 0 && prefix < T, "shared prefix: prefix must be in [0, T)");
  TRL_INTERNAL_ASSERT(shared_columns(input_ids, attention_mask, source, sources) >= prefix,
                      "shared prefix: the rows do not share their first " + std::to_string(prefix) + " columns");
  // roots: the U rows that are their own source, in row order; slot[r]: the index of r's source among them.
  std::vector<int64_t> roots, slot(sources.size());
  std::vector<int64_t> slot_of_root(sources.size(), -1);
  for (size_t r = 0; r < sources.size(); ++r) {
    if (sources[r] != static_cast<int64_t>(r)) continue;
    slot_of_root[r] = static_cast<int64_t>(roots.size());
    roots.push_back(static_cast<int64_t>(r));
  }
  for (size_t r = 0; r < sources.size(); ++r) slot[r] = slot_of_root[static_cast<size_t>(sources[r])];
  const auto device = input_ids.device();
  const at::Tensor root_rows = at::tensor(roots, at::kLong).to(device);  // (U)
  const at::Tensor slots = at::tensor(slot, at::kLong).to(device);       // (R)
  const at::Tensor mask = mask_or_ones(input_ids, attention_mask);

  const int64_t U = static_cast<int64_t>(roots.size()), R = input_ids.size(0), H = model.config().hidden_size;
  const at::Tensor head_ids = input_ids.index_select(0, root_rows).narrow(1, 0, prefix);  // (U, P)
  const at::Tensor tail_ids = input_ids.narrow(1, prefix, T - prefix);                     // (R, T - P)
  // Both parts' embeddings in one lookup: a second lookup would give the (V, H) table a second zero-filled
  // gradient, added to the first in the backward pass (two passes over V·H values for a few thousand rows).
  const std::vector<at::Tensor> embedded =
      at::split_with_sizes(embed_tokens(model, at::cat({head_ids.reshape({1, -1}), tail_ids.reshape({1, -1})}, 1))
                               .squeeze(0),
                           {U * prefix, R * (T - prefix)});

  KVCache cache(model, U);
  const at::Tensor head_mask = mask.index_select(0, root_rows).narrow(1, 0, prefix);  // (U, P)
  const at::Tensor head =
      hidden_states_of_embeddings(model, head_ids, embedded[0].view({U, prefix, H}), head_mask, &cache);  // (U, P, H)
  cache.select_rows(slots);
  const at::Tensor tail = hidden_states_of_embeddings(model, tail_ids, embedded[1].view({R, T - prefix, H}),
                                                      mask.narrow(1, prefix, T - prefix), &cache);  // (R, T - P, H)
  return at::cat({head.index_select(0, slots), tail}, 1);
}

}  // namespace trl
