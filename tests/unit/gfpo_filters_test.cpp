// The gfpo plugin's group filters: length, token_efficiency and Adaptive Difficulty GFPO, and the exact
// running quantiles behind the latter.
#include <gtest/gtest.h>

#include <cmath>

#include "adaptive_difficulty_filter.h"
#include "running_quantiles.h"
#include "simple_group_filters.h"
#include "trl/sdk/error.h"

namespace {

using trl::gfpo::AdaptiveDifficultyFilter;
using trl::gfpo::Difficulty;

trl::CompletionGroup group_of(const std::vector<double>& rewards, const std::vector<int64_t>& lengths) {
  trl::CompletionGroup g;
  g.prompt = "Q";
  g.rewards = rewards;
  g.lengths = lengths;
  for (int64_t length : lengths) {
    g.completions.push_back(std::string(static_cast<size_t>(length), 'a'));
    g.completion_ids.push_back(std::vector<int64_t>(static_cast<size_t>(length), 1));
  }
  return g;
}

trl::CompletionGroup group_with_mean(double mean, int64_t G = 16) {
  return group_of(std::vector<double>(static_cast<size_t>(G), mean), std::vector<int64_t>(static_cast<size_t>(G), 10));
}

AdaptiveDifficultyFilter adaptive(const nlohmann::json& config = nlohmann::json::object()) {
  return AdaptiveDifficultyFilter(trl::gfpo::adaptive_difficulty_params().validate(config, "args"));
}

TEST(LengthGroupFilter, ScoresMinusLength) {
  trl::gfpo::LengthGroupFilter filter;
  EXPECT_EQ(filter.score(group_of({1, 0, 1}, {5, 2, 9})), (std::vector<double>{-5, -2, -9}));
  EXPECT_EQ(filter.num_to_keep(group_of({1, 0, 1}, {5, 2, 9}), 2), 2);  // the SDK default: R
}

TEST(TokenEfficiencyGroupFilter, ScoresRewardPerToken) {
  trl::gfpo::TokenEfficiencyGroupFilter filter;
  EXPECT_EQ(filter.score(group_of({1.0, 1.0, -1.0, 0.5}, {4, 2, 2, 0})), (std::vector<double>{0.25, 0.5, -0.5, 0.5}));
}

// Linear interpolation between order statistics, as torch.quantile: values 1..5 and 10.
TEST(RunningQuantiles, InterpolatesLikeTorchQuantile) {
  trl::gfpo::RunningQuantiles q;
  EXPECT_TRUE(std::isnan(q.quantile(0.5)));
  for (double v : {10.0, 2.0, 4.0, 1.0, 3.0, 5.0}) q.add(v);
  EXPECT_DOUBLE_EQ(q.quantile(0.0), 1.0);
  EXPECT_DOUBLE_EQ(q.quantile(0.25), 2.25);  // position 1.25 in [1, 2, 3, 4, 5, 10]
  EXPECT_DOUBLE_EQ(q.quantile(0.5), 3.5);
  EXPECT_DOUBLE_EQ(q.quantile(0.75), 4.75);
  EXPECT_DOUBLE_EQ(q.quantile(1.0), 10.0);
}

TEST(RunningQuantiles, WindowForgetsTheOldest) {
  trl::gfpo::RunningQuantiles q(3);
  for (double v : {100.0, 1.0, 2.0, 3.0}) q.add(v);
  EXPECT_EQ(q.size(), 3);
  EXPECT_DOUBLE_EQ(q.quantile(1.0), 3.0);
  EXPECT_DOUBLE_EQ(q.quantile(0.0), 1.0);
}

// With the paper's setting (G = 16, R = 8) the defaults keep 4 / 6 / 8 / 8 for easy / medium / hard /
// very hard prompts.
TEST(AdaptiveDifficultyFilter, KeepsFewerForEasierPrompts) {
  AdaptiveDifficultyFilter filter = adaptive();
  // History after these: 0.1 .. 0.8; quartiles of 0.1..0.8 are 0.275, 0.45, 0.625.
  for (double m : {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}) filter.num_to_keep(group_with_mean(m), 8);
  EXPECT_EQ(filter.num_to_keep(group_with_mean(0.8), 8), 4);
  EXPECT_EQ(filter.last_difficulty(), Difficulty::easy);
  EXPECT_EQ(filter.num_to_keep(group_with_mean(0.55), 8), 6);  // 9 values: q50 = 0.5, q75 = 0.6
  EXPECT_EQ(filter.last_difficulty(), Difficulty::medium);
  EXPECT_EQ(filter.num_to_keep(group_with_mean(0.35), 8), 8);
  EXPECT_EQ(filter.last_difficulty(), Difficulty::hard);
  EXPECT_EQ(filter.num_to_keep(group_with_mean(0.0), 8), 8);
  EXPECT_EQ(filter.last_difficulty(), Difficulty::very_hard);
}

// The first group, or any history that cannot tell prompts apart, counts as very hard: keep R.
TEST(AdaptiveDifficultyFilter, NoInformationKeepsR) {
  AdaptiveDifficultyFilter filter = adaptive();
  EXPECT_EQ(filter.num_to_keep(group_with_mean(1.0), 8), 8);
  EXPECT_EQ(filter.last_difficulty(), Difficulty::very_hard);
  EXPECT_EQ(filter.num_to_keep(group_with_mean(1.0), 8), 8);
}

// Binary rewards: the mean is the solve rate; solved-every-time prompts become easy once they are above
// the running 75th percentile.
TEST(AdaptiveDifficultyFilter, UsesTheGroupMeanReward) {
  AdaptiveDifficultyFilter filter = adaptive();
  for (int i = 0; i < 3; ++i) filter.num_to_keep(group_of({0, 0, 0, 0}, {1, 1, 1, 1}), 2);
  EXPECT_EQ(filter.num_to_keep(group_of({1, 1, 1, 1}, {1, 1, 1, 1}), 3), 2);  // easy: round(0.5 * 3) = 2
  EXPECT_EQ(filter.last_difficulty(), Difficulty::easy);
}

TEST(AdaptiveDifficultyFilter, CountsAreClampedToTwoAndG) {
  AdaptiveDifficultyFilter filter = adaptive({{"very_hard_keep", 3.0}});
  EXPECT_EQ(filter.num_to_keep(group_with_mean(0.0, 4), 2), 4);  // 3 * 2 = 6 > G = 4
  AdaptiveDifficultyFilter small = adaptive({{"easy_keep", 0.1}});
  small.num_to_keep(group_with_mean(0.0, 4), 2);
  EXPECT_EQ(small.num_to_keep(group_with_mean(1.0, 4), 2), 2);  // round(0.2) = 0 -> 2
}

TEST(AdaptiveDifficultyFilter, ScoresByLengthOrTokenEfficiency) {
  const trl::CompletionGroup g = group_of({1.0, 0.0, 1.0}, {4, 1, 2});
  EXPECT_EQ(adaptive().score(g), (std::vector<double>{-4, -1, -2}));
  EXPECT_EQ(adaptive({{"metric", "token_efficiency"}}).score(g), (std::vector<double>{0.25, 0.0, 0.5}));
}

TEST(AdaptiveDifficultyFilter, HistorySizeLimitsTheQuartiles) {
  AdaptiveDifficultyFilter filter = adaptive({{"history_size", 2}});
  filter.num_to_keep(group_with_mean(0.9), 8);
  filter.num_to_keep(group_with_mean(0.1), 8);
  // History {0.1, 0.5}: 0.5 is the maximum and above q75 = 0.4; with 0.9 still remembered it would be hard.
  EXPECT_EQ(filter.num_to_keep(group_with_mean(0.5), 8), 4);
  EXPECT_EQ(filter.last_difficulty(), Difficulty::easy);
}

TEST(AdaptiveDifficultyFilter, ParametersAreDeclared) {
  const trl::ParamTable table = trl::gfpo::adaptive_difficulty_params();
  for (const char* name : {"metric", "easy_keep", "medium_keep", "hard_keep", "very_hard_keep", "history_size"})
    EXPECT_NE(table.find(name), nullptr) << name;
  try {
    table.validate({{"easy_keep", 0}}, "args");
    FAIL() << "expected ConfigError";
  } catch (const trl::ConfigError& e) {
    EXPECT_STREQ(e.what(), "args: easy_keep: expected a number > 0, got 0");
  }
}

}  // namespace
