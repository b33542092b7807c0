// Rewards -> advantages for GRPO (HEAD) and the scoring metrics, against TRL's code (spec §3.3, §3.5,
// §6.B B2-B4). Goldens: tests/golden/make_grpo_golden.py, float64; its nanstd keeps TRL's float32 Bessel
// factor, hence rtol 2e-7 / atol 1e-9.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>

#include "grpo_advantages.h"

namespace {

using trl::gfpo::MultiObjectiveAggregation;
using trl::gfpo::ScaleRewards;

constexpr double kRtol = 2e-7;
constexpr double kAtol = 1e-9;

const nlohmann::json& golden() {
  static const nlohmann::json data = [] {
    std::ifstream in(std::string(TRL_TEST_DATA_DIR) + "/golden/grpo_golden.json");
    return nlohmann::json::parse(in);
  }();
  return data;
}

// Nested JSON lists of numbers (null = NaN) as a float64 tensor.
at::Tensor tensor_of(const nlohmann::json& value) {
  std::vector<double> flat;
  std::vector<int64_t> shape;
  const nlohmann::json* level = &value;
  while (level->is_array()) {
    shape.push_back(static_cast<int64_t>(level->size()));
    if (level->empty()) break;
    level = &(*level)[0];
  }
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

at::Tensor bool_tensor_of(const nlohmann::json& value) {
  std::vector<int64_t> flat;
  for (const auto& x : value) flat.push_back(x.get<bool>() ? 1 : 0);
  return at::tensor(flat, at::kLong).to(at::kBool);
}

ScaleRewards scale_of(const std::string& s) {
  return s == "group" ? ScaleRewards::group : s == "batch" ? ScaleRewards::batch : ScaleRewards::none;
}

void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(at::allclose(got, want, kRtol, kAtol, /*equal_nan=*/true)) << what << "\ngot\n" << got << "\nwant\n" << want;
}

void expect_metrics(const std::vector<std::pair<std::string, double>>& got, const nlohmann::json& want,
                    const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const auto& [name, value] : got) {
    ASSERT_TRUE(want.contains(name)) << what << ": unexpected metric " << name;
    if (want[name].is_null()) {
      EXPECT_TRUE(std::isnan(value)) << what << ": " << name << " = " << value << ", want NaN";
    } else {
      const double w = want[name].get<double>();
      EXPECT_NEAR(value, w, kAtol + kRtol * std::fabs(w)) << what << ": " << name;
    }
  }
}

// Every case of the golden file: {plain, NaN} rewards x {sum_then_normalize: group, batch, none;
// normalize_then_sum}. G = 4, weights [0.7, 0.3]; the NaN input has an unscorable row and a group with a
// single scorable row.
TEST(GrpoAdvantages, MatchesTrlOnGoldenCases) {
  const auto& cases = golden().at("advantages");
  ASSERT_EQ(cases.size(), 8u);
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    const at::Tensor rpf = tensor_of(c.at("rewards_per_func"));
    const auto aggregation = c.at("aggregation") == "normalize_then_sum" ? MultiObjectiveAggregation::normalize_then_sum
                                                                         : MultiObjectiveAggregation::sum_then_normalize;
    const std::vector<double> weights = c.at("weights");
    const trl::gfpo::Advantages a =
        trl::gfpo::grpo_advantages(rpf, weights, c.at("num_generations"), scale_of(c.at("scale_rewards")), aggregation);
    expect_close(a.rewards, tensor_of(c.at("rewards")), name + ": rewards");
    expect_close(a.advantages, tensor_of(c.at("advantages")), name + ": advantages");
    expect_close(a.std_rewards, tensor_of(c.at("std_rewards")), name + ": std_rewards");
    EXPECT_TRUE(at::equal(a.is_std_zero, bool_tensor_of(c.at("is_std_zero")))) << name << ": is_std_zero";
    const auto metrics = trl::gfpo::reward_metrics(rpf, weights, {"f0", "f1"}, a.is_std_zero, /*plain=*/false);
    expect_metrics(metrics, c.at("metrics"), name);
  }
}

// spec §6.B B4: a group with one scorable row has a NaN std, and that row's advantage becomes 0; the
// unscorable rows are NaN rewards with advantage 0.
TEST(GrpoAdvantages, LoneScorableRowAndUnscorableRowsGetZeroAdvantage) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const at::Tensor rpf = at::tensor({1.0, nan, nan, nan, 0.0, 1.0, 1.0, 0.0}, at::kDouble).view({8, 1});
  const auto a = trl::gfpo::grpo_advantages(rpf, {1.0}, 4, ScaleRewards::group);
  EXPECT_TRUE(at::isnan(a.rewards.narrow(0, 1, 3)).all().item<bool>());
  EXPECT_TRUE(std::isnan(a.std_rewards[0].item<double>()));
  EXPECT_TRUE(at::equal(a.advantages.narrow(0, 0, 4), at::zeros({4}, at::kDouble)));
  EXPECT_FALSE(a.is_std_zero[0].item<bool>());  // NaN is not close to 0
  EXPECT_NEAR(a.advantages[5].item<double>(), 0.5 / (std::sqrt(1.0 / 3.0) + 1e-4), 1e-12);
}

// spec §6.B B2: in TRL (float32) seven rewards of 0.7 give advantages of about 6e-4 and a std that is not
// counted as zero. In float64 the same group is exactly 0, and counted.
TEST(GrpoAdvantages, ConstantNonDyadicGroupIsExactlyZero) {
  const auto& trl32 = golden().at("b2_float32");
  ASSERT_GT(trl32.at("trl_float32_max_abs_advantage").get<double>(), 1e-4);  // the artefact we avoid
  ASSERT_FALSE(trl32.at("trl_float32_is_std_zero").get<bool>());
  const at::Tensor rpf = at::full({7, 1}, 0.7, at::kDouble);
  const auto a = trl::gfpo::grpo_advantages(rpf, {1.0}, 7, ScaleRewards::group);
  EXPECT_EQ(a.advantages.abs().max().item<double>(), 0.0);
  EXPECT_TRUE(a.is_std_zero.all().item<bool>());
  const auto metrics = trl::gfpo::reward_metrics(rpf, {1.0}, {"r"}, a.is_std_zero, false);
  EXPECT_EQ(metrics.back().first, "frac_reward_zero_std");
  EXPECT_EQ(metrics.back().second, 1.0);
}

// spec §5 item 14: weights [0.7, 0.3] and constant rewards [1, 0] log reward 0.7 under both aggregations
// (the logged reward is the weighted sum, whatever normalisation the advantages used).
TEST(GrpoAdvantages, LoggedRewardUsesTheWeights) {
  at::Tensor rpf = at::zeros({6, 2}, at::kDouble);
  rpf.select(1, 0).fill_(1.0);
  for (auto aggregation : {MultiObjectiveAggregation::sum_then_normalize, MultiObjectiveAggregation::normalize_then_sum}) {
    const auto a = trl::gfpo::grpo_advantages(rpf, {0.7, 0.3}, 3, ScaleRewards::group, aggregation);
    const auto metrics = trl::gfpo::reward_metrics(rpf, {0.7, 0.3}, {"constant_reward_1", "constant_reward_0"},
                                                   a.is_std_zero, false);
    bool found = false;
    for (const auto& [name, value] : metrics) {
      if (name != "reward") continue;
      found = true;
      EXPECT_NEAR(value, 0.7, 1e-12);
    }
    EXPECT_TRUE(found);
    EXPECT_EQ(metrics[0].first, "rewards/constant_reward_1/mean");
    EXPECT_EQ(metrics[0].second, 1.0);
    EXPECT_TRUE(at::equal(a.advantages, at::zeros({6}, at::kDouble)));
  }
}

// spec §6.B B3: "batch" divides by the batch std but still centres on the group mean.
TEST(GrpoAdvantages, BatchScalingKeepsTheGroupMean) {
  const at::Tensor rpf = at::tensor({0.0, 1.0, 10.0, 11.0}, at::kDouble).view({4, 1});
  const auto a = trl::gfpo::grpo_advantages(rpf, {1.0}, 2, ScaleRewards::batch);
  const double batch_std = rpf.std().item<double>();
  EXPECT_NEAR(a.advantages[0].item<double>(), -0.5 / (batch_std + 1e-4), 1e-12);
  EXPECT_NEAR(a.advantages[3].item<double>(), 0.5 / (batch_std + 1e-4), 1e-12);
}

TEST(GrpoAdvantages, NoneScalingStillReportsTheGroupStd) {
  const at::Tensor rpf = at::tensor({0.0, 2.0, 1.0, 1.0}, at::kDouble).view({4, 1});
  const auto a = trl::gfpo::grpo_advantages(rpf, {1.0}, 2, ScaleRewards::none);
  EXPECT_TRUE(at::allclose(a.advantages, at::tensor({-1.0, 1.0, 0.0, 0.0}, at::kDouble)));
  EXPECT_NEAR(a.std_rewards[0].item<double>(), std::sqrt(2.0), 1e-12);
  EXPECT_TRUE(at::equal(a.is_std_zero, at::tensor({0, 0, 1, 1}, at::kLong).to(at::kBool)));
}

TEST(GrpoAdvantages, RewardsMatrixTurnsNoneIntoNaN) {
  const at::Tensor m = trl::gfpo::rewards_matrix({{1.0, std::nullopt}, {std::nullopt, 0.5}});
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(m[0][0].item<double>(), 1.0);
  EXPECT_TRUE(std::isnan(m[1][0].item<double>()));
  EXPECT_TRUE(std::isnan(m[0][1].item<double>()));
  EXPECT_EQ(m[1][1].item<double>(), 0.5);
}

TEST(GrpoNanstd, IsNaNBelowTwoValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const at::Tensor x = at::tensor({1.0, 3.0, nan, 5.0, nan, nan}, at::kDouble).view({2, 3});
  const at::Tensor s = trl::gfpo::nanstd(x, 1);
  EXPECT_NEAR(s[0].item<double>(), std::sqrt(2.0), 1e-12);
  EXPECT_TRUE(std::isnan(s[1].item<double>()));
  EXPECT_NEAR(trl::gfpo::nanstd(x).item<double>(), 2.0, 1e-12);
  EXPECT_TRUE(std::isnan(trl::gfpo::nanstd(at::full({3}, nan, at::kDouble)).item<double>()));
}

TEST(GrpoNanmean, IsExactForConstantSlices) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const at::Tensor x = at::tensor({0.7, 0.7, nan, 0.7, 0.1, 0.2, 0.3, 0.4}, at::kDouble).view({2, 4});
  const at::Tensor m = trl::gfpo::nanmean_shifted(x, 1);
  EXPECT_EQ(m[0].item<double>(), 0.7);
  EXPECT_NEAR(m[1].item<double>(), 0.25, 1e-15);
  EXPECT_EQ(trl::gfpo::nanstd(x, 1)[0].item<double>(), 0.0);
  EXPECT_TRUE(std::isnan(trl::gfpo::nanmean_shifted(at::full({2}, nan, at::kDouble)).item<double>()));
}

}  // namespace
