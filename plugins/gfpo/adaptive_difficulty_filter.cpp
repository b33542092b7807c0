// Adaptive Difficulty GFPO with exact running quartiles (header: the rules and why).
#include "adaptive_difficulty_filter.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "simple_group_filters.h"
#include "trl/sdk/error.h"

namespace trl::gfpo {

std::string to_string(Difficulty difficulty) {
  switch (difficulty) {
    case Difficulty::easy: return "easy";
    case Difficulty::medium: return "medium";
    case Difficulty::hard: return "hard";
    case Difficulty::very_hard: return "very_hard";
  }
  return "?";
}

ParamTable adaptive_difficulty_params() {
  ParamTable t;
  t.add("metric", ParamType::string, "length",
        "how completions are ranked within a group: \"length\" (shortest first) or \"token_efficiency\" "
        "(most reward per token first)")
      .one_of({"length", "token_efficiency"});
  t.add("easy_keep", ParamType::number, 0.5,
        "fraction of num_remains_in_group kept for easy prompts (mean reward above the running 75th percentile)")
      .greater_than(0);
  t.add("medium_keep", ParamType::number, 0.75, "fraction kept for medium prompts (above the median)").greater_than(0);
  t.add("hard_keep", ParamType::number, 1.0, "fraction kept for hard prompts (above the 25th percentile)")
      .greater_than(0);
  t.add("very_hard_keep", ParamType::number, 1.0, "fraction kept for very hard prompts (the rest)").greater_than(0);
  t.add("history_size", ParamType::integer, 0,
        "prompts whose mean reward forms the running quartiles: the most recent N, or 0 for all seen so far")
      .at_least(0);
  return t;
}

AdaptiveDifficultyFilter::AdaptiveDifficultyFilter(const Args& args)
    : token_efficiency_(args.string("metric") == "token_efficiency"), history_(args.integer("history_size")) {
  keep_fraction_[static_cast<int>(Difficulty::easy)] = args.number("easy_keep");
  keep_fraction_[static_cast<int>(Difficulty::medium)] = args.number("medium_keep");
  keep_fraction_[static_cast<int>(Difficulty::hard)] = args.number("hard_keep");
  keep_fraction_[static_cast<int>(Difficulty::very_hard)] = args.number("very_hard_keep");
}

std::vector<double> AdaptiveDifficultyFilter::score(const CompletionGroup& group) {
  return token_efficiency_ ? token_efficiency_scores(group) : length_scores(group);
}

Difficulty AdaptiveDifficultyFilter::classify(double m) const {
  if (m > history_.quantile(0.75)) return Difficulty::easy;
  if (m > history_.quantile(0.5)) return Difficulty::medium;
  if (m > history_.quantile(0.25)) return Difficulty::hard;
  return Difficulty::very_hard;
}

int64_t AdaptiveDifficultyFilter::num_to_keep(const CompletionGroup& group, int64_t num_remains_in_group) {
  const int64_t G = static_cast<int64_t>(group.rewards.size());
  TRL_INTERNAL_ASSERT(G >= 2, "a group needs at least 2 rewarded completions");
  const double m = std::accumulate(group.rewards.begin(), group.rewards.end(), 0.0) / static_cast<double>(G);
  if (std::isnan(m)) throw InternalError("adaptive_difficulty: the group's rewards must be NaN-free");
  history_.add(m);
  last_difficulty_ = classify(m);
  const double wanted = keep_fraction_[static_cast<int>(last_difficulty_)] * static_cast<double>(num_remains_in_group);
  return std::clamp<int64_t>(std::llround(wanted), 2, G);
}

}  // namespace trl::gfpo
