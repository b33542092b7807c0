// GRPOConfig / GFPOConfig parameters: TRL defaults, scale_rewards forms, cross-field rules naming the key
// (spec §3.1-3.4, §4.1; TRL grpo_config.py / gfpo_config.py __post_init__).
#include <gtest/gtest.h>

#include "gfpo_params.h"
#include "trl/sdk/error.h"

namespace {

using trl::gfpo::BatchGeometry;
using trl::gfpo::GrpoConfig;

GrpoConfig resolve(const nlohmann::json& config, BatchGeometry geometry = {}, size_t reward_functions = 1) {
  const trl::Args args = trl::gfpo::gfpo_params().validate(config, "run.json: args");
  return trl::gfpo::resolve_grpo_config(args, geometry, reward_functions);
}

std::string error_of(const nlohmann::json& config, BatchGeometry geometry = {}, size_t reward_functions = 1) {
  try {
    resolve(config, geometry, reward_functions);
  } catch (const trl::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(GrpoParams, DefaultsAreTheGfpoBaseOnes) {
  const GrpoConfig c = resolve(nlohmann::json::object());
  EXPECT_EQ(c.num_generations, 8);
  EXPECT_FALSE(c.num_generations_eval.has_value());
  EXPECT_EQ(c.max_completion_length, 256);  // 512 at TRL HEAD, 256 in the GFPO base
  EXPECT_DOUBLE_EQ(c.temperature, 1.0);
  EXPECT_DOUBLE_EQ(c.top_p, 1.0);
  EXPECT_EQ(c.top_k, 0);
  EXPECT_FALSE(c.min_p.has_value());
  EXPECT_DOUBLE_EQ(c.repetition_penalty, 1.0);
  EXPECT_EQ(c.num_iterations, 1);
  EXPECT_TRUE(c.shuffle_dataset);
  EXPECT_FALSE(c.mask_truncated_completions);
  EXPECT_DOUBLE_EQ(c.beta, 0.0);
  EXPECT_DOUBLE_EQ(c.epsilon_low, 0.2);
  EXPECT_DOUBLE_EQ(c.epsilon_high, 0.2);  // defaults to epsilon
  EXPECT_FALSE(c.delta.has_value());
  EXPECT_EQ(c.importance_sampling_level, trl::gfpo::ImportanceSamplingLevel::token);
  EXPECT_EQ(c.loss_type, trl::gfpo::LossType::dapo);
  EXPECT_EQ(c.scale_rewards, trl::gfpo::ScaleRewards::group);
  EXPECT_EQ(c.multi_objective_aggregation, trl::gfpo::MultiObjectiveAggregation::sum_then_normalize);
  EXPECT_EQ(c.reward_weights, std::vector<double>{1.0});
  EXPECT_DOUBLE_EQ(c.top_entropy_quantile, 1.0);
  EXPECT_TRUE(c.use_bias_correction_kl);  // TRL 1.16 (docs/parity.md, case 4)
  EXPECT_FALSE(c.off_policy_mask_threshold.has_value());
  EXPECT_FALSE(c.log_completions);
  EXPECT_FALSE(c.log_completion_ids);
  EXPECT_FALSE(c.num_remains_in_group.has_value());
  // TRL 1.16's GRPOConfig defaults for the other loss types, the entropy bonus and TR-DPO.
  EXPECT_DOUBLE_EQ(c.sapo_temperature_neg, 1.05);
  EXPECT_DOUBLE_EQ(c.sapo_temperature_pos, 1.0);
  EXPECT_DOUBLE_EQ(c.vespo_k_pos, 2.0);
  EXPECT_DOUBLE_EQ(c.vespo_lambda_pos, 3.0);
  EXPECT_DOUBLE_EQ(c.vespo_k_neg, 3.0);
  EXPECT_DOUBLE_EQ(c.vespo_lambda_neg, 2.0);
  EXPECT_DOUBLE_EQ(c.entropy_coef, 0.0);
  EXPECT_FALSE(c.use_adaptive_entropy);
  EXPECT_DOUBLE_EQ(c.entropy_coef_min, 0.0);
  EXPECT_DOUBLE_EQ(c.entropy_coef_max, 1.0);
  EXPECT_DOUBLE_EQ(c.entropy_coef_delta, 0.005);
  EXPECT_DOUBLE_EQ(c.entropy_target, 0.2);
  EXPECT_FALSE(c.entropy_bonus());
  EXPECT_FALSE(c.sync_ref_model);
  EXPECT_DOUBLE_EQ(c.ref_model_mixup_alpha, 0.6);
  EXPECT_EQ(c.ref_model_sync_steps, 512);
  EXPECT_TRUE(c.warnings.empty());
}

TEST(GrpoParams, EpsilonHighDefaultsToEpsilon) {
  EXPECT_DOUBLE_EQ(resolve({{"epsilon", 0.1}}).epsilon_high, 0.1);
  EXPECT_DOUBLE_EQ(resolve({{"epsilon", 0.1}, {"epsilon_high", 0.28}}).epsilon_high, 0.28);
}

TEST(GrpoParams, ScaleRewardsAcceptsBooleansAndStrings) {
  using trl::gfpo::ScaleRewards;
  EXPECT_EQ(resolve({{"scale_rewards", true}}).scale_rewards, ScaleRewards::group);
  EXPECT_EQ(resolve({{"scale_rewards", false}}).scale_rewards, ScaleRewards::none);
  EXPECT_EQ(resolve({{"scale_rewards", "group"}}).scale_rewards, ScaleRewards::group);
  EXPECT_EQ(resolve({{"scale_rewards", "batch"}}).scale_rewards, ScaleRewards::batch);
  EXPECT_EQ(resolve({{"scale_rewards", "none"}}).scale_rewards, ScaleRewards::none);
}

TEST(GrpoParams, ScaleRewardsRefusesOtherValues) {
  EXPECT_EQ(error_of({{"scale_rewards", "grop"}}),
            "run.json: args: scale_rewards: expected true, false, \"group\", \"batch\" or \"none\"; got \"grop\" "
            "(did you mean \"group\"?)");
  EXPECT_EQ(error_of({{"scale_rewards", 1}}),
            "run.json: args: scale_rewards: expected true, false, \"group\", \"batch\" or \"none\"; got 1");
}

TEST(GrpoParams, LossTypeIsChecked) {
  EXPECT_EQ(error_of({{"loss_type", "gspo"}}),
            "run.json: args: loss_type: expected one of: grpo, bnpo, dr_grpo, dapo, cispo, sapo, luspo, vespo; got "
            "\"gspo\" (did you mean \"grpo\"?)");
}

TEST(GrpoParams, EveryTrlLossTypeIsAccepted) {
  for (const auto type : {trl::gfpo::LossType::grpo, trl::gfpo::LossType::bnpo, trl::gfpo::LossType::dr_grpo,
                          trl::gfpo::LossType::dapo, trl::gfpo::LossType::cispo, trl::gfpo::LossType::sapo,
                          trl::gfpo::LossType::luspo, trl::gfpo::LossType::vespo})
    EXPECT_EQ(resolve({{"loss_type", trl::gfpo::to_string(type)}, {"importance_sampling_level",
                       type == trl::gfpo::LossType::luspo ? "sequence" : "token"}}).loss_type, type);
}

TEST(GrpoParams, LossTypeParametersAreRead) {
  const GrpoConfig c = resolve({{"loss_type", "sapo"}, {"sapo_temperature_neg", 2.0}, {"sapo_temperature_pos", 0.5},
                                {"vespo_k_pos", 1.0}, {"vespo_lambda_pos", 4.0}, {"vespo_k_neg", 5.0},
                                {"vespo_lambda_neg", 0.0}});
  EXPECT_DOUBLE_EQ(c.sapo_temperature_neg, 2.0);
  EXPECT_DOUBLE_EQ(c.sapo_temperature_pos, 0.5);
  EXPECT_DOUBLE_EQ(c.vespo_k_pos, 1.0);
  EXPECT_DOUBLE_EQ(c.vespo_lambda_pos, 4.0);
  EXPECT_DOUBLE_EQ(c.vespo_k_neg, 5.0);
  EXPECT_DOUBLE_EQ(c.vespo_lambda_neg, 0.0);
}

// sapo divides by its temperatures; vespo's k and lambda are exponent and decay (TRL clamps lambda to 1e-4).
TEST(GrpoParams, LossTypeParametersOutOfRangeNameTheKey) {
  EXPECT_EQ(error_of({{"sapo_temperature_neg", 0.0}}),
            "run.json: args: sapo_temperature_neg: expected a number > 0, got 0.0");
  EXPECT_EQ(error_of({{"sapo_temperature_pos", -1.0}}),
            "run.json: args: sapo_temperature_pos: expected a number > 0, got -1.0");
  EXPECT_EQ(error_of({{"vespo_k_pos", -0.5}}), "run.json: args: vespo_k_pos: expected a number >= 0, got -0.5");
  EXPECT_EQ(error_of({{"vespo_lambda_neg", "2"}}).rfind("run.json: args: vespo_lambda_neg:", 0), 0u);
}

TEST(GrpoParams, EntropyBonusSettings) {
  const GrpoConfig c = resolve({{"entropy_coef", 0.01}});
  EXPECT_TRUE(c.entropy_bonus());
  EXPECT_FALSE(c.use_adaptive_entropy);
  // Adaptive control turns the bonus on even from a coefficient of 0 (TRL: it can grow from there).
  const GrpoConfig a = resolve({{"use_adaptive_entropy", true}, {"entropy_coef_min", 0.001}, {"entropy_coef_max", 0.5},
                                {"entropy_coef_delta", 0.01}, {"entropy_target", 1.5}});
  EXPECT_TRUE(a.entropy_bonus());
  EXPECT_DOUBLE_EQ(a.entropy_coef_min, 0.001);
  EXPECT_DOUBLE_EQ(a.entropy_coef_max, 0.5);
  EXPECT_DOUBLE_EQ(a.entropy_coef_delta, 0.01);
  EXPECT_DOUBLE_EQ(a.entropy_target, 1.5);
  EXPECT_TRUE(resolve({{"entropy_coef", -0.01}}).entropy_bonus());  // TRL allows a penalty too
}

TEST(GrpoParams, EntropyBonusBadValuesNameTheKey) {
  EXPECT_EQ(error_of({{"entropy_coef_min", 0.6}, {"entropy_coef_max", 0.5}}),
            "run.json: args: entropy_coef_min: must be <= entropy_coef_max (0.500000), got 0.600000");
  EXPECT_EQ(error_of({{"entropy_coef_delta", -0.1}}),
            "run.json: args: entropy_coef_delta: expected a number >= 0, got -0.1");
  EXPECT_EQ(error_of({{"entropy_target", -1}}), "run.json: args: entropy_target: expected a number >= 0, got -1");
  EXPECT_EQ(error_of({{"use_adaptive_entropy", "yes"}}).rfind("run.json: args: use_adaptive_entropy:", 0), 0u);
}

// TRL's GRPOTrainer raises for sync_ref_model with beta == 0: no reference model is loaded then.
TEST(GrpoParams, SyncRefModelNeedsBeta) {
  EXPECT_EQ(error_of({{"sync_ref_model", true}}),
            "run.json: args: sync_ref_model: is true while beta is 0: the reference model is not used (nor loaded) "
            "without the KL term, so there is nothing to synchronize; set sync_ref_model to false or beta to a "
            "non-zero value");
  const GrpoConfig c = resolve({{"sync_ref_model", true}, {"beta", 0.04}, {"ref_model_mixup_alpha", 0.9},
                                {"ref_model_sync_steps", 3}});
  EXPECT_TRUE(c.sync_ref_model);
  EXPECT_DOUBLE_EQ(c.ref_model_mixup_alpha, 0.9);
  EXPECT_EQ(c.ref_model_sync_steps, 3);
  EXPECT_EQ(error_of({{"ref_model_mixup_alpha", 1.5}}).rfind("run.json: args: ref_model_mixup_alpha:", 0), 0u);
  EXPECT_EQ(error_of({{"ref_model_sync_steps", 0}}),
            "run.json: args: ref_model_sync_steps: expected a number >= 1, got 0");
}

TEST(GrpoParams, StepsPerGenerationDefaultsToGradientAccumulation) {
  BatchGeometry geometry;
  geometry.per_device_train_batch_size = 4;
  geometry.gradient_accumulation_steps = 2;
  const GrpoConfig c = resolve({{"num_generations", 4}}, geometry);
  EXPECT_EQ(c.steps_per_generation, 2);
  EXPECT_EQ(c.generation_batch_size, 8);
  EXPECT_EQ(c.generate_every(), 2);
}

TEST(GrpoParams, GenerationBatchSizeDerivesStepsPerGeneration) {
  BatchGeometry geometry;
  geometry.per_device_train_batch_size = 3;
  geometry.num_processes = 2;
  const GrpoConfig c = resolve({{"num_generations", 4}, {"generation_batch_size", 24}}, geometry);
  EXPECT_EQ(c.steps_per_generation, 4);
  EXPECT_EQ(c.generation_batch_size, 24);
}

TEST(GrpoParams, RefusesBothGenerationSettings) {
  EXPECT_EQ(error_of({{"num_generations", 4}, {"steps_per_generation", 2}, {"generation_batch_size", 16}}),
            "run.json: args: generation_batch_size: cannot be set together with steps_per_generation (2); set "
            "only one");
}

TEST(GrpoParams, GenerationBatchSizeMustBeAMultipleOfTheGlobalBatch) {
  BatchGeometry geometry;
  geometry.per_device_train_batch_size = 6;
  EXPECT_EQ(error_of({{"num_generations", 4}, {"generation_batch_size", 16}}, geometry),
            "run.json: args: generation_batch_size: expected a multiple of per_device_train_batch_size * processes "
            "(6), got 16");
}

TEST(GrpoParams, GenerationBatchMustHoldWholeGroups) {
  BatchGeometry geometry;
  geometry.per_device_train_batch_size = 3;
  EXPECT_EQ(error_of({{"num_generations", 4}}, geometry),
            "run.json: args: num_generations: generation_batch_size (3 = per_device_train_batch_size 3 * processes "
            "1 * steps_per_generation 1) must be divisible by num_generations (4)");
  EXPECT_EQ(error_of({{"num_generations", 4}, {"steps_per_generation", 3}}, geometry),
            "run.json: args: steps_per_generation: generation_batch_size (9 = per_device_train_batch_size 3 * "
            "processes 1 * steps_per_generation 3) must be divisible by num_generations (4)");
  EXPECT_EQ(error_of({{"num_generations", 4}, {"generation_batch_size", 6}}, geometry),
            "run.json: args: generation_batch_size: generation_batch_size (6) must be divisible by num_generations "
            "(4)");
}

// spec §5 item 20: G may exceed the per-device batch when gradient accumulation covers it.
TEST(GrpoParams, GroupsMayExceedTheMicroBatch) {
  BatchGeometry geometry;
  geometry.per_device_train_batch_size = 3;
  geometry.gradient_accumulation_steps = 2;
  const GrpoConfig c = resolve({{"num_generations", 6}}, geometry);
  EXPECT_EQ(c.generation_batch_size, 6);
  EXPECT_EQ(c.steps_per_generation, 2);
}

TEST(GrpoParams, EvalBatchMustHoldWholeGroups) {
  BatchGeometry geometry;
  geometry.per_device_train_batch_size = 4;
  geometry.per_device_eval_batch_size = 6;
  geometry.evaluates = true;
  EXPECT_EQ(error_of({{"num_generations", 4}}, geometry),
            "run.json: args: num_generations: the global eval batch size (per_device_eval_batch_size 6 * processes "
            "1) must be divisible by the generations used in evaluation (4)");
  EXPECT_EQ(resolve({{"num_generations", 4}, {"num_generations_eval", 3}}, geometry).eval_num_generations(), 3);
  geometry.evaluates = false;
  EXPECT_EQ(resolve({{"num_generations", 4}}, geometry).num_generations, 4);
}

TEST(GrpoParams, RewardWeightsNeedOnePerFunction) {
  EXPECT_EQ(resolve({{"reward_weights", {0.7, 0.3}}}, {}, 2).reward_weights, (std::vector<double>{0.7, 0.3}));
  EXPECT_EQ(resolve(nlohmann::json::object(), {}, 3).reward_weights, (std::vector<double>{1.0, 1.0, 1.0}));
  EXPECT_EQ(error_of({{"reward_weights", {0.7, 0.3}}}, {}, 3),
            "run.json: args: reward_weights: expected one weight per reward function (3), got 2");
}

TEST(GrpoParams, NumGenerationsMustBeAtLeastTwo) {
  EXPECT_EQ(error_of({{"num_generations", 1}}), "run.json: args: num_generations: expected a number >= 2, got 1");
}

TEST(GfpoParams, NumRemainsInGroupMustBeLessThanNumGenerations) {
  EXPECT_EQ(resolve({{"num_remains_in_group", 4}}).num_remains_in_group, 4);
  EXPECT_EQ(error_of({{"num_remains_in_group", 8}}),
            "run.json: args: num_remains_in_group: must be less than num_generations (8), got 8");
}

// TRL documents R >= 2 but does not enforce it; R = 1 would make every kept group's std NaN.
TEST(GfpoParams, NumRemainsInGroupMustBeAtLeastTwo) {
  EXPECT_EQ(error_of({{"num_remains_in_group", 1}}),
            "run.json: args: num_remains_in_group: expected a number >= 2; or null, got 1");
}

TEST(GfpoParams, GrpoTableHasNoNumRemainsInGroup) {
  const trl::ParamTable grpo = trl::gfpo::grpo_params();
  EXPECT_EQ(grpo.find("num_remains_in_group"), nullptr);
  const trl::Args args = grpo.validate(nlohmann::json::object(), "args");
  EXPECT_FALSE(trl::gfpo::resolve_grpo_config(args, {}, 1).num_remains_in_group.has_value());
  EXPECT_NE(trl::gfpo::gfpo_params().find("num_remains_in_group"), nullptr);
}

// spec §5 item 19.
TEST(GrpoParams, SequenceLevelWithTokenSumLossesWarns) {
  for (const char* loss : {"bnpo", "dr_grpo", "dapo"}) {
    const GrpoConfig c = resolve({{"importance_sampling_level", "sequence"}, {"loss_type", loss}});
    ASSERT_EQ(c.warnings.size(), 1u) << loss;
    EXPECT_NE(c.warnings[0].find("weights each sequence by its completion length"), std::string::npos);
  }
  EXPECT_TRUE(resolve({{"importance_sampling_level", "sequence"}, {"loss_type", "grpo"}}).warnings.empty());
  EXPECT_EQ(resolve({{"importance_sampling_level", "sequence"}, {"loss_type", "cispo"}}).warnings.size(), 1u);
  EXPECT_TRUE(resolve({{"importance_sampling_level", "sequence"}, {"loss_type", "sapo"}}).warnings.empty());
}

// TRL's init warnings for luspo at token level and vespo at sequence level.
TEST(GrpoParams, LuspoAndVespoLevelsWarn) {
  const GrpoConfig luspo = resolve({{"loss_type", "luspo"}});
  ASSERT_EQ(luspo.warnings.size(), 1u);
  EXPECT_NE(luspo.warnings[0].find("`importance_sampling_level` should be set to `'sequence'`"), std::string::npos);
  EXPECT_TRUE(resolve({{"loss_type", "luspo"}, {"importance_sampling_level", "sequence"}}).warnings.empty());
  const GrpoConfig vespo = resolve({{"loss_type", "vespo"}, {"importance_sampling_level", "sequence"}});
  ASSERT_EQ(vespo.warnings.size(), 1u);
  EXPECT_NE(vespo.warnings[0].find("VESPO computes sequence-level importance weights internally"), std::string::npos);
  EXPECT_TRUE(resolve({{"loss_type", "vespo"}}).warnings.empty());
}

TEST(GrpoParams, DeltaBelowTheUpperClipWarns) {
  const GrpoConfig c = resolve({{"delta", 1.1}, {"loss_type", "grpo"}});
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("no token can count as high-clipped"), std::string::npos);
  EXPECT_TRUE(resolve({{"delta", 2.0}}).warnings.empty());
}

TEST(GrpoParams, TrainingDefaultsAreGrposOwn) {
  trl::ParamTable table;
  table.add("learning_rate", trl::ParamType::number, 5e-5, "lr");
  table.add("logging_steps", trl::ParamType::integer, 500, "log every");
  trl::gfpo::apply_grpo_training_defaults(table);
  const trl::Args args = table.validate(nlohmann::json::object(), "args");
  EXPECT_DOUBLE_EQ(args.number("learning_rate"), 1e-6);
  EXPECT_EQ(args.integer("logging_steps"), 10);
}

}  // namespace
