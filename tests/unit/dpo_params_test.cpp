// The dpo trainer's declared parameters: TRL names and defaults (spec §1.1, §1.9), the loss config read
// from them, and the cross-key rules, each error naming its key.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dpo_params.h"
#include "trl/sdk/error.h"

namespace {

using nlohmann::json;

trl::Args args_of(const json& config) { return trl::dpo::dpo_params().validate(config, "run.json: args"); }

// The ConfigError message of reading `config` into a loss config and checking it, or "" when it passes.
std::string error_of(const json& config) {
  try {
    const trl::Args args = args_of(config);
    trl::dpo::dpo_loss_config_from_args(args);
    trl::dpo::check_dpo_args(args);
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DpoParams, DefaultsAreTrls) {
  const trl::Args a = args_of(json::object());
  EXPECT_DOUBLE_EQ(a.number("beta"), 0.1);
  EXPECT_EQ(a.strings("loss_type"), std::vector<std::string>{"sigmoid"});
  EXPECT_FALSE(a.has("loss_weights"));
  EXPECT_DOUBLE_EQ(a.number("label_smoothing"), 0.0);
  EXPECT_EQ(a.string("f_divergence_type"), "reverse_kl");
  EXPECT_DOUBLE_EQ(a.number("f_alpha_divergence_coef"), 0.5);
  EXPECT_FALSE(a.has("ld_alpha"));
  EXPECT_FALSE(a.boolean("use_weighting"));
  EXPECT_DOUBLE_EQ(a.number("discopop_tau"), 0.05);
  EXPECT_EQ(a.optional_integer("max_length"), 1024);
  EXPECT_EQ(a.string("truncation_mode"), "keep_start");
  EXPECT_FALSE(a.boolean("padding_free"));
  EXPECT_FALSE(a.has("pad_to_multiple_of"));
  EXPECT_FALSE(a.boolean("precompute_ref_log_probs"));
  EXPECT_FALSE(a.has("precompute_ref_batch_size"));
  EXPECT_FALSE(a.boolean("sync_ref_model"));
  EXPECT_DOUBLE_EQ(a.number("ref_model_mixup_alpha"), 0.6);
  EXPECT_EQ(a.integer("ref_model_sync_steps"), 512);
  EXPECT_TRUE(a.boolean("disable_dropout"));
  EXPECT_FALSE(a.has("max_prompt_length"));
  EXPECT_FALSE(a.has("max_completion_length"));
  EXPECT_FALSE(a.has("rpo_alpha"));
  EXPECT_FALSE(a.boolean("reference_free"));
}

TEST(DpoParams, EveryParameterHasHelp) {
  const trl::ParamTable table = trl::dpo::dpo_params();
  EXPECT_EQ(table.specs().size(), 23u);
  for (const trl::ParamSpec& spec : table.specs()) EXPECT_FALSE(spec.help.empty()) << spec.name;
}

TEST(DpoParams, SingleLossTypeStringBecomesAList) {
  const trl::dpo::DpoLossConfig config = trl::dpo::dpo_loss_config_from_args(args_of({{"loss_type", "ipo"}}));
  EXPECT_EQ(config.loss_type, std::vector<trl::dpo::DpoLossType>{trl::dpo::DpoLossType::ipo});
}

TEST(DpoParams, ReadsEveryLossKnob) {
  const trl::dpo::DpoLossConfig c = trl::dpo::dpo_loss_config_from_args(args_of(
      {{"beta", 0.25}, {"loss_type", {"robust", "sft"}}, {"loss_weights", {1.0, 0.5}}, {"label_smoothing", 0.2},
       {"f_divergence_type", "alpha_divergence"}, {"f_alpha_divergence_coef", 0.3}, {"ld_alpha", 0.4},
       {"use_weighting", true}, {"discopop_tau", 0.1}, {"rpo_alpha", 0.7}, {"reference_free", true}}));
  EXPECT_DOUBLE_EQ(c.beta, 0.25);
  EXPECT_EQ(c.loss_type, (std::vector<trl::dpo::DpoLossType>{trl::dpo::DpoLossType::robust, trl::dpo::DpoLossType::sft}));
  EXPECT_EQ(c.loss_weights, (std::vector<double>{1.0, 0.5}));
  EXPECT_DOUBLE_EQ(c.label_smoothing, 0.2);
  EXPECT_EQ(c.f_divergence_type, trl::dpo::FDivergenceType::alpha_divergence);
  EXPECT_DOUBLE_EQ(c.f_alpha_divergence_coef, 0.3);
  EXPECT_EQ(c.ld_alpha, 0.4);
  EXPECT_TRUE(c.use_weighting);
  EXPECT_DOUBLE_EQ(c.discopop_tau, 0.1);
  EXPECT_EQ(c.rpo_alpha, 0.7);
  EXPECT_TRUE(c.reference_free);
}

TEST(DpoParams, UnknownLossTypeNamesTheKey) {
  const std::string e = error_of({{"loss_type", {"sigmoid", "dpo"}}});
  EXPECT_EQ(e.rfind("run.json: args: loss_type[1]: expected one of: sigmoid, hinge", 0), 0u) << e;
  EXPECT_NE(e.find("got \"dpo\""), std::string::npos) << e;
}

TEST(DpoParams, InvalidCombinationsNameTheirKey) {
  EXPECT_EQ(error_of({{"loss_type", "exo_pair"}}).rfind("run.json: args: label_smoothing:", 0), 0u);
  EXPECT_EQ(error_of({{"loss_type", "robust"}, {"label_smoothing", 0.5}}).rfind("run.json: args: label_smoothing:", 0), 0u);
  EXPECT_EQ(error_of({{"loss_type", "aot"}, {"use_weighting", true}}).rfind("run.json: args: use_weighting:", 0), 0u);
  EXPECT_EQ(error_of({{"loss_type", {"sigmoid", "sft"}}, {"loss_weights", {1.0}}}).rfind("run.json: args: loss_weights:", 0),
            0u);
  EXPECT_EQ(error_of({{"ld_alpha", 2.0}}).rfind("run.json: args: ld_alpha:", 0), 0u);
  EXPECT_EQ(error_of({{"beta", 0}}).rfind("run.json: args: beta:", 0), 0u);
  EXPECT_EQ(error_of({{"max_length", 0}}).rfind("run.json: args: max_length:", 0), 0u);
  EXPECT_EQ(error_of({{"truncation_mode", "middle"}}).rfind("run.json: args: truncation_mode:", 0), 0u);
  EXPECT_EQ(error_of({{"ref_model_mixup_alpha", 1.5}}).rfind("run.json: args: ref_model_mixup_alpha:", 0), 0u);
}

TEST(DpoParams, SyncRefModelRefusesPrecompute) {
  EXPECT_EQ(error_of({{"sync_ref_model", true}, {"precompute_ref_log_probs", true}}),
            "run.json: args: sync_ref_model: cannot be combined with precompute_ref_log_probs: a reference that is "
            "synced to the policy cannot be precomputed; set one of them to false");
  EXPECT_EQ(error_of({{"sync_ref_model", true}}), "");
}

// reference_free keeps the reference model for the rewards/* metrics (legacy TRL), so precomputing or syncing
// that reference stays meaningful, as it was in TRL.
TEST(DpoParams, ReferenceFreeCombinesWithReferenceOptions) {
  EXPECT_EQ(error_of({{"reference_free", true}, {"precompute_ref_log_probs", true}}), "");
  EXPECT_EQ(error_of({{"reference_free", true}, {"sync_ref_model", true}}), "");
  EXPECT_EQ(error_of({{"reference_free", true}}), "");
}

TEST(DpoParams, PaddingFreeAndKeepEndOnlyWarn) {
  EXPECT_EQ(error_of({{"padding_free", true}, {"truncation_mode", "keep_end"}}), "");
}

TEST(DpoParams, TrainingDefaultsOverrideInheritedOnes) {
  trl::ParamTable table;
  table.add("learning_rate", trl::ParamType::number, 5e-5, "peak learning rate");
  table.add("logging_steps", trl::ParamType::integer, 500, "log every N steps");
  table.merge(trl::dpo::dpo_params());
  trl::dpo::apply_dpo_training_defaults(table);
  const trl::Args a = table.validate(json::object(), "args");
  EXPECT_DOUBLE_EQ(a.number("learning_rate"), 1e-6);
  EXPECT_EQ(a.integer("logging_steps"), 10);
  trl::ParamTable bare = trl::dpo::dpo_params();
  trl::dpo::apply_dpo_training_defaults(bare);  // keys it lacks are left alone
  EXPECT_EQ(bare.find("learning_rate"), nullptr);
}

}  // namespace
