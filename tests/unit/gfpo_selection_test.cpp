// GFPO selection and kept-row advantages (spec §4.3, §4.4, §4.5, §6.B B9). Goldens from TRL's GFPO code
// (tests/golden/make_grpo_golden.py, float64, distinct scores so torch.topk's tie order plays no part):
// rtol 2e-7 / atol 1e-9 (the generator's nanstd keeps TRL's float32 Bessel factor).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>

#include "gfpo_selection.h"
#include "grpo_advantages.h"
#include "simple_group_filters.h"
#include "trl/sdk/error.h"

namespace {

using trl::gfpo::ScaleRewards;

const nlohmann::json& golden() {
  static const nlohmann::json data = [] {
    std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/golden/grpo_golden.json");
    return nlohmann::json::parse(in);
  }();
  return data;
}

at::Tensor tensor_of(const nlohmann::json& value) {
  std::vector<double> flat;
  std::vector<int64_t> shape;
  for (const nlohmann::json* level = &value; level->is_array() && !level->empty(); level = &(*level)[0])
    shape.push_back(static_cast<int64_t>(level->size()));
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& v) {
    if (v.is_array()) {
      for (const auto& x : v) walk(x);
    } else {
      flat.push_back(v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>());
    }
  };
  walk(value);
  return at::tensor(flat, at::kDouble).reshape(shape);
}

ScaleRewards scale_of(const std::string& s) {
  return s == "group" ? ScaleRewards::group : s == "batch" ? ScaleRewards::batch : ScaleRewards::none;
}

// A filter that records every group it is given and scores by a fixed rule.
class RecordingFilter : public trl::GroupFilter {
 public:
  std::vector<trl::CompletionGroup> seen;
  std::vector<double> score(const trl::CompletionGroup& group) override {
    seen.push_back(group);
    std::vector<double> scores;
    for (size_t j = 0; j < group.completions.size(); ++j) scores.push_back(static_cast<double>(j));  // keep the last
    return scores;
  }
};

trl::RewardInput batch_of(int64_t prompts, int64_t G) {
  trl::RewardInput input;
  for (int64_t k = 0; k < prompts; ++k) {
    for (int64_t j = 0; j < G; ++j) {
      input.prompts.push_back("prompt " + std::to_string(k));
      input.completions.push_back("p" + std::to_string(k) + "c" + std::to_string(j));
      input.completion_ids.push_back(std::vector<int64_t>(static_cast<size_t>(1 + (j * 7 + k * 3) % 5), 9));
      input.columns.push_back({{"answer", k}});
    }
  }
  return input;
}

TEST(GfpoSelection, MatchesTrlKeptRowsAndAdvantages) {
  const auto& cases = golden().at("gfpo");
  ASSERT_EQ(cases.size(), 8u);
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    const int64_t G = c.at("num_generations");
    const at::Tensor rpf = tensor_of(c.at("rewards_per_func"));
    const std::vector<double> weights = c.at("weights");
    at::Tensor kept_rpf = rpf;
    std::vector<int64_t> sizes(static_cast<size_t>(rpf.size(0) / G), G);
    if (!c.at("num_remains_in_group").is_null()) {
      const int64_t R = c.at("num_remains_in_group");
      const std::vector<std::vector<double>> scores = c.at("scores");
      const trl::gfpo::GroupSelection s =
          trl::gfpo::select_top_scores(scores, std::vector<int64_t>(scores.size(), R), G);
      EXPECT_EQ(s.kept_rows, c.at("kept_rows").get<std::vector<int64_t>>()) << name;
      kept_rpf = rpf.index_select(0, at::tensor(s.kept_rows, at::kLong));
      sizes = s.group_sizes;
    }
    const auto a = trl::gfpo::gfpo_advantages(kept_rpf, weights, sizes, scale_of(c.at("scale_rewards")));
    EXPECT_TRUE(at::allclose(a.rewards, tensor_of(c.at("rewards")), 2e-7, 1e-9)) << name;
    EXPECT_TRUE(at::allclose(a.advantages, tensor_of(c.at("advantages")), 2e-7, 1e-9))
        << name << "\n" << a.advantages << "\n" << tensor_of(c.at("advantages"));
    EXPECT_TRUE(at::allclose(a.std_rewards, tensor_of(c.at("std_rewards")), 2e-7, 1e-9)) << name;
    const auto metrics = trl::gfpo::reward_metrics(kept_rpf, weights, {"f0", "f1"}, a.is_std_zero, /*plain=*/true);
    ASSERT_EQ(metrics.size(), c.at("metrics").size()) << name;
    for (const auto& [metric, value] : metrics) {
      const auto& want = c.at("metrics").at(metric);
      if (want.is_null()) {
        EXPECT_TRUE(std::isnan(value)) << name << ": " << metric;
      } else {
        EXPECT_NEAR(value, want.get<double>(), 1e-9 + 2e-7 * std::fabs(want.get<double>())) << name << ": " << metric;
      }
    }
  }
}

// spec §6.B B9: in GFPO a None reward counts as 0 and the row stays in its group.
TEST(GfpoSelection, NoneRewardsCountAsZero) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const at::Tensor rpf = at::tensor({nan, 1.0, 1.0, nan}, at::kDouble).view({2, 2});  // rows: [nan, 1], [1, nan]
  const auto a = trl::gfpo::gfpo_advantages(rpf, {1.0, 1.0}, {2}, ScaleRewards::none);
  EXPECT_TRUE(at::equal(a.rewards, at::tensor({1.0, 1.0}, at::kDouble)));
  const at::Tensor all_none = at::full({2, 1}, nan, at::kDouble);
  const auto b = trl::gfpo::gfpo_advantages(all_none, {1.0}, {2}, ScaleRewards::group);
  EXPECT_TRUE(at::equal(b.rewards, at::zeros({2}, at::kDouble)));
  EXPECT_TRUE(at::equal(b.advantages, at::zeros({2}, at::kDouble)));
}

TEST(GfpoSelection, KeepsTopScoresInDescendingOrder) {
  const auto s = trl::gfpo::select_top_scores({{0.1, 0.9, 0.5, 0.7}, {3.0, 1.0, 2.0, 4.0}}, {2, 3}, 4);
  EXPECT_EQ(s.kept_rows, (std::vector<int64_t>{1, 3, 7, 4, 6}));
  EXPECT_EQ(s.group_sizes, (std::vector<int64_t>{2, 3}));
}

// torch.topk leaves the order of equal scores to the implementation; ours keeps the lower index first.
TEST(GfpoSelection, TiesKeepTheLowerIndex) {
  const auto s = trl::gfpo::select_top_scores({{1.0, 1.0, 1.0, 1.0}, {0.0, 5.0, 0.0, 5.0}}, {2, 3}, 4);
  EXPECT_EQ(s.kept_rows, (std::vector<int64_t>{0, 1, 5, 7, 4}));
}

TEST(GfpoSelection, ClampsKeepCountsToTwoAndG) {
  const auto s = trl::gfpo::select_top_scores({{4.0, 3.0, 2.0}, {1.0, 2.0, 3.0}}, {1, 9}, 3);
  EXPECT_EQ(s.group_sizes, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(s.kept_rows, (std::vector<int64_t>{0, 1, 5, 4, 3}));
}

TEST(GfpoSelection, RefusesAWrongNumberOfScores) {
  try {
    trl::gfpo::select_top_scores({{1.0, 2.0}, {1.0}}, {2, 2}, 2);
    FAIL() << "expected PluginError";
  } catch (const trl::PluginError& e) {
    EXPECT_STREQ(e.what(), "group filter returned 1 scores for group 1, expected one per completion (2)");
  }
}

TEST(GfpoSelection, RefusesNaNScores) {
  try {
    trl::gfpo::select_top_scores({{1.0, std::nan("")}}, {2}, 2);
    FAIL() << "expected PluginError";
  } catch (const trl::PluginError& e) {
    EXPECT_STREQ(e.what(),
                 "group filter returned NaN as the score of completion 1 of group 0; scores must be comparable numbers");
  }
}

// spec §4.3: TRL hands group k the window starting at row k; the filter must get rows [k*G, (k+1)*G).
TEST(GfpoSelection, FilterReceivesTheTrueGroups) {
  const int64_t G = 4;
  const trl::RewardInput input = batch_of(3, G);
  const at::Tensor rewards = at::arange(12, at::kDouble);
  RecordingFilter filter;
  const auto selection = trl::gfpo::run_group_filter(filter, trl::gfpo::make_groups(input, rewards, G), 2);
  ASSERT_EQ(filter.seen.size(), 3u);
  for (int64_t k = 0; k < 3; ++k) {
    const trl::CompletionGroup& g = filter.seen[static_cast<size_t>(k)];
    EXPECT_EQ(g.prompt, "prompt " + std::to_string(k));
    EXPECT_EQ(g.columns, nlohmann::json({{"answer", k}}));
    ASSERT_EQ(g.completions.size(), 4u);
    for (int64_t j = 0; j < G; ++j) {
      const size_t row = static_cast<size_t>(k * G + j);
      EXPECT_EQ(g.completions[static_cast<size_t>(j)], input.completions[row]);
      EXPECT_EQ(g.completion_ids[static_cast<size_t>(j)], input.completion_ids[row]);
      EXPECT_EQ(g.lengths[static_cast<size_t>(j)], static_cast<int64_t>(input.completion_ids[row].size()));
      EXPECT_EQ(g.rewards[static_cast<size_t>(j)], static_cast<double>(row));
    }
  }
  // Scores 0..3 keep local indices 3 and 2 of each group: global k*4 + {3, 2}.
  EXPECT_EQ(selection.kept_rows, (std::vector<int64_t>{3, 2, 7, 6, 11, 10}));
}

// TRL calls group_filter_func once per batch with every group: a filter that overrides score_groups gets
// exactly one call, with the prompts as written and the conversational flag.
class BatchFilter : public trl::GroupFilter {
 public:
  std::vector<size_t> calls;  // groups per call
  std::vector<trl::CompletionGroup> groups;
  std::vector<double> score(const trl::CompletionGroup&) override { throw std::logic_error("per-group call"); }
  trl::GroupScores score_groups(const std::vector<trl::CompletionGroup>& all, int64_t) override {
    calls.push_back(all.size());
    groups = all;
    trl::GroupScores out;
    for (size_t k = 0; k < all.size(); ++k) {
      out.scores.push_back({0.0, 1.0, 2.0, 3.0});
      out.keep_counts.push_back(k == 0 ? 3 : 2);
    }
    return out;
  }
};

TEST(GfpoSelection, FilterIsAskedOnceForTheWholeBatch) {
  trl::RewardInput input = batch_of(3, 4);
  input.conversational = true;
  for (size_t i = 0; i < input.prompts.size(); ++i)
    input.prompt_values.push_back(nlohmann::json::array({{{"role", "user"}, {"content", input.prompts[i]}}}));
  BatchFilter filter;
  const auto selection =
      trl::gfpo::run_group_filter(filter, trl::gfpo::make_groups(input, at::zeros({12}, at::kDouble), 4), 2);
  EXPECT_EQ(filter.calls, (std::vector<size_t>{3}));
  ASSERT_EQ(filter.groups.size(), 3u);
  EXPECT_TRUE(filter.groups[2].conversational);
  EXPECT_EQ(filter.groups[2].prompt_value, input.prompt_values[8]);
  EXPECT_EQ(selection.group_sizes, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(selection.kept_rows, (std::vector<int64_t>{3, 2, 1, 7, 6, 11, 10}));
}

TEST(GfpoSelection, LengthsCanComeFromTheMask) {
  const trl::RewardInput input = batch_of(1, 2);
  const auto groups = trl::gfpo::make_groups(input, at::zeros({2}, at::kDouble), 2, {0, 5});
  EXPECT_EQ(groups[0].lengths, (std::vector<int64_t>{0, 5}));
}

TEST(GfpoSelection, LengthFilterKeepsTheShortest) {
  const trl::RewardInput input = batch_of(2, 4);  // lengths: group 0: 1, 3, 5, 2; group 1: 4, 1, 3, 5
  trl::gfpo::LengthGroupFilter filter;
  const auto selection =
      trl::gfpo::run_group_filter(filter, trl::gfpo::make_groups(input, at::zeros({8}, at::kDouble), 4), 2);
  EXPECT_EQ(selection.kept_rows, (std::vector<int64_t>{0, 3, 5, 6}));
}

// Variable keep counts (adaptive filters): each block has its own mean and std.
TEST(GfpoSelection, AdvantagesPerVariableSizedBlock) {
  const at::Tensor rpf = at::tensor({1.0, 3.0, 0.0, 2.0, 4.0}, at::kDouble).view({5, 1});
  const auto a = trl::gfpo::gfpo_advantages(rpf, {1.0}, {2, 3}, ScaleRewards::group);
  const double s0 = std::sqrt(2.0), s1 = 2.0;
  EXPECT_NEAR(a.advantages[0].item<double>(), -1.0 / (s0 + 1e-4), 1e-12);
  EXPECT_NEAR(a.advantages[1].item<double>(), 1.0 / (s0 + 1e-4), 1e-12);
  EXPECT_NEAR(a.advantages[2].item<double>(), -2.0 / (s1 + 1e-4), 1e-12);
  EXPECT_NEAR(a.advantages[4].item<double>(), 2.0 / (s1 + 1e-4), 1e-12);
}

}  // namespace
