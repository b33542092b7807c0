// DPO token metrics (spec §1.7): entropy, logits/chosen, logits/rejected, mean_token_accuracy.
// Golden: tests/golden/dpo_loss_golden.json "token_metrics", TRL f2cd57710's metric code run by
// tests/golden/make_dpo_golden.py on random float64 logits (seed 1234); tolerance 1e-6 + 1e-6·|golden|.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dpo_token_metrics.h"

namespace {

using nlohmann::json;

const json& golden() {
  static const json data = [] {
    const std::string path = std::string(TRL_TEST_DATA_DIR) + "/golden/dpo_loss_golden.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return json::parse(in);
  }();
  return data;
}

const json& batch_named(const std::string& name) {
  for (const json& b : golden().at("batches"))
    if (b.at("name") == name) return b;
  throw std::runtime_error("no golden batch " + name);
}

at::Tensor doubles(const json& values, std::vector<int64_t> shape) {
  std::vector<double> flat;
  for (const json& v : values) flat.push_back(v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>());
  return at::tensor(flat, at::kDouble).reshape(shape);
}

TEST(DpoTokenMetrics, MatchTrlOnGoldenBatches) {
  for (const json& m : golden().at("token_metrics")) {
    SCOPED_TRACE(m.at("batch").get<std::string>());
    const json& b = batch_named(m.at("batch"));
    const int64_t rows = b.at("rows"), L = b.at("width").get<int64_t>() - 1;
    std::vector<int64_t> mask_flat;
    for (const json& row : b.at("completion_mask"))
      for (size_t t = 1; t < row.size(); ++t) mask_flat.push_back(row[t].get<int64_t>());  // shifted
    const at::Tensor label_mask = at::tensor(mask_flat, at::kLong).reshape({rows, L});
    const auto sums = trl::dpo::dpo_token_metric_sums(doubles(m.at("entropy"), {rows, L}),
                                                      doubles(m.at("mean_logit"), {rows, L}),
                                                      doubles(m.at("argmax_hit"), {rows, L}).to(at::kBool), label_mask);
    const json& expected = m.at("expected");
    for (const auto& [name, value] : sums.metrics()) {
      const double golden_value = expected.at(name).get<double>();
      EXPECT_NEAR(value.item<double>(), golden_value, 1e-6 + 1e-6 * std::abs(golden_value)) << name;
    }
  }
}

TEST(DpoTokenMetrics, AreZeroWithoutTokens) {
  const at::Tensor zeros = at::zeros({4, 3}, at::kDouble);
  const auto sums = trl::dpo::dpo_token_metric_sums(zeros + 2.0, zeros + 1.0, zeros.to(at::kBool), zeros.to(at::kLong));
  for (const auto& [name, value] : sums.metrics()) EXPECT_EQ(value.item<double>(), 0.0) << name;
}

// Hand-made: chosen rows hold tokens 1 and 2 of row 0, rejected one token of row 2 (B = 2).
TEST(DpoTokenMetrics, WeightByTokensAndSplitChosenFromRejected) {
  const at::Tensor mask = at::tensor({1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, at::kLong).reshape({4, 3});
  const at::Tensor entropy = at::arange(12, at::kDouble).reshape({4, 3});     // 0..11
  const at::Tensor mean_logit = -at::arange(12, at::kDouble).reshape({4, 3});
  const at::Tensor hit = at::tensor({1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, at::kLong).reshape({4, 3}).to(at::kBool);
  const auto sums = trl::dpo::dpo_token_metric_sums(entropy, mean_logit, hit, mask);
  const auto metrics = sums.metrics();
  EXPECT_DOUBLE_EQ(metrics[0].second.item<double>(), (0.0 + 1.0 + 7.0) / 3.0);  // entropy
  EXPECT_DOUBLE_EQ(metrics[1].second.item<double>(), (0.0 - 1.0) / 2.0);        // logits/chosen
  EXPECT_DOUBLE_EQ(metrics[2].second.item<double>(), -7.0);                     // logits/rejected
  EXPECT_DOUBLE_EQ(metrics[3].second.item<double>(), 0.5);                      // mean_token_accuracy
  const auto round_trip = trl::dpo::DpoTokenMetricSums::from_packed(sums.packed()).metrics();
  for (size_t i = 0; i < metrics.size(); ++i) {
    EXPECT_EQ(round_trip[i].first, metrics[i].first);
    EXPECT_DOUBLE_EQ(round_trip[i].second.item<double>(), metrics[i].second.item<double>());
  }
}

}  // namespace
