// The DPO loss library (plugins/dpo) against TRL.
//
// Reference: tests/golden/dpo_loss_golden.json, written by tests/golden/make_dpo_golden.py, which transcribes
// TRL f2cd57710 DPOTrainer._compute_loss in python3-torch and runs it on random logits (seed 1234, float64).
// Ours runs on the same logits in float64: |ours − golden| <= 1e-6 + 1e-6·|golden| for the loss, the §1.7
// metrics and the gradients. The same cases in float32 are held to 1e-4 relative (their inputs are rounded).
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dpo_loss.h"
#include "dpo_params.h"
#include "dpo_sequence_logps.h"
#include "dpo_wpo.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace {

using nlohmann::json;
using trl::dpo::DpoLossConfig;
using trl::dpo::DpoLossInputs;
using trl::dpo::DpoLossResult;
using trl::dpo::DpoLossType;
using trl::dpo::DpoTokenInputs;

constexpr double kRtol = 1e-6;  // golden tolerance, float64 (stated in the JSON and its generator)
constexpr double kAtol = 1e-6;

const json& golden() {
  static const json data = [] {
    const std::string path = std::string(TRL_TEST_DATA_DIR) + "/golden/dpo_loss_golden.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return json::parse(in);
  }();
  return data;
}

// A golden token batch: 2B rows (chosen, then rejected) of T positions over a vocabulary of V.
struct Batch {
  at::Tensor input_ids;        // (2B, T) int64
  at::Tensor completion_mask;  // (2B, T) int64, unshifted
  at::Tensor policy_logits;    // (2B, T, V)
  at::Tensor ref_logits;       // (2B, T, V)
};

at::Tensor tensor_of(const json& values, at::ScalarType dtype) {
  std::vector<double> flat;
  for (const json& v : values) flat.push_back(v.get<double>());
  return at::tensor(flat, at::TensorOptions().dtype(at::kDouble)).to(dtype);
}

at::Tensor int_matrix(const json& rows) {
  std::vector<int64_t> flat;
  for (const json& row : rows)
    for (const json& v : row) flat.push_back(v.get<int64_t>());
  return at::tensor(flat, at::kLong).reshape({static_cast<int64_t>(rows.size()), -1});
}

Batch load_batch(const std::string& name, at::ScalarType dtype) {
  for (const json& b : golden().at("batches")) {
    if (b.at("name") != name) continue;
    const std::vector<int64_t> shape = {b.at("rows").get<int64_t>(), b.at("width").get<int64_t>(),
                                        b.at("vocab").get<int64_t>()};
    return {int_matrix(b.at("input_ids")), int_matrix(b.at("completion_mask")),
            tensor_of(b.at("policy_logits"), dtype).reshape(shape), tensor_of(b.at("ref_logits"), dtype).reshape(shape)};
  }
  throw std::runtime_error("no golden batch " + name);
}

// Golden configs include settings that warn on purpose (hinge with WPO, ...); dpo_loss_config_test.cpp
// tests those warnings, so here they are kept out of the output.
class QuietLog {
 public:
  QuietLog() : saved_(trl::log::level()) { trl::log::set_level(trl::log::Level::error); }
  ~QuietLog() { trl::log::set_level(saved_); }

 private:
  trl::log::Level saved_;
};

DpoLossConfig config_of(const json& overrides) {
  const QuietLog quiet;
  return trl::dpo::dpo_loss_config_from_args(trl::dpo::dpo_params().validate(overrides, "golden"));
}

// What a trainer gets from token_stats(): log p(label) at each shifted position, with no zeroing outside
// the mask (the library must ignore those positions itself), and log Σ_v p_v² for WPO.
DpoTokenInputs token_inputs(const Batch& batch, const at::Tensor& policy_logits, bool with_reference) {
  const int64_t T = batch.input_ids.size(1);
  const at::Tensor labels = batch.input_ids.narrow(1, 1, T - 1).unsqueeze(-1);  // (2B, L, 1)
  auto label_logps = [&](const at::Tensor& logits) {
    return logits.narrow(1, 0, T - 1).log_softmax(-1).gather(-1, labels).squeeze(-1);  // (2B, L)
  };
  DpoTokenInputs tokens;
  tokens.per_token_logps = label_logps(policy_logits);
  tokens.label_mask = batch.completion_mask.narrow(1, 1, T - 1).to(at::kBool);
  tokens.completion_mask = batch.completion_mask;
  if (with_reference) tokens.ref_per_token_logps = label_logps(batch.ref_logits);
  const at::Tensor shift = policy_logits.narrow(1, 0, T - 1).detach();
  tokens.log_sum_p2 = at::logsumexp(2.0 * shift, -1) - 2.0 * at::logsumexp(shift, -1);  // (2B, L)
  return tokens;
}

struct CaseRun {
  DpoLossResult result;
  at::Tensor policy_logits;  // leaf whose grad holds d loss / d logits after the run
};

CaseRun run_case(const json& c, at::ScalarType dtype) {
  const Batch batch = load_batch(c.at("batch"), dtype);
  const DpoLossConfig config = config_of(c.at("config"));
  CaseRun run;
  run.policy_logits = batch.policy_logits.clone().set_requires_grad(true);
  const DpoTokenInputs tokens = token_inputs(batch, run.policy_logits, /*with_reference=*/true);
  run.result = trl::dpo::dpo_loss(trl::dpo::dpo_loss_inputs(tokens, config), config);
  run.result.loss.backward();
  return run;
}

::testing::AssertionResult close(double actual, double expected, double rtol, double atol) {
  if (std::isinf(expected) && actual == expected) return ::testing::AssertionSuccess();
  if (std::abs(actual - expected) <= atol + rtol * std::abs(expected)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << actual << ", golden " << expected << " (diff "
                                       << actual - expected << ")";
}

::testing::AssertionResult all_close(const at::Tensor& actual, const json& expected, double rtol, double atol) {
  const at::Tensor a = actual.detach().to(at::kDouble).contiguous().reshape(-1);
  if (a.numel() != static_cast<int64_t>(expected.size()))
    return ::testing::AssertionFailure() << a.numel() << " values, golden has " << expected.size();
  for (int64_t i = 0; i < a.numel(); ++i) {
    const ::testing::AssertionResult r = close(a[i].item<double>(), expected[i].get<double>(), rtol, atol);
    if (!r) return ::testing::AssertionFailure() << "element " << i << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

void expect_metrics(const DpoLossResult& result, const json& expected, double rtol, double atol) {
  const auto metrics = result.metrics();
  ASSERT_EQ(metrics.size(), expected.size());
  for (const auto& [name, value] : metrics) {
    ASSERT_TRUE(expected.contains(name)) << "metric " << name << " is not in the golden file";
    EXPECT_EQ(value.dim(), 0) << name;
    EXPECT_TRUE(close(value.item<double>(), expected.at(name).get<double>(), rtol, atol)) << name;
  }
}

TEST(DpoLossGolden, CoversEveryLossTypeDivergenceAndFeature) {
  std::set<std::string> names;
  for (const json& c : golden().at("cases")) names.insert(c.at("name").get<std::string>());
  // TRL 1.16 allows a non-default f-divergence only with these (DpoLossConfig.FDivergenceOnlyWithScoreDifferenceLosses).
  const std::set<std::string> f_divergence_types = {"sigmoid", "hinge", "ipo", "exo_pair",
                                                    "robust", "discopop", "sft", "sigmoid_norm"};
  for (const std::string& type : trl::dpo::dpo_loss_type_names()) {
    EXPECT_TRUE(names.count(type)) << type;
    for (const char* fdiv : {"forward_kl", "js_divergence", "alpha_divergence", "alpha_divergence_a2"})
      EXPECT_EQ(names.count(type + "/" + fdiv), f_divergence_types.count(type)) << type << "/" << fdiv;
  }
  for (const char* feature : {"sigmoid/ld0.5", "sigmoid/wpo", "hinge/wpo", "sft/wpo", "mpo", "sigmoid/rpo0.5",
                                     "sigmoid/reference_free", "robust/eps0.25", "sigmoid/identical"})
    EXPECT_TRUE(names.count(feature)) << feature;
}

TEST(DpoLossGolden, LossMatchesTrlForEveryCase) {
  for (const json& c : golden().at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const CaseRun run = run_case(c, at::kDouble);
    EXPECT_EQ(run.result.loss.dim(), 0);
    EXPECT_EQ(run.result.loss.scalar_type(), at::kDouble);
    EXPECT_TRUE(close(run.result.loss.item<double>(), c.at("loss").get<double>(), kRtol, kAtol));
  }
}

TEST(DpoLossGolden, MetricsMatchTrlForEveryCase) {
  for (const json& c : golden().at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    expect_metrics(run_case(c, at::kDouble).result, c.at("metrics"), kRtol, kAtol);
  }
}

// d loss / d (summed policy log-probs): the sequence log-probs are made leaves, as TRL's retain_grad().
TEST(DpoLossGolden, GradientWrtSequenceLogpsMatchesTrl) {
  for (const json& c : golden().at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Batch batch = load_batch(c.at("batch"), at::kDouble);
    const DpoLossConfig config = config_of(c.at("config"));
    DpoLossInputs in =
        trl::dpo::dpo_loss_inputs(token_inputs(batch, batch.policy_logits, /*with_reference=*/true), config);
    in.chosen_logps = in.chosen_logps.detach().set_requires_grad(true);
    in.rejected_logps = in.rejected_logps.detach().set_requires_grad(true);
    if (in.sft_chosen_logps.defined()) in.sft_chosen_logps = in.sft_chosen_logps.detach();
    const DpoLossResult result = trl::dpo::dpo_loss(in, config);
    if (!result.loss.requires_grad()) {
      // sft alone reads only the sft inputs (TRL: grad of chosen_logps is None, recorded as zeros).
      EXPECT_TRUE(all_close(at::zeros_like(in.chosen_logps), c.at("grad_chosen_logps"), kRtol, kAtol));
      continue;
    }
    result.loss.backward();
    EXPECT_TRUE(all_close(in.chosen_logps.grad(), c.at("grad_chosen_logps"), kRtol, kAtol)) << "chosen";
    EXPECT_TRUE(all_close(in.rejected_logps.grad(), c.at("grad_rejected_logps"), kRtol, kAtol)) << "rejected";
  }
}

// Through the whole per-token path (LD-DPO, sft, WPO without gradient) back to the policy logits.
TEST(DpoLossGolden, GradientWrtPolicyLogitsMatchesTrl) {
  int checked = 0;
  for (const json& c : golden().at("cases")) {
    if (!c.contains("grad_policy_logits")) continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    const CaseRun run = run_case(c, at::kDouble);
    EXPECT_TRUE(all_close(run.policy_logits.grad(), c.at("grad_policy_logits"), kRtol, kAtol));
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(DpoLossGolden, Float32InputsStayCloseToGolden) {
  for (const json& c : golden().at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const CaseRun run = run_case(c, at::kFloat);
    EXPECT_EQ(run.result.loss.scalar_type(), at::kFloat);
    EXPECT_TRUE(close(run.result.loss.item<double>(), c.at("loss").get<double>(), 1e-4, 1e-5));
    expect_metrics(run.result, c.at("metrics"), 1e-4, 1e-5);
  }
}

// Float32 alpha-divergence with an exponent past TRL's clamp (80): finite, equal to TRL's float32 numbers.
TEST(DpoLossGolden, Float32AlphaDivergenceClampMatchesTrl) {
  for (const json& c : golden().at("sum_cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    ASSERT_EQ(c.at("dtype"), "float32");
    const json& x = c.at("inputs");
    const DpoLossConfig config = config_of(c.at("config"));
    DpoLossInputs in;
    in.chosen_logps = tensor_of(x.at("chosen_logps"), at::kFloat).set_requires_grad(true);
    in.rejected_logps = tensor_of(x.at("rejected_logps"), at::kFloat).set_requires_grad(true);
    in.ref_chosen_logps = tensor_of(x.at("ref_chosen_logps"), at::kFloat);
    in.ref_rejected_logps = tensor_of(x.at("ref_rejected_logps"), at::kFloat);
    in.chosen_lengths = tensor_of(x.at("chosen_lengths"), at::kLong);
    in.rejected_lengths = tensor_of(x.at("rejected_lengths"), at::kLong);
    const DpoLossResult result = trl::dpo::dpo_loss(in, config);
    result.loss.backward();
    EXPECT_TRUE(std::isfinite(result.loss.item<double>()));
    EXPECT_TRUE(close(result.loss.item<double>(), c.at("loss").get<double>(), kRtol, kAtol));
    EXPECT_TRUE(all_close(in.chosen_logps.grad(), c.at("grad_chosen_logps"), kRtol, kAtol));
    EXPECT_TRUE(all_close(in.rejected_logps.grad(), c.at("grad_rejected_logps"), kRtol, kAtol));
    expect_metrics(result, c.at("metrics"), kRtol, kAtol);
  }
}

// ---------------------------------------------------------------------------------------------------
// Properties that need no golden file.

DpoLossInputs random_inputs(int64_t B, at::ScalarType dtype, uint64_t seed) {
  at::manual_seed(seed);
  DpoLossInputs in;
  in.chosen_logps = (-20.0 * at::rand({B}, at::kDouble)).to(dtype).set_requires_grad(true);
  in.rejected_logps = (-20.0 * at::rand({B}, at::kDouble)).to(dtype).set_requires_grad(true);
  in.ref_chosen_logps = (-20.0 * at::rand({B}, at::kDouble)).to(dtype);
  in.ref_rejected_logps = (-20.0 * at::rand({B}, at::kDouble)).to(dtype);
  return in;
}

DpoLossConfig with_losses(std::vector<DpoLossType> types) {
  DpoLossConfig config;
  config.loss_type = std::move(types);
  return config;
}

// Spec §1.5 "Total loss": at initialisation policy == reference, so the sigmoid loss is ln 2 exactly.
TEST(DpoLoss, PolicyEqualsReferenceGivesLn2AndZeroAccuracy) {
  DpoLossInputs in = random_inputs(5, at::kDouble, 7);
  in.ref_chosen_logps = in.chosen_logps.detach().clone();
  in.ref_rejected_logps = in.rejected_logps.detach().clone();
  const DpoLossResult result = trl::dpo::dpo_loss(in, DpoLossConfig{});
  EXPECT_DOUBLE_EQ(result.loss.item<double>(), 0.6931471805599453);
  // Every reward is β·0; accuracy is the strict β·ρ_c > β·ρ_r, so 0 as well.
  for (const auto& [name, value] : result.metrics()) {
    if (name.rfind("rewards/", 0) == 0) {
      EXPECT_EQ(value.item<double>(), 0.0) << name;
    }
  }
}

TEST(DpoLoss, PolicyEqualsReferenceGivesLn2InFloat32) {
  DpoLossInputs in = random_inputs(4, at::kFloat, 8);
  in.ref_chosen_logps = in.chosen_logps.detach().clone();
  in.ref_rejected_logps = in.rejected_logps.detach().clone();
  const DpoLossResult result = trl::dpo::dpo_loss(in, DpoLossConfig{});
  EXPECT_EQ(result.loss.scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(result.loss.item<float>(), 0.6931471824645996f);  // TRL's invariance reference value
}

TEST(DpoLoss, RpoAlphaIsAnSftTermWithThatWeight) {
  DpoLossInputs in = random_inputs(3, at::kDouble, 9);
  in.sft_chosen_logps = at::tensor({-4.0, -7.5, -2.0}, at::kDouble);
  in.sft_chosen_tokens = at::tensor({3, 5, 2}, at::kLong);
  DpoLossConfig rpo;
  rpo.rpo_alpha = 0.7;
  DpoLossConfig sft = with_losses({DpoLossType::sigmoid, DpoLossType::sft});
  sft.loss_weights = {1.0, 0.7};
  EXPECT_DOUBLE_EQ(trl::dpo::dpo_loss(in, rpo).loss.item<double>(), trl::dpo::dpo_loss(in, sft).loss.item<double>());
  // −(−4 − 7.5 − 2) / (3 + 5 + 2) = 1.35: token-weighted, not a mean of per-row means.
  EXPECT_DOUBLE_EQ(trl::dpo::dpo_loss(in, with_losses({DpoLossType::sft})).loss.item<double>(), 1.35);
}

// Legacy reference_free (spec §1.9): the loss is the loss with reference log-probs 0 (for every loss type,
// the gradient too), while rewards/* are beta x (policy - reference) with the real reference, as TRL's
// legacy trainer logged them.
TEST(DpoLoss, ReferenceFreeZeroesTheReferenceInTheLossOnly) {
  const DpoLossInputs in = random_inputs(4, at::kDouble, 10);
  DpoLossInputs zero_ref = in;
  zero_ref.ref_chosen_logps = at::zeros_like(in.ref_chosen_logps);
  zero_ref.ref_rejected_logps = at::zeros_like(in.ref_rejected_logps);
  DpoLossConfig config = with_losses({DpoLossType::sigmoid, DpoLossType::apo_zero, DpoLossType::aot,
                                      DpoLossType::bco_pair, DpoLossType::nca_pair, DpoLossType::discopop});
  const DpoLossResult zero = trl::dpo::dpo_loss(zero_ref, config);
  const DpoLossResult with_reference = trl::dpo::dpo_loss(in, config);
  config.reference_free = true;
  const DpoLossResult result = trl::dpo::dpo_loss(in, config);
  EXPECT_DOUBLE_EQ(result.loss.item<double>(), zero.loss.item<double>());
  EXPECT_NE(result.loss.item<double>(), with_reference.loss.item<double>()) << "the reference must matter here";
  EXPECT_TRUE(at::equal(result.chosen_rewards, with_reference.chosen_rewards));
  EXPECT_TRUE(at::equal(result.rejected_rewards, with_reference.rejected_rewards));
  EXPECT_TRUE(at::allclose(result.chosen_rewards, 0.1 * (in.chosen_logps - in.ref_chosen_logps).detach()));
  EXPECT_FALSE(at::allclose(result.chosen_rewards, 0.1 * in.chosen_logps.detach()));
  const auto metrics = result.metrics();
  const auto want = with_reference.metrics();
  for (size_t i = 0; i < metrics.size(); ++i)
    EXPECT_TRUE(at::equal(metrics[i].second, want[i].second)) << metrics[i].first;
}

TEST(DpoLoss, ReferenceFreeStillNeedsTheReferenceLogps) {
  DpoLossConfig config;
  config.reference_free = true;
  DpoLossInputs in = random_inputs(2, at::kDouble, 11);
  in.ref_chosen_logps = at::Tensor();
  try {
    trl::dpo::dpo_loss(in, config);
    FAIL() << "no exception";
  } catch (const trl::InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("ref_chosen_logps"), std::string::npos) << e.what();
  }
}

TEST(DpoLoss, MissingRequiredInputIsABugNamingTheField) {
  const DpoLossInputs in = random_inputs(2, at::kDouble, 12);
  try {
    trl::dpo::dpo_loss(in, with_losses({DpoLossType::ipo}));
    FAIL() << "no exception";
  } catch (const trl::InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("chosen_lengths"), std::string::npos) << e.what();
  }
  DpoLossConfig wpo;
  wpo.use_weighting = true;
  EXPECT_THROW(trl::dpo::dpo_loss(in, wpo), trl::InternalError);
  EXPECT_THROW(trl::dpo::dpo_loss(in, with_losses({DpoLossType::sft})), trl::InternalError);
}

// A config built in code skips dpo_params; dpo_loss still refuses it rather than return NaN (log ε).
TEST(DpoLoss, RefusesAnInvalidConfigBuiltInCode) {
  try {
    trl::dpo::dpo_loss(random_inputs(2, at::kDouble, 16), with_losses({DpoLossType::exo_pair}));
    FAIL() << "no exception";
  } catch (const trl::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("dpo loss config: label_smoothing:", 0), 0u) << e.what();
  }
}

TEST(DpoLoss, RefusesRowsOfDifferentBatchSize) {
  DpoLossInputs in = random_inputs(3, at::kDouble, 13);
  in.rejected_logps = in.rejected_logps.narrow(0, 0, 2);
  EXPECT_THROW(trl::dpo::dpo_loss(in, DpoLossConfig{}), trl::InternalError);
}

// TRL: F.cross_entropy over zero tokens is NaN, and so is the loss (the loop then stops on it).
TEST(DpoLoss, SftWithoutChosenTokensIsNaN) {
  DpoLossInputs in = random_inputs(2, at::kDouble, 14);
  in.sft_chosen_logps = at::zeros({2}, at::kDouble);
  in.sft_chosen_tokens = at::zeros({2}, at::kLong);
  EXPECT_TRUE(std::isnan(trl::dpo::dpo_loss(in, with_losses({DpoLossType::sft})).loss.item<double>()));
}

TEST(DpoLoss, WeightsAndReferenceCarryNoGradient) {
  DpoLossInputs in = random_inputs(3, at::kDouble, 15);
  in.ref_chosen_logps = in.ref_chosen_logps.clone().set_requires_grad(true);
  in.chosen_weights = at::full({3}, 0.5, at::kDouble).set_requires_grad(true);
  in.rejected_weights = at::full({3}, 0.25, at::kDouble);
  DpoLossConfig config;
  config.use_weighting = true;
  trl::dpo::dpo_loss(in, config).loss.backward();
  EXPECT_FALSE(in.ref_chosen_logps.grad().defined());
  EXPECT_FALSE(in.chosen_weights.grad().defined());
  EXPECT_TRUE(in.chosen_logps.grad().defined());
}

// ---------------------------------------------------------------------------------------------------
// Sequence log-probs and WPO weights on hand-made rows.

TEST(DpoSequenceLogps, IgnoresNonFiniteValuesOutsideTheMask) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const at::Tensor logps = at::tensor({nan, -1.0, -2.0, -1e300 * 1e300, -0.5, -0.25, nan, nan}, at::kDouble).reshape({2, 4});
  const at::Tensor mask = at::tensor({0, 1, 1, 0, 0, 1, 0, 0}, at::kLong).reshape({2, 4});
  const at::Tensor sums = trl::dpo::sequence_logps(logps, mask, std::nullopt);
  EXPECT_DOUBLE_EQ(sums[0].item<double>(), -3.0);
  EXPECT_DOUBLE_EQ(sums[1].item<double>(), -0.25);
}

// Pair 0: chosen has 3 completion tokens, rejected 1, so ℓ = 1: chosen = −1 + α(−2 − 4); rejected = −8.
TEST(DpoSequenceLogps, LdAlphaWeightsTokensPastTheSharedLength) {
  const at::Tensor logps = at::tensor({0.0, -1.0, -2.0, -4.0, 0.0, -8.0, 0.0, 0.0}, at::kDouble).reshape({2, 4});
  const at::Tensor mask = at::tensor({0, 1, 1, 1, 0, 1, 0, 0}, at::kLong).reshape({2, 4});
  const at::Tensor ld = trl::dpo::sequence_logps(logps, mask, 0.25);
  EXPECT_DOUBLE_EQ(ld[0].item<double>(), -1.0 + 0.25 * -6.0);
  EXPECT_DOUBLE_EQ(ld[1].item<double>(), -8.0);
  const at::Tensor full = trl::dpo::sequence_logps(logps, mask, 1.0);
  EXPECT_TRUE(at::equal(full, trl::dpo::sequence_logps(logps, mask, std::nullopt)));
}

// w = exp(mean(log p − log Σp²)) over the shifted completion tokens, count clamped to >= 1.
TEST(DpoWpoWeights, AreExpOfMeanAlignedLogpsWithoutGradient) {
  const at::Tensor logps = at::tensor({-1.0, -3.0, 0.0, 0.0}, at::kDouble).reshape({2, 2}).set_requires_grad(true);
  const at::Tensor log_sum_p2 = at::tensor({-0.5, -1.0, -0.7, -0.7}, at::kDouble).reshape({2, 2});
  const at::Tensor mask = at::tensor({1, 1, 0, 0}, at::kLong).reshape({2, 2});
  const at::Tensor w = trl::dpo::wpo_weights(logps, log_sum_p2, mask);
  EXPECT_FALSE(w.requires_grad());
  EXPECT_DOUBLE_EQ(w[0].item<double>(), std::exp(((-1.0 + 0.5) + (-3.0 + 1.0)) / 2.0));
  EXPECT_DOUBLE_EQ(w[1].item<double>(), 1.0);  // no token: exp(0 / 1)
}

}  // namespace
