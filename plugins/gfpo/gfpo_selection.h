// gfpo_selection.h: which completions GFPO keeps (spec §4.3, §4.4).
//
// Rows of the global generation batch are grouped by prompt: group k is rows [k*G, (k+1)*G). TRL hands
// its filter the window starting at row k instead (only group 0 is right, spec §4.3); make_groups builds
// the true groups. A filter scores each completion of a group (higher = keep first); the top
// num_to_keep(group, R) of each group are kept, clamped to [2, G] so that the kept group's unbiased std
// is defined (R = 1 would make every advantage NaN).
//
// Order and ties. Kept rows are listed group by group, and within a group by descending score, as TRL's
// topk output is. TRL uses torch.topk, whose order among equal scores is implementation-defined; here
// equal scores keep the lower index first (a stable sort), so selection is deterministic on every
// machine and process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trl/sdk/plugin.h"

namespace trl::gfpo {

/// The rows kept by the group filter.
struct GroupSelection {
  std::vector<int64_t> kept_rows;    ///< global row indices k*G + j, group by group, descending score within
  std::vector<int64_t> group_sizes;  ///< rows kept per group (sums to kept_rows.size())
};

/// The true groups of a generation batch: group k holds rows [k*G, (k+1)*G) of `input` with their lengths
/// (completion_ids sizes, or `lengths` when given: e.g. the completion-mask sums after truncation masking)
/// and `rewards` (N,) (the NaN-ignoring weighted sum, weighted_reward_sum). The prompt and the dataset
/// columns are taken from the group's first row. N = input.completions.size() must be a multiple of G.
std::vector<CompletionGroup> make_groups(const RewardInput& input, const at::Tensor& rewards, int64_t num_generations,
                                         const std::vector<int64_t>& lengths = {});

/// Keeps, in each group k, the keep_counts[k] highest scores (scores[k] holds that group's G scores), ties
/// to the lower index; keep_counts[k] is clamped to [2, G]. A score list of the wrong size or a NaN score
/// is a trl::PluginError (the filter broke its contract).
GroupSelection select_top_scores(const std::vector<std::vector<double>>& scores,
                                 const std::vector<int64_t>& keep_counts, int64_t num_generations);

/// Asks `filter` for the whole batch at once (GroupFilter::score_groups, whose default visits the groups in
/// order: num_to_keep(group, R), then score(group)) and selects with select_top_scores. Stateful filters
/// (adaptive_difficulty) see every group exactly once. A result without one score list and one keep count
/// per group is a trl::PluginError.
GroupSelection run_group_filter(GroupFilter& filter, const std::vector<CompletionGroup>& groups,
                                int64_t num_remains_in_group);

}  // namespace trl::gfpo
