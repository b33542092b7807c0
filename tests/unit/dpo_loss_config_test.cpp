// DPO loss config: every invalid combination is a ConfigError naming its key (spec §1.1, §6.A); warnings
// for legal but surprising settings; the effective loss terms.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dpo_loss_config.h"
#include "trl/sdk/error.h"

namespace {

using trl::dpo::DpoLossConfig;
using trl::dpo::DpoLossType;

DpoLossConfig with_losses(std::vector<DpoLossType> types) {
  DpoLossConfig config;
  config.loss_type = std::move(types);
  return config;
}

// The ConfigError message of validate(config), or "" when it passes.
std::string error_of(const DpoLossConfig& config) {
  try {
    trl::dpo::validate(config, "run.json: args");
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

TEST(DpoLossConfig, DefaultsAreValidAndTrls) {
  const DpoLossConfig config;
  EXPECT_EQ(error_of(config), "");
  EXPECT_DOUBLE_EQ(config.beta, 0.1);
  EXPECT_EQ(config.loss_type, std::vector<DpoLossType>{DpoLossType::sigmoid});
  EXPECT_EQ(config.f_divergence_type, trl::dpo::FDivergenceType::reverse_kl);
  EXPECT_DOUBLE_EQ(config.f_alpha_divergence_coef, 0.5);
  EXPECT_DOUBLE_EQ(config.discopop_tau, 0.05);
  EXPECT_FALSE(config.ld_alpha.has_value());
}

TEST(DpoLossConfig, ExoPairRefusesZeroLabelSmoothing) {
  const std::string e = error_of(with_losses({DpoLossType::exo_pair}));
  EXPECT_TRUE(starts_with(e, "run.json: args: label_smoothing: loss_type exo_pair needs label_smoothing in (0, 1)")) << e;
  EXPECT_NE(e.find("got 0"), std::string::npos) << e;
}

// TRL only refuses exactly 0 and then takes log of a negative ε (spec §6.A A2).
TEST(DpoLossConfig, ExoPairRefusesNegativeLabelSmoothing) {
  DpoLossConfig config = with_losses({DpoLossType::sigmoid, DpoLossType::exo_pair});
  config.label_smoothing = -0.01;
  EXPECT_TRUE(starts_with(error_of(config), "run.json: args: label_smoothing: loss_type exo_pair")) << error_of(config);
  config.label_smoothing = 1e-3;
  EXPECT_EQ(error_of(config), "");
}

TEST(DpoLossConfig, RobustRefusesLabelSmoothingOutsideHalfOpenUnitHalf) {
  DpoLossConfig config = with_losses({DpoLossType::robust});
  for (double eps : {0.5, 0.75, -0.1}) {
    config.label_smoothing = eps;
    EXPECT_TRUE(starts_with(error_of(config), "run.json: args: label_smoothing: loss_type robust needs label_smoothing "
                                              "in [0, 0.5)"))
        << eps << ": " << error_of(config);
  }
  config.label_smoothing = 0.0;
  EXPECT_EQ(error_of(config), "");
  config.label_smoothing = 0.49;
  EXPECT_EQ(error_of(config), "");
}

TEST(DpoLossConfig, WeightingRefusesAotLosses) {
  for (DpoLossType type : {DpoLossType::aot, DpoLossType::aot_unpaired}) {
    DpoLossConfig config = with_losses({DpoLossType::sigmoid, type});
    config.use_weighting = true;
    EXPECT_TRUE(starts_with(error_of(config), "run.json: args: use_weighting: WPO weighting cannot be combined with "
                                              "loss_type aot or aot_unpaired"))
        << error_of(config);
  }
}

// TRL 1.16: a non-default f-divergence only with the losses built on the chosen-rejected score difference.
TEST(DpoLossConfig, FDivergenceOnlyWithScoreDifferenceLosses) {
  DpoLossConfig config = with_losses({DpoLossType::ipo, DpoLossType::bco_pair});
  config.f_divergence_type = trl::dpo::FDivergenceType::forward_kl;
  EXPECT_EQ(error_of(config),
            "run.json: args: f_divergence_type: 'forward_kl' is only supported with loss types sigmoid, sigmoid_norm, "
            "hinge, ipo, exo_pair, robust, discopop and sft (as TRL 1.16), got loss_type bco_pair; use reverse_kl "
            "with it");
  for (DpoLossType type : {DpoLossType::nca_pair, DpoLossType::sppo_hard, DpoLossType::aot,
                           DpoLossType::aot_unpaired, DpoLossType::apo_zero, DpoLossType::apo_down}) {
    config.loss_type = {type};
    EXPECT_NE(error_of(config), "") << trl::dpo::to_string(type);
  }
  config.loss_type = {DpoLossType::sigmoid, DpoLossType::sigmoid_norm, DpoLossType::hinge, DpoLossType::ipo,
                      DpoLossType::robust, DpoLossType::discopop, DpoLossType::sft};
  EXPECT_EQ(error_of(config), "");
  config.f_divergence_type = trl::dpo::FDivergenceType::reverse_kl;
  config.loss_type = {DpoLossType::bco_pair};
  EXPECT_EQ(error_of(config), "");
}

TEST(DpoLossConfig, LossWeightsMustMatchLossTypes) {
  DpoLossConfig config = with_losses({DpoLossType::sigmoid, DpoLossType::sft});
  config.loss_weights = {1.0};
  EXPECT_EQ(error_of(config),
            "run.json: args: loss_weights: expected one weight per loss_type entry (2), got 1");
  config.loss_weights = {1.0, 0.5};
  EXPECT_EQ(error_of(config), "");
}

// TRL documents [0, 1] for ld_alpha but enforces nothing (spec §6.A A3).
TEST(DpoLossConfig, LdAlphaMustLieInUnitInterval) {
  DpoLossConfig config;
  config.ld_alpha = 1.5;
  EXPECT_EQ(error_of(config), "run.json: args: ld_alpha: expected a number in [0, 1] or null, got 1.5");
  config.ld_alpha = -0.1;
  EXPECT_TRUE(starts_with(error_of(config), "run.json: args: ld_alpha:")) << error_of(config);
  config.ld_alpha = 0.0;
  EXPECT_EQ(error_of(config), "");
}

TEST(DpoLossConfig, RefusesEmptyLossTypeAndNonPositiveBetaAndTau) {
  EXPECT_EQ(error_of(with_losses({})), "run.json: args: loss_type: expected at least one loss type, got an empty list");
  DpoLossConfig beta;
  beta.beta = 0.0;
  EXPECT_TRUE(starts_with(error_of(beta), "run.json: args: beta: expected a number > 0")) << error_of(beta);
  DpoLossConfig tau = with_losses({DpoLossType::discopop});
  tau.discopop_tau = 0.0;
  EXPECT_EQ(error_of(tau), "run.json: args: discopop_tau: expected a number > 0, got 0");
}

TEST(DpoLossConfig, RefusesNonFiniteNumbers) {
  DpoLossConfig config;
  config.f_alpha_divergence_coef = std::nan("");
  EXPECT_TRUE(starts_with(error_of(config), "run.json: args: f_alpha_divergence_coef: expected a finite number"))
      << error_of(config);
}

TEST(DpoLossConfig, ParsingAnUnknownLossTypeSuggestsTheClosest) {
  try {
    trl::dpo::parse_dpo_loss_type("sigmiod", "run.json: args", "loss_type");
    FAIL() << "no exception";
  } catch (const trl::ConfigError& e) {
    EXPECT_TRUE(starts_with(e.what(), "run.json: args: loss_type: unknown loss type \"sigmiod\" (did you mean "
                                      "\"sigmoid\"?)"))
        << e.what();
  }
  EXPECT_THROW(trl::dpo::parse_f_divergence_type("kl", "args", "f_divergence_type"), trl::ConfigError);
  EXPECT_EQ(trl::dpo::parse_dpo_loss_type("aot_unpaired", "args", "loss_type"), DpoLossType::aot_unpaired);
}

TEST(DpoLossConfig, NamesRoundTripInTrlOrder) {
  const std::vector<std::string>& names = trl::dpo::dpo_loss_type_names();
  ASSERT_EQ(names.size(), 15u);
  EXPECT_EQ(names.front(), "sigmoid");
  EXPECT_EQ(names.back(), "sigmoid_norm");
  for (const std::string& name : names)
    EXPECT_EQ(trl::dpo::to_string(trl::dpo::parse_dpo_loss_type(name, "args", "loss_type")), name);
  for (const std::string& name : trl::dpo::f_divergence_type_names())
    EXPECT_EQ(trl::dpo::to_string(trl::dpo::parse_f_divergence_type(name, "args", "f_divergence_type")), name);
}

TEST(DpoLossConfig, RpoAlphaAppendsAnSftTerm) {
  DpoLossConfig config = with_losses({DpoLossType::sigmoid, DpoLossType::ipo});
  config.loss_weights = {0.5, 2.0};
  config.rpo_alpha = 0.3;
  const auto terms = trl::dpo::weighted_loss_terms(config);
  ASSERT_EQ(terms.size(), 3u);
  EXPECT_EQ(terms[0], std::make_pair(DpoLossType::sigmoid, 0.5));
  EXPECT_EQ(terms[1], std::make_pair(DpoLossType::ipo, 2.0));
  EXPECT_EQ(terms[2], std::make_pair(DpoLossType::sft, 0.3));
}

TEST(DpoLossConfig, NeedsFollowTheLossTypes) {
  EXPECT_FALSE(trl::dpo::dpo_loss_needs(DpoLossConfig{}).completion_lengths);
  EXPECT_FALSE(trl::dpo::dpo_loss_needs(DpoLossConfig{}).sft);
  EXPECT_TRUE(trl::dpo::dpo_loss_needs(with_losses({DpoLossType::sigmoid_norm})).completion_lengths);
  DpoLossConfig rpo;
  rpo.rpo_alpha = 1.0;
  rpo.reference_free = true;
  rpo.use_weighting = true;
  const trl::dpo::DpoLossNeeds needs = trl::dpo::dpo_loss_needs(rpo);
  EXPECT_TRUE(needs.sft);
  EXPECT_TRUE(needs.wpo_weights);
}

bool any_contains(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& line : lines)
    if (line.find(part) != std::string::npos) return true;
  return false;
}

// §6.A A1: TRL crashes on these, trl-host computes them; the user is told there is no TRL reference.
TEST(DpoLossConfig, WarnsThatWeightingHingeOrSftHasNoTrlReference) {
  DpoLossConfig config = with_losses({DpoLossType::hinge});
  config.use_weighting = true;
  EXPECT_EQ(error_of(config), "");
  EXPECT_TRUE(any_contains(trl::dpo::warnings(config), "use_weighting with hinge: TRL crashes"));
  config.use_weighting = false;
  EXPECT_FALSE(any_contains(trl::dpo::warnings(config), "use_weighting"));
}

TEST(DpoLossConfig, WarnsWhenLabelSmoothingIsUnused) {
  DpoLossConfig config;
  config.label_smoothing = 0.1;
  EXPECT_TRUE(any_contains(trl::dpo::warnings(config), "label_smoothing=0.1 has no effect"));
  config.loss_type = {DpoLossType::robust};
  EXPECT_TRUE(trl::dpo::warnings(config).empty());
}

}  // namespace
