// The experimental `gfpo` plugin's entry point: declares and registers its components. The logic lives in
// trl_gfpo_core (plugins/README.md).
#include <memory>

#include "accuracy_reward.h"
#include "adaptive_difficulty_filter.h"
#include "format_reward.h"
#include "gfpo_trainer.h"
#include "length_penalty_reward.h"
#include "simple_group_filters.h"
#include "trl/sdk/plugin.h"

TRL_PLUGIN("gfpo", "Apache-2.0", "Group Filtered Policy Optimization: GRPO trainer, rewards and group filters",
           TRL_TRAINER("gfpo"), TRL_REWARD("accuracy"), TRL_REWARD("format"), TRL_REWARD("length_penalty"),
           TRL_GROUP_FILTER("length"), TRL_GROUP_FILTER("token_efficiency"), TRL_GROUP_FILTER("adaptive_difficulty"));

void trl_plugin_register(trl::Registry& registry) {
  using namespace trl::gfpo;
  registry.add_trainer(
      "gfpo", gfpo_trainer_params(), [](const trl::Args& args) { return std::make_unique<GfpoTrainer>(args); },
      "GRPO on prompt-only data with GFPO group filtering (TRL GFPOTrainer; plain GRPO without a group_filter)");
  registry.add_reward(
      "accuracy", accuracy_reward_params(),
      [](const trl::Args& args) { return std::make_unique<AccuracyReward>(args); },
      "1.0 if the completion's final answer matches a dataset column, else 0.0; None without a reference");
  registry.add_reward(
      "format", format_reward_params(), [](const trl::Args& args) { return std::make_unique<FormatReward>(args); },
      "1.0 if the completion matches a regex (default: TRL's think format), else 0.0");
  registry.add_reward(
      "length_penalty", length_penalty_reward_params(),
      [](const trl::Args& args) { return std::make_unique<LengthPenaltyReward>(args); },
      "a length-based penalty in [-1, 0]: linear, or DAPO's soft overlong punishment");
  registry.add_group_filter(
      "length", trl::ParamTable{}, [](const trl::Args&) { return std::make_unique<LengthGroupFilter>(); },
      "GFPO: keep the shortest completions of each group");
  registry.add_group_filter(
      "token_efficiency", trl::ParamTable{},
      [](const trl::Args&) { return std::make_unique<TokenEfficiencyGroupFilter>(); },
      "GFPO: keep the completions with the most reward per token");
  registry.add_group_filter(
      "adaptive_difficulty", adaptive_difficulty_params(),
      [](const trl::Args& args) { return std::make_unique<AdaptiveDifficultyFilter>(args); },
      "Adaptive Difficulty GFPO: keep more completions for prompts that are harder than the running quartiles");
}
