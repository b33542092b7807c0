// Collating tokenized pairs into a DPO batch (trl/sdk/data/preference.h), TRL's DataCollatorForPreference
// (spec §1.3 item 6). Letters: B pairs, T padded width.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ops/empty.h>

#include "trl/sdk/data/preference.h"
#include "trl/sdk/error.h"

namespace trl {
namespace {

// One row of the batch before padding: the kept token ids and how many leading ones are prompt.
struct Row {
  std::vector<int64_t> ids;
  std::vector<int64_t> completion;  // 1 on completion tokens
};

Row make_row(const std::vector<int64_t>& prompt, const std::vector<int64_t>& completion,
             const std::optional<int64_t>& max_length, TruncationMode mode) {
  Row row;
  row.ids = prompt;
  row.ids.insert(row.ids.end(), completion.begin(), completion.end());
  row.completion.assign(prompt.size(), 0);
  row.completion.resize(row.ids.size(), 1);
  // Each row truncated on its own, before padding (TRL slices [:max_length] or [-max_length:]).
  if (max_length && static_cast<int64_t>(row.ids.size()) > *max_length) {
    const auto keep = static_cast<std::ptrdiff_t>(*max_length);
    if (mode == TruncationMode::keep_start) {
      row.ids.resize(static_cast<size_t>(keep));
      row.completion.resize(static_cast<size_t>(keep));
    } else {
      row.ids.erase(row.ids.begin(), row.ids.end() - keep);
      row.completion.erase(row.completion.begin(), row.completion.end() - keep);
    }
  }
  return row;
}

}  // namespace

PreferenceBatch PreferenceBatch::to(c10::Device device) const {
  PreferenceBatch out;
  out.input_ids = input_ids.to(device);
  out.attention_mask = attention_mask.to(device);
  out.completion_mask = completion_mask.to(device);
  if (ref_chosen_logps.defined()) out.ref_chosen_logps = ref_chosen_logps.to(device);
  if (ref_rejected_logps.defined()) out.ref_rejected_logps = ref_rejected_logps.to(device);
  out.num_pairs = num_pairs;
  return out;
}

PreferenceBatch collate_preferences(const std::vector<const TokenizedPair*>& pairs, int64_t pad_id,
                                    std::optional<int64_t> max_length, TruncationMode truncation_mode,
                                    std::optional<int64_t> pad_to_multiple_of) {
  if (max_length && *max_length < 1)
    throw ConfigError("max_length: expected an integer >= 1 or null, got " + std::to_string(*max_length));
  if (pad_to_multiple_of && *pad_to_multiple_of < 1)
    throw ConfigError("pad_to_multiple_of: expected an integer >= 1 or null, got " +
                      std::to_string(*pad_to_multiple_of));
  TRL_INTERNAL_ASSERT(!pairs.empty(), "collate_preferences called with no pairs");
  const auto num_pairs = static_cast<int64_t>(pairs.size());

  // 2B rows: every prompt+chosen in batch order, then every prompt+rejected.
  std::vector<Row> rows;
  rows.reserve(2 * pairs.size());
  for (const TokenizedPair* pair : pairs) {
    TRL_INTERNAL_ASSERT(pair != nullptr, "collate_preferences got a null pair");
    rows.push_back(make_row(pair->prompt_ids, pair->chosen_ids, max_length, truncation_mode));
  }
  for (const TokenizedPair* pair : pairs)
    rows.push_back(make_row(pair->prompt_ids, pair->rejected_ids, max_length, truncation_mode));

  int64_t width = 0;
  for (const Row& row : rows) width = std::max<int64_t>(width, static_cast<int64_t>(row.ids.size()));
  if (pad_to_multiple_of && width % *pad_to_multiple_of != 0) width += *pad_to_multiple_of - width % *pad_to_multiple_of;

  PreferenceBatch batch;
  batch.num_pairs = num_pairs;
  const auto num_rows = static_cast<int64_t>(rows.size());
  batch.input_ids = at::empty({num_rows, width}, at::kLong);        // (2B, T)
  batch.attention_mask = at::empty({num_rows, width}, at::kLong);   // (2B, T)
  batch.completion_mask = at::empty({num_rows, width}, at::kLong);  // (2B, T)
  int64_t* ids = batch.input_ids.data_ptr<int64_t>();
  int64_t* attention = batch.attention_mask.data_ptr<int64_t>();
  int64_t* completion = batch.completion_mask.data_ptr<int64_t>();
  for (int64_t r = 0; r < num_rows; ++r) {
    const Row& row = rows[static_cast<size_t>(r)];
    const auto len = static_cast<int64_t>(row.ids.size());
    for (int64_t t = 0; t < width; ++t) {  // right padding
      const int64_t k = r * width + t;
      const bool real = t < len;
      ids[k] = real ? row.ids[static_cast<size_t>(t)] : pad_id;
      attention[k] = real ? 1 : 0;
      completion[k] = real ? row.completion[static_cast<size_t>(t)] : 0;
    }
  }

  // Reference log-probs pass through as (B,) only when every pair has them; the loaders and the DPO
  // precompute give them to all pairs or to none, so a mix means a caller bug.
  size_t with_ref = 0, with_any = 0;
  for (const TokenizedPair* pair : pairs) {
    with_ref += (pair->ref_chosen_logps && pair->ref_rejected_logps) ? 1 : 0;
    with_any += (pair->ref_chosen_logps || pair->ref_rejected_logps) ? 1 : 0;
  }
  TRL_INTERNAL_ASSERT(with_any == with_ref && (with_ref == 0 || with_ref == pairs.size()),
                      "collate_preferences got " + std::to_string(with_ref) + " of " + std::to_string(pairs.size()) +
                          " pairs with reference log-probs");
  if (with_ref == pairs.size()) {
    batch.ref_chosen_logps = at::empty({num_pairs}, at::kFloat);    // (B,)
    batch.ref_rejected_logps = at::empty({num_pairs}, at::kFloat);  // (B,)
    float* chosen = batch.ref_chosen_logps.data_ptr<float>();
    float* rejected = batch.ref_rejected_logps.data_ptr<float>();
    for (size_t i = 0; i < pairs.size(); ++i) {
      chosen[i] = static_cast<float>(*pairs[i]->ref_chosen_logps);
      rejected[i] = static_cast<float>(*pairs[i]->ref_rejected_logps);
    }
  }
  return batch;
}

}  // namespace trl
