// GFPO's length and token-efficiency filters.
#include "simple_group_filters.h"

#include <algorithm>

#include "trl/sdk/error.h"

namespace trl::gfpo {

namespace {
void check_group(const CompletionGroup& group, bool needs_rewards) {
  TRL_INTERNAL_ASSERT(group.lengths.size() == group.completions.size(), "CompletionGroup: one length per completion");
  TRL_INTERNAL_ASSERT(!needs_rewards || group.rewards.size() == group.completions.size(),
                      "CompletionGroup: one reward per completion");
}
}  // namespace

std::vector<double> length_scores(const CompletionGroup& group) {
  check_group(group, false);
  std::vector<double> scores;
  scores.reserve(group.lengths.size());
  for (int64_t length : group.lengths) scores.push_back(-static_cast<double>(length));
  return scores;
}

std::vector<double> token_efficiency_scores(const CompletionGroup& group) {
  check_group(group, true);
  std::vector<double> scores;
  scores.reserve(group.lengths.size());
  // An empty completion counts as one token, so the score stays finite.
  for (size_t j = 0; j < group.lengths.size(); ++j)
    scores.push_back(group.rewards[j] / static_cast<double>(std::max<int64_t>(group.lengths[j], 1)));
  return scores;
}

std::vector<double> LengthGroupFilter::score(const CompletionGroup& group) { return length_scores(group); }

std::vector<double> TokenEfficiencyGroupFilter::score(const CompletionGroup& group) {
  return token_efficiency_scores(group);
}

}  // namespace trl::gfpo
