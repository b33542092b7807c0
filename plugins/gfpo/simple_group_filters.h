// simple_group_filters.h: the paper's two GFPO filters (arXiv 2508.09726 §3): `length` keeps the shortest
// completions, `token_efficiency` the highest reward per token. Both are stateless and take no parameters.
#pragma once

#include <vector>

#include "trl/sdk/plugin.h"

namespace trl::gfpo {

/// score = -length: the shortest completions of each group are kept.
class LengthGroupFilter : public GroupFilter {
 public:
  /// -lengths[j] for each completion j.
  std::vector<double> score(const CompletionGroup& group) override;
};

/// score = reward / max(length, 1): the completions with the most reward per token are kept.
class TokenEfficiencyGroupFilter : public GroupFilter {
 public:
  /// rewards[j] / max(lengths[j], 1) for each completion j.
  std::vector<double> score(const CompletionGroup& group) override;
};

/// -length per completion (shared with adaptive_difficulty).
std::vector<double> length_scores(const CompletionGroup& group);
/// reward / max(length, 1) per completion (shared with adaptive_difficulty).
std::vector<double> token_efficiency_scores(const CompletionGroup& group);

}  // namespace trl::gfpo
