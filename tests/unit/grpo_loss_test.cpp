// The GRPO loss, its gradient and metrics against TRL's _compute_loss (spec §3.4, §3.5, §6.B B1, B5-B8),
// and the masks of spec §5 items 17-18 with TRL's own test values.
// Goldens: tests/golden/make_grpo_golden.py, float64 inputs; ours in float64 too: rtol 1e-10 / atol 1e-12.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>

#include "grpo_loss.h"

namespace {

using trl::gfpo::GrpoLossConfig;
using trl::gfpo::GrpoLossInputs;
using trl::gfpo::ImportanceSamplingLevel;
using trl::gfpo::LossType;

constexpr double kRtol = 1e-10;
constexpr double kAtol = 1e-12;

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

GrpoLossConfig config_of(const nlohmann::json& c) {
  GrpoLossConfig config;
  const std::string loss = c.at("loss_type");
  bool known = false;
  for (LossType type : {LossType::grpo, LossType::bnpo, LossType::dr_grpo, LossType::dapo, LossType::cispo,
                        LossType::sapo, LossType::luspo, LossType::vespo})
    if (loss == trl::gfpo::to_string(type)) config.loss_type = type, known = true;
  EXPECT_TRUE(known) << loss;
  config.importance_sampling_level =
      c.at("importance_sampling_level") == "sequence" ? ImportanceSamplingLevel::sequence : ImportanceSamplingLevel::token;
  config.epsilon_low = c.at("epsilon");
  config.epsilon_high = c.at("epsilon_high");
  if (!c.at("delta").is_null()) config.delta = c.at("delta").get<double>();
  config.beta = c.at("beta");
  config.use_bias_correction_kl = c.at("use_bias_correction_kl");
  config.top_entropy_quantile = c.at("top_entropy_quantile");
  if (!c.at("off_policy_mask_threshold").is_null())
    config.off_policy_mask_threshold = c.at("off_policy_mask_threshold").get<double>();
  config.max_completion_length = c.at("max_completion_length");
  // Keys of the TRL 1.16 loss types and the entropy bonus; GRPOConfig's defaults where a case omits them.
  config.sapo_temperature_pos = c.value("sapo_temperature_pos", 1.0);
  config.sapo_temperature_neg = c.value("sapo_temperature_neg", 1.05);
  config.vespo_k_pos = c.value("vespo_k_pos", 2.0);
  config.vespo_lambda_pos = c.value("vespo_lambda_pos", 3.0);
  config.vespo_k_neg = c.value("vespo_k_neg", 3.0);
  config.vespo_lambda_neg = c.value("vespo_lambda_neg", 2.0);
  config.entropy_bonus = c.value("entropy_coef", 0.0) != 0.0;
  return config;
}

bool close(double got, double want) { return std::fabs(got - want) <= kAtol + kRtol * std::fabs(want); }

// Every clipped loss_type x {token, sequence} x {no delta, delta 1.25} with beta 0.04, GA 2, N 40 over 2
// processes; then beta 0, no old log-probs, KL bias correction (token, sequence), top-entropy masking (token,
// sequence), the off-policy mask, delta below 1 - eps (B1), rows with an empty mask, N = 0 (clamped), and
// an all-masked batch. Then TRL 1.16's cispo, sapo, luspo and vespo at token and sequence level (GA 2, N 40,
// 2 processes), with their parameters, beta 0, delta (ignored by cispo), the off-policy and top-entropy
// masks, an empty row, no old log-probs; and the entropy bonus (entropy_coef, also negative) with dapo,
// grpo + top-entropy mask, cispo at sequence level and an all-masked luspo batch, where the gradient with
// respect to the entropies is checked too. Last, dapo, cispo, vespo and grpo with steps_per_generation 4 and
// GA 2 (trl 1.16 rescales N to the accumulation window).
TEST(GrpoLoss, MatchesTrlOnGoldenCases) {
  const auto& cases = golden().at("loss");
  ASSERT_EQ(cases.size(), 50u);
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    const bool bonus = c.at("config").value("entropy_coef", 0.0) != 0.0;
    const at::Tensor logps = tensor_of(c.at("logps")).requires_grad_(true);
    const at::Tensor entropies = tensor_of(c.at("entropies")).requires_grad_(bonus);
    GrpoLossInputs in;
    in.logps = logps;
    if (c.at("use_old_logps").get<bool>()) in.old_logps = tensor_of(c.at("old_logps"));
    in.ref_logps = tensor_of(c.at("ref_logps"));
    in.advantages = tensor_of(c.at("advantages"));
    in.completion_mask = tensor_of(c.at("completion_mask"));
    in.entropies = entropies;
    in.num_items_in_batch = c.at("num_items_in_batch");
    in.gradient_accumulation_steps = c.at("gradient_accumulation_steps");
    in.num_processes = c.at("num_processes");
    in.steps_per_generation = c.at("steps_per_generation");
    in.entropy_coef = c.at("config").value("entropy_coef", 0.0);
    const trl::gfpo::GrpoLossOutput out = trl::gfpo::grpo_loss(config_of(c.at("config")), in);

    ASSERT_EQ(out.loss.dim(), 0) << name;
    EXPECT_TRUE(close(out.loss.item<double>(), c.at("loss"))) << name << ": loss " << out.loss.item<double>();
    EXPECT_TRUE(close(out.policy_loss.item<double>(), c.at("policy_loss"))) << name << ": policy_loss";
    out.loss.backward();
    EXPECT_TRUE(at::allclose(logps.grad(), tensor_of(c.at("grad")), kRtol, kAtol))
        << name << ": grad\n" << logps.grad() << "\n" << tensor_of(c.at("grad"));
    if (bonus) {
      EXPECT_TRUE(at::allclose(entropies.grad(), tensor_of(c.at("grad_entropies")), kRtol, kAtol))
          << name << ": grad of the entropies\n" << entropies.grad() << "\n" << tensor_of(c.at("grad_entropies"));
    }

    const auto& want = c.at("metrics");
    ASSERT_EQ(out.metrics.size(), want.size()) << name;
    for (const auto& [metric, value] : out.metrics) {
      ASSERT_TRUE(want.contains(metric)) << name << ": unexpected " << metric;
      EXPECT_FALSE(value.requires_grad()) << name << ": " << metric;
      const double got = value.item<double>();
      if (want.at(metric).is_null()) {
        EXPECT_TRUE(std::isnan(got)) << name << ": " << metric << " = " << got << ", want NaN";
      } else {
        EXPECT_TRUE(close(got, want.at(metric))) << name << ": " << metric << " = " << got << ", want " << want.at(metric);
      }
    }
  }
}

// spec §5 item 15: with every completion masked out (e.g. all truncated under mask_truncated_completions)
// the dapo loss is 0 and so is every gradient.
TEST(GrpoLoss, AllMaskedBatchGivesZeroLossAndGradient) {
  const at::Tensor logps = at::randn({3, 5}, at::kFloat).requires_grad_(true);
  GrpoLossInputs in;
  in.logps = logps;
  in.old_logps = logps.detach() - 0.3;
  in.advantages = at::tensor({1.0f, -2.0f, 0.5f});
  in.completion_mask = at::zeros({3, 5}, at::kLong);
  in.num_items_in_batch = 0.0;
  const auto out = trl::gfpo::grpo_loss(GrpoLossConfig{}, in);
  EXPECT_EQ(out.loss.item<float>(), 0.0f);
  out.loss.backward();
  EXPECT_EQ(logps.grad().abs().sum().item<float>(), 0.0f);
}

// With old log-probs undefined the ratio is exactly 1, so no token clips and the loss is -mean(A) (grpo).
TEST(GrpoLoss, MissingOldLogpsMeansRatioOne) {
  const at::Tensor logps = at::randn({2, 3}, at::kFloat).requires_grad_(true);
  GrpoLossConfig config;
  config.loss_type = LossType::grpo;
  GrpoLossInputs in;
  in.logps = logps;
  in.advantages = at::tensor({2.0f, -1.0f});
  in.completion_mask = at::ones({2, 3}, at::kFloat);
  const auto out = trl::gfpo::grpo_loss(config, in);
  EXPECT_NEAR(out.loss.item<float>(), -0.5f, 1e-6);
  for (const auto& [name, value] : out.metrics) EXPECT_EQ(value.item<float>(), 0.0f) << name;
}

// The float32 path (what training uses) agrees with the float64 golden to float32 precision.
TEST(GrpoLoss, Float32AgreesWithGolden) {
  const auto& c = golden().at("loss").at(0);
  GrpoLossInputs in;
  in.logps = tensor_of(c.at("logps")).to(at::kFloat);
  in.old_logps = tensor_of(c.at("old_logps")).to(at::kFloat);
  in.ref_logps = tensor_of(c.at("ref_logps")).to(at::kFloat);
  in.advantages = tensor_of(c.at("advantages")).to(at::kFloat);
  in.completion_mask = tensor_of(c.at("completion_mask")).to(at::kLong);
  in.num_items_in_batch = c.at("num_items_in_batch");
  in.gradient_accumulation_steps = c.at("gradient_accumulation_steps");
  in.num_processes = c.at("num_processes");
  const auto out = trl::gfpo::grpo_loss(config_of(c.at("config")), in);
  EXPECT_EQ(out.loss.scalar_type(), at::kFloat);
  EXPECT_NEAR(out.loss.item<float>(), c.at("loss").get<double>(), 1e-6);
}

// TRL 1.16: the bonus subtracts entropy_coef x the token-mean entropy / GA from the loss of any loss type,
// leaves policy_loss alone, and its gradient w.r.t. each unmasked token's entropy is -coef / (tokens x GA).
TEST(GrpoLoss, EntropyBonusSubtractsCoefTimesMeanEntropy) {
  at::manual_seed(3);
  const at::Tensor logps = -at::rand({3, 4}, at::kDouble) * 2;
  const at::Tensor mask = at::tensor({1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0}, at::kDouble).view({3, 4});
  const at::Tensor entropy_values = at::rand({3, 4}, at::kDouble) * 3;
  const double mean_entropy = ((entropy_values * mask).sum() / mask.sum()).item<double>();  // over 7 tokens
  for (LossType type : {LossType::grpo, LossType::dapo, LossType::cispo, LossType::sapo, LossType::luspo,
                        LossType::vespo}) {
    GrpoLossConfig config;
    config.loss_type = type;
    GrpoLossInputs in;
    in.logps = logps.clone().requires_grad_(true);
    in.old_logps = logps - 0.1;
    in.advantages = at::tensor({0.5, -1.0, 2.0}, at::kDouble);
    in.completion_mask = mask;
    in.entropies = entropy_values.clone().requires_grad_(true);
    in.num_items_in_batch = 7.0;
    in.gradient_accumulation_steps = 2;
    const auto without = trl::gfpo::grpo_loss(config, in);
    config.entropy_bonus = true;
    in.entropy_coef = 0.25;
    const auto with = trl::gfpo::grpo_loss(config, in);
    const std::string name = trl::gfpo::to_string(type);
    EXPECT_NEAR(with.loss.item<double>(), without.loss.item<double>() - 0.25 * mean_entropy / 2, 1e-12) << name;
    EXPECT_DOUBLE_EQ(with.policy_loss.item<double>(), without.policy_loss.item<double>()) << name;
    EXPECT_EQ(with.metrics.front().first, "policy_loss") << name;
    EXPECT_NEAR(with.entropy_sum.item<double>(), mean_entropy * 7, 1e-12) << name;
    EXPECT_DOUBLE_EQ(with.entropy_tokens.item<double>(), 7.0) << name;
    with.loss.backward();
    EXPECT_TRUE(at::allclose(in.entropies.grad(), -0.25 / (7 * 2) * mask, 1e-12, 1e-15)) << name;
  }
}

// VESPO's gamma weight (TRL get_gamma_weights) is 1 at w = 1 and phi(w) = e^lambda w^k e^(-lambda w) elsewhere;
// w is the exp of the *summed* log-ratio of the sequence, clamped to [1e-8, e^20].
TEST(GrpoLoss, VespoGammaWeights) {
  const at::Tensor mask = at::tensor({1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0}, at::kDouble).view({3, 4});
  const at::Tensor log_ratio = at::tensor({0.0, 0.0, 0.0, 5.0, 0.1, 0.2, -0.1, 0.3, -30.0, 0.0, 9.0, 9.0},
                                          at::kDouble).view({3, 4});
  const at::Tensor A = at::tensor({1.0, -1.0, 1.0}, at::kDouble).view({3, 1});
  const at::Tensor phi = trl::gfpo::vespo_gamma_weights(A, log_ratio, mask, 2.0, 3.0, 3.0, 2.0);
  ASSERT_EQ(phi.sizes(), (at::IntArrayRef{3, 1}));
  EXPECT_DOUBLE_EQ(phi[0][0].item<double>(), 1.0);  // the masked 5.0 does not count
  const double w = std::exp(0.5);                   // row 1: A < 0, k = 3, lambda = 2
  EXPECT_NEAR(phi[1][0].item<double>(), std::exp(2.0) * std::pow(w, 3.0) * std::exp(-2.0 * w), 1e-12);
  const double tiny = 1e-8;                         // row 2: clamped at log(1e-8) (each token at -20 first)
  EXPECT_NEAR(phi[2][0].item<double>(), std::exp(3.0) * tiny * tiny * std::exp(-3.0 * tiny), 1e-25);
  EXPECT_FALSE(phi.requires_grad());
}

// spec §5 item 18, TRL's TestGetHighEntropyMask cases (threshold = the quantile q passed by TRL's helper).
struct EntropyCase {
  std::vector<float> entropies;
  std::vector<int64_t> mask;
  double q;
  std::vector<int64_t> expected;
};

TEST(GrpoHighEntropyMask, MatchesTrlTests) {
  const std::vector<float> e0 = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.1f, 1.2f};
  const std::vector<int64_t> m0 = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  const std::vector<EntropyCase> cases = {
      {e0, m0, 0.8, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0}},
      {{0.1f, 0.2f, 0.3f, 1.4f, 0.5f, 0.14f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f},
       {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0},
       0.8,
       {0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0}},
      {e0, m0, 0.5, {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0}},
      {e0, m0, 0.0, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}},
      {e0, m0, 1.0, {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}},
      {e0, std::vector<int64_t>(12, 0), 0.5, std::vector<int64_t>(12, 0)},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const at::Tensor entropies = at::tensor(cases[i].entropies).view({2, 6});
    const at::Tensor mask = at::tensor(cases[i].mask, at::kLong).view({2, 6});
    const at::Tensor got = trl::gfpo::high_entropy_mask(entropies, mask, cases[i].q);
    const at::Tensor want = at::tensor(cases[i].expected, at::kLong).view({2, 6}).to(at::kBool);
    EXPECT_EQ(got.scalar_type(), at::kBool);
    EXPECT_TRUE(at::equal(got, want)) << "case " << i << "\n" << got;
  }
}

TEST(GrpoHighEntropyMask, ThresholdFromAllProcesses) {
  const at::Tensor entropies = at::tensor({0.1f, 0.5f, 0.9f, 0.3f}).view({1, 4});
  const at::Tensor mask = at::ones({1, 4}, at::kLong);
  // Another process's entropies push the median up to 0.7.
  const auto threshold = trl::gfpo::entropy_threshold(at::tensor({0.1f, 0.5f, 0.9f, 0.3f, 0.7f, 0.8f, 1.0f}), 0.5);
  ASSERT_TRUE(threshold.has_value());
  EXPECT_NEAR(*threshold, 0.7, 1e-6);
  const at::Tensor got = trl::gfpo::high_entropy_mask_at(entropies, mask, threshold);
  EXPECT_TRUE(at::equal(got, at::tensor({0, 0, 1, 0}, at::kLong).view({1, 4}).to(at::kBool)));
  EXPECT_FALSE(trl::gfpo::entropy_threshold(at::zeros({0}), 0.5).has_value());
}

// spec §5 item 17, TRL's test_get_off_policy_mask and test_get_off_policy_mask_padding.
TEST(GrpoOffPolicyMask, MatchesTrlTests) {
  const at::Tensor mask = at::ones({3, 4});
  const at::Tensor advantages = at::tensor({1.0f, -1.0f, -1.0f}).unsqueeze(-1);
  const at::Tensor sampling = at::zeros({3, 4});
  at::Tensor logps = at::zeros({3, 4});
  logps[0].fill_(-2.0);  // positive advantage, high KL: keep
  logps[1].fill_(-0.5);  // negative advantage, low KL: keep
  logps[2].fill_(-2.0);  // negative advantage, high KL: drop
  EXPECT_TRUE(at::equal(trl::gfpo::off_policy_mask(advantages, logps, sampling, mask, 1.0),
                        at::tensor({1.0f, 1.0f, 0.0f}).view({3, 1})));

  const at::Tensor pad_mask = at::tensor({1.0f, 1.0f, 0.0f, 0.0f}).view({1, 4});
  at::Tensor pad_logps = at::tensor({-2.0f, -2.0f, -10000.0f, 10000.0f}).view({1, 4});
  const at::Tensor negative = at::tensor({-1.0f}).view({1, 1});
  EXPECT_TRUE(at::equal(trl::gfpo::off_policy_mask(negative, pad_logps, at::zeros({1, 4}), pad_mask, 1.0),
                        at::zeros({1, 1})));
  pad_logps[0][0] = -0.5;
  pad_logps[0][1] = -0.5;
  EXPECT_TRUE(at::equal(trl::gfpo::off_policy_mask(negative, pad_logps, at::zeros({1, 4}), pad_mask, 1.0),
                        at::ones({1, 1})));
}

}  // namespace
