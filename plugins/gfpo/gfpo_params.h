// gfpo_params.h: the GRPO/GFPO configuration (GRPOConfig / GFPOConfig, spec §3 and §4.1) as declared
// parameters, and the cross-field checks TRL's __post_init__ makes.
//
// grpo_params() declares every GRPOConfig key the gfpo trainer honours, with the GFPO base's defaults
// (spec §3: max_completion_length 256 there, 512 at HEAD). gfpo_params() adds num_remains_in_group.
// TrainingArguments live in another table (trl/sdk/train/training_args.h); GRPOConfig changes two of its
// defaults, which the trainer applies with apply_grpo_training_defaults(). After ParamTable::validate,
// resolve_grpo_config() reads the values back, derives steps_per_generation / generation_batch_size and
// checks every rule that involves more than one key; each failure is a trl::ConfigError naming the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trl/sdk/params.h"

namespace trl::gfpo {

/// The policy objective and how its per-token losses are aggregated (spec §3.4; TRL's grpo_trainer.py
/// `_compute_loss`, the same at the GFPO base trl 1.7.1 and at 1.16.0 but for luspo, docs/gfpo.md).
/// grpo, bnpo, dr_grpo, dapo and luspo share the clipped objective; cispo clips the importance weight
/// (MiniMax-M1), sapo gates it softly (SAPO), vespo weights whole sequences with a gamma function (VESPO).
/// TRL's default is dapo.
enum class LossType { grpo, bnpo, dr_grpo, dapo, cispo, sapo, luspo, vespo };

/// Which standard deviation divides the centred rewards (spec §3.3).
enum class ScaleRewards { group, batch, none };

/// Whether the importance ratio is per token or one per sequence (GSPO) (spec §3.4).
enum class ImportanceSamplingLevel { token, sequence };

/// How several reward functions are combined before the advantages (spec §3.3; HEAD only in TRL's GRPO,
/// ignored by GFPO's filtered path, spec §4.4).
enum class MultiObjectiveAggregation { sum_then_normalize, normalize_then_sum };

/// "grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo", "vespo".
std::string to_string(LossType type);
/// "group", "batch", "none".
std::string to_string(ScaleRewards scale);
/// "token", "sequence".
std::string to_string(ImportanceSamplingLevel level);
/// "sum_then_normalize", "normalize_then_sum".
std::string to_string(MultiObjectiveAggregation aggregation);

/// Reads `scale_rewards` as TRL does (grpo_config __post_init__): true -> group, false -> none, or one of the
/// strings "group", "batch", "none". Anything else is a ConfigError at `where`, key "scale_rewards".
ScaleRewards parse_scale_rewards(const nlohmann::json& value, const std::string& where);

/// GRPOConfig's parameters that the gfpo trainer honours, TRL names and GFPO-base defaults.
ParamTable grpo_params();

/// grpo_params() plus GFPOConfig's num_remains_in_group (R).
ParamTable gfpo_params();

/// GRPOConfig overrides two TrainingArguments defaults: learning_rate 1e-6 (HF: 5e-5) and logging_steps 10
/// (HF: 500). The trainer calls this on the merged table before validation; both keys must be declared.
void apply_grpo_training_defaults(ParamTable& merged_table);

/// The TrainingArguments values the cross-field rules need (spec §3.1 "Batch sizes").
struct BatchGeometry {
  int64_t per_device_train_batch_size = 8;  ///< rows (completions) per micro-batch and process
  int64_t per_device_eval_batch_size = 8;   ///< rows per eval batch and process
  int64_t gradient_accumulation_steps = 1;  ///< micro-batches per optimizer step
  int64_t num_processes = 1;                ///< data-parallel world size
  bool evaluates = false;                   ///< an eval dataset is given and eval_strategy != "no"
};

/// The validated, resolved GRPO/GFPO configuration.
struct GrpoConfig {
  int64_t num_generations = 8;                      ///< G, completions per prompt (>= 2)
  std::optional<int64_t> num_generations_eval;      ///< completions per prompt in eval; nullopt = G
  int64_t max_completion_length = 256;              ///< most new tokens; also dr_grpo's divisor
  double temperature = 1.0;                         ///< sampling temperature; also divides logits for the loss
  double top_p = 1.0;                               ///< nucleus sampling
  int64_t top_k = 0;                                ///< 0 disables top-k
  std::optional<double> min_p;                      ///< minimum-probability filter; nullopt = off
  double repetition_penalty = 1.0;                  ///< 1 = off
  int64_t steps_per_generation = 1;                 ///< micro-steps served by one generation batch (resolved)
  int64_t generation_batch_size = 8;                ///< rows generated at once over all processes (resolved)
  int64_t num_iterations = 1;                       ///< mu: times each generation batch is reused
  bool shuffle_dataset = true;                      ///< shuffle the prompts (seeded)
  bool mask_truncated_completions = false;          ///< zero the mask of completions without EOS
  double beta = 0.0;                                ///< KL weight; 0 = no reference model
  double epsilon_low = 0.2;                         ///< `epsilon`: lower clip 1 - epsilon_low
  double epsilon_high = 0.2;                        ///< `epsilon_high` (defaults to epsilon): upper clip
  std::optional<double> delta;                      ///< two-sided clip of the unclipped branch; nullopt = off
  ImportanceSamplingLevel importance_sampling_level = ImportanceSamplingLevel::token;  ///< token or sequence
  LossType loss_type = LossType::dapo;              ///< aggregation of the token losses
  ScaleRewards scale_rewards = ScaleRewards::group; ///< advantage scaling
  MultiObjectiveAggregation multi_objective_aggregation = MultiObjectiveAggregation::sum_then_normalize;  ///< HEAD GRPO only
  std::vector<double> reward_weights;               ///< one per reward function (default all 1.0)
  double sapo_temperature_pos = 1.0;                ///< sapo: gate temperature where A > 0
  double sapo_temperature_neg = 1.05;               ///< sapo: gate temperature where A <= 0
  double vespo_k_pos = 2.0;                         ///< vespo: power k where A >= 0
  double vespo_lambda_pos = 3.0;                    ///< vespo: decay lambda where A >= 0
  double vespo_k_neg = 3.0;                         ///< vespo: power k where A < 0
  double vespo_lambda_neg = 2.0;                    ///< vespo: decay lambda where A < 0
  bool sync_ref_model = false;                      ///< TR-DPO: mix the policy into the reference
  double ref_model_mixup_alpha = 0.6;               ///< alpha: ref <- (1 - alpha) ref + alpha policy
  int64_t ref_model_sync_steps = 512;               ///< tau: sync every tau optimizer steps
  double top_entropy_quantile = 1.0;                ///< rho: keep the top-rho tokens by entropy; 1 = all
  double entropy_coef = 0.0;                        ///< entropy bonus weight (initial value when adaptive)
  bool use_adaptive_entropy = false;                ///< Skywork-OR1 adaptive entropy control
  double entropy_coef_min = 0.0;                    ///< adaptive: lower bound of the coefficient
  double entropy_coef_max = 1.0;                    ///< adaptive: upper bound of the coefficient
  double entropy_coef_delta = 0.005;                ///< adaptive: step per optimizer step
  double entropy_target = 0.2;                      ///< adaptive: the bonus applies while entropy <= this (nats)
  bool use_bias_correction_kl = true;               ///< multiply the KL by the importance ratio (TRL 1.16's default)
  std::optional<double> off_policy_mask_threshold;  ///< DeepSeek-V3.2 off-policy sequence mask; nullopt = off
  bool log_completions = false;                     ///< print each generation batch's completions to the log
  std::optional<int64_t> num_completions_to_print;  ///< rows in that sample; nullopt = all
  bool log_completion_ids = false;                  ///< completions.jsonl rows carry prompt/completion ids
  std::optional<int64_t> num_remains_in_group;      ///< R (GFPO): completions kept per group; nullopt = GRPO
  std::vector<std::string> warnings;                ///< TRL's init warnings that apply; the trainer logs them

  /// Completions per prompt in eval: num_generations_eval or G.
  int64_t eval_num_generations() const { return num_generations_eval.value_or(num_generations); }
  /// Micro-steps between two generations: steps_per_generation * num_iterations.
  int64_t generate_every() const { return steps_per_generation * num_iterations; }
  /// Whether the entropy bonus is in the loss (TRL: entropy_coef != 0 or use_adaptive_entropy).
  bool entropy_bonus() const { return entropy_coef != 0.0 || use_adaptive_entropy; }
};

/// Reads validated `args` (from grpo_params() or gfpo_params(), possibly merged with TrainingArguments)
/// and applies TRL's cross-field rules (grpo_config.py __post_init__, gfpo_config.py, spec §3.1-3.4, §4.1):
/// - steps_per_generation and generation_batch_size are not both set; the unset one is derived, and with
///   neither, steps_per_generation = gradient_accumulation_steps;
/// - an explicit generation_batch_size is divisible by per_device_train_batch_size * num_processes;
/// - generation_batch_size is divisible by num_generations;
/// - with evaluation, per_device_eval_batch_size * num_processes is divisible by the eval generations;
/// - reward_weights (if given) has one entry per reward function;
/// - num_remains_in_group is < num_generations (and >= 2 by its declared range, which TRL only documents);
/// - sync_ref_model needs beta != 0 (TRL's GRPOTrainer raises: there is no reference model to sync);
/// - entropy_coef_min <= entropy_coef_max (TRL does not check; the adaptive clamp is meaningless otherwise).
/// TRL's init warnings that depend only on the configuration go to GrpoConfig::warnings (luspo at token
/// level, vespo at sequence level, sequence level with bnpo, dr_grpo, dapo or cispo).
/// `num_reward_functions` is the number of configured reward components. Throws ConfigError at args.where().
GrpoConfig resolve_grpo_config(const Args& args, const BatchGeometry& geometry, size_t num_reward_functions);

}  // namespace trl::gfpo
