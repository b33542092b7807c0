// GFPO selection: true groups, top-k per group with deterministic ties (spec §4.3, §4.4).
#include "gfpo_selection.h"

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "trl/sdk/error.h"

namespace trl::gfpo {

std::vector<CompletionGroup> make_groups(const RewardInput& input, const at::Tensor& rewards, int64_t num_generations,
                                         const std::vector<int64_t>& lengths) {
  const int64_t G = num_generations;
  const int64_t N = static_cast<int64_t>(input.completions.size());
  TRL_INTERNAL_ASSERT(G >= 1 && N % G == 0, "rows (" + std::to_string(N) + ") must be a multiple of G (" +
                                                std::to_string(G) + ")");
  TRL_INTERNAL_ASSERT(static_cast<int64_t>(input.prompts.size()) == N &&
                          static_cast<int64_t>(input.completion_ids.size()) == N &&
                          (input.columns.empty() || static_cast<int64_t>(input.columns.size()) == N),
                      "RewardInput vectors must all have one entry per row");
  TRL_INTERNAL_ASSERT(lengths.empty() || static_cast<int64_t>(lengths.size()) == N, "one length per row");
  TRL_INTERNAL_ASSERT(rewards.defined() && rewards.dim() == 1 && rewards.size(0) == N, "rewards must be (N,)");
  const at::Tensor r = rewards.to(at::kDouble).contiguous();  // (N,)
  const double* reward = r.data_ptr<double>();

  std::vector<CompletionGroup> groups(static_cast<size_t>(N / G));
  for (int64_t k = 0; k < N / G; ++k) {
    CompletionGroup& g = groups[static_cast<size_t>(k)];
    const size_t first = static_cast<size_t>(k * G);
    g.prompt = input.prompts[first];
    g.columns = input.columns.empty() ? nlohmann::json::object() : input.columns[first];
    g.prompt_value = first < input.prompt_values.size() ? input.prompt_values[first] : nlohmann::json(g.prompt);
    g.conversational = input.conversational;
    for (size_t i = first; i < first + static_cast<size_t>(G); ++i) {
      g.completions.push_back(input.completions[i]);
      g.completion_ids.push_back(input.completion_ids[i]);
      g.lengths.push_back(lengths.empty() ? static_cast<int64_t>(input.completion_ids[i].size()) : lengths[i]);
      g.rewards.push_back(reward[i]);
    }
  }
  return groups;
}

GroupSelection select_top_scores(const std::vector<std::vector<double>>& scores,
                                 const std::vector<int64_t>& keep_counts, int64_t num_generations) {
  const int64_t G = num_generations;
  TRL_INTERNAL_ASSERT(G >= 2, "GFPO needs at least 2 generations per prompt");
  TRL_INTERNAL_ASSERT(scores.size() == keep_counts.size(), "one keep count per group");
  GroupSelection out;
  std::vector<int64_t> order(static_cast<size_t>(G));
  for (size_t k = 0; k < scores.size(); ++k) {
    const std::vector<double>& s = scores[k];
    if (static_cast<int64_t>(s.size()) != G)
      throw PluginError("group filter returned " + std::to_string(s.size()) + " scores for group " +
                        std::to_string(k) + ", expected one per completion (" + std::to_string(G) + ")");
    for (size_t j = 0; j < s.size(); ++j)
      if (std::isnan(s[j]))
        throw PluginError("group filter returned NaN as the score of completion " + std::to_string(j) +
                          " of group " + std::to_string(k) + "; scores must be comparable numbers");
    const int64_t keep = std::clamp<int64_t>(keep_counts[k], 2, G);
    std::iota(order.begin(), order.end(), 0);
    // Descending score; stable, so equal scores keep the lower index first.
    std::stable_sort(order.begin(), order.end(), [&s](int64_t a, int64_t b) { return s[a] > s[b]; });
    for (int64_t j = 0; j < keep; ++j) out.kept_rows.push_back(static_cast<int64_t>(k) * G + order[j]);
    out.group_sizes.push_back(keep);
  }
  return out;
}

GroupSelection run_group_filter(GroupFilter& filter, const std::vector<CompletionGroup>& groups,
                                int64_t num_remains_in_group) {
  if (groups.empty()) return {};
  const int64_t G = static_cast<int64_t>(groups.front().completions.size());
  for (const CompletionGroup& group : groups)
    TRL_INTERNAL_ASSERT(static_cast<int64_t>(group.completions.size()) == G, "every group must hold G completions");
  // One call for the whole batch, as TRL calls group_filter_func (spec §4.3); the SDK's default visits
  // the groups one by one.
  const GroupScores decided = filter.score_groups(groups, num_remains_in_group);
  if (decided.scores.size() != groups.size() || decided.keep_counts.size() != groups.size())
    throw PluginError("group filter returned scores for " + std::to_string(decided.scores.size()) + " groups and " +
                      std::to_string(decided.keep_counts.size()) + " keep counts for " +
                      std::to_string(groups.size()) + " groups; expected one of each per group");
  return select_top_scores(decided.scores, decided.keep_counts, G);
}

}  // namespace trl::gfpo
