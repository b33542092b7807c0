// GRPOConfig / GFPOConfig as declared parameters, and TRL's cross-field rules (spec §3, §4.1).
#include "gfpo_params.h"

#include <sstream>

#include "trl/sdk/error.h"

namespace trl::gfpo {

std::string to_string(LossType type) {
  switch (type) {
    case LossType::grpo: return "grpo";
    case LossType::bnpo: return "bnpo";
    case LossType::dr_grpo: return "dr_grpo";
    case LossType::dapo: return "dapo";
    case LossType::cispo: return "cispo";
    case LossType::sapo: return "sapo";
    case LossType::luspo: return "luspo";
    case LossType::vespo: return "vespo";
  }
  return "?";
}

std::string to_string(ScaleRewards scale) {
  switch (scale) {
    case ScaleRewards::group: return "group";
    case ScaleRewards::batch: return "batch";
    case ScaleRewards::none: return "none";
  }
  return "?";
}

std::string to_string(ImportanceSamplingLevel level) {
  return level == ImportanceSamplingLevel::token ? "token" : "sequence";
}

std::string to_string(MultiObjectiveAggregation aggregation) {
  return aggregation == MultiObjectiveAggregation::sum_then_normalize ? "sum_then_normalize" : "normalize_then_sum";
}

ScaleRewards parse_scale_rewards(const nlohmann::json& value, const std::string& where) {
  // grpo_config.py: {True: "group", False: "none"}.get(scale_rewards, scale_rewards).
  if (value.is_boolean()) return value.get<bool>() ? ScaleRewards::group : ScaleRewards::none;
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text == "group") return ScaleRewards::group;
    if (text == "batch") return ScaleRewards::batch;
    if (text == "none") return ScaleRewards::none;
    std::string hint = did_you_mean(text, {"group", "batch", "none"});
    throw ConfigError(where, "scale_rewards",
                      "expected true, false, \"group\", \"batch\" or \"none\"; got \"" + text + "\"" +
                          (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
  }
  throw ConfigError(where, "scale_rewards",
                    "expected true, false, \"group\", \"batch\" or \"none\"; got " + value.dump());
}

ParamTable grpo_params() {
  using T = ParamType;
  ParamTable t;
  // Generation (spec §3.1).
  t.add("num_generations", T::integer, 8, "G: completions sampled per prompt").at_least(2);
  t.add("num_generations_eval", T::integer, nullptr, "completions per prompt in evaluation; null = num_generations")
      .at_least(1);
  t.add("max_completion_length", T::integer, 256,
        "maximum new tokens per completion (GFPO base default; TRL GRPO HEAD uses 512); also dr_grpo's divisor")
      .at_least(1);
  t.add("temperature", T::number, 1.0, "sampling temperature; the loss divides logits by it too").greater_than(0);
  t.add("top_p", T::number, 1.0, "nucleus sampling probability mass").range(0, 1, false, true);
  t.add("top_k", T::integer, 0, "keep the k most likely tokens; 0 disables it").at_least(0);
  t.add("min_p", T::number, nullptr, "minimum token probability relative to the most likely; null = off").range(0, 1);
  t.add("repetition_penalty", T::number, 1.0, "penalty on tokens already in prompt or completion; 1 = off")
      .greater_than(0);
  t.add("steps_per_generation", T::integer, nullptr,
        "micro-steps served by one generation batch; null = gradient_accumulation_steps (or derived from "
        "generation_batch_size)")
      .at_least(1);
  t.add("generation_batch_size", T::integer, nullptr,
        "rows generated at once over all processes; null = per_device_train_batch_size * processes * "
        "steps_per_generation")
      .at_least(1);
  t.add("num_iterations", T::integer, 1, "mu: optimisation passes over each generation batch").at_least(1);
  t.add("shuffle_dataset", T::boolean, true, "shuffle the prompts with the run's seed");
  t.add("mask_truncated_completions", T::boolean, false,
        "exclude completions that end without EOS from the loss (their whole completion mask is zeroed)");
  // Loss (spec §3.4).
  t.add("beta", T::number, 0.0, "KL coefficient; 0 loads no reference model").at_least(0);
  t.add("epsilon", T::number, 0.2, "lower clipping epsilon: the ratio is clipped below at 1 - epsilon").at_least(0);
  t.add("epsilon_high", T::number, nullptr, "upper clipping epsilon; null = epsilon (DAPO recommends 0.28)")
      .at_least(0);
  t.add("delta", T::number, nullptr,
        "two-sided clipping: the unclipped ratio is capped at delta (INTELLECT-2); null = off; should be > "
        "1 + epsilon_high")
      .greater_than(0);
  t.add("importance_sampling_level", T::string, "token", "importance ratio per token or per sequence (GSPO)")
      .one_of({"token", "sequence"});
  t.add("loss_type", T::string, "dapo",
        "policy objective and aggregation: grpo (per-sequence mean), bnpo (local token mean), dr_grpo (/ rows x "
        "max_completion_length), dapo (global token mean), cispo (clipped IS weight x log-prob, MiniMax-M1), "
        "sapo (soft sigmoid gate, per-sequence mean), luspo (per-sequence sum, GSPO scaled by length), vespo "
        "(gamma-weighted sequence IS weight x log-prob)")
      .one_of({"grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo", "vespo"});
  t.add("sapo_temperature_neg", T::number, 1.05, "sapo: temperature of the gate for tokens with advantage <= 0")
      .greater_than(0);
  t.add("sapo_temperature_pos", T::number, 1.0, "sapo: temperature of the gate for tokens with advantage > 0")
      .greater_than(0);
  t.add("vespo_k_pos", T::number, 2.0,
        "vespo: power k for advantages >= 0 (how hard sequences with IS weight < 1 are down-weighted)")
      .at_least(0);
  t.add("vespo_lambda_pos", T::number, 3.0,
        "vespo: decay lambda for advantages >= 0 (how hard sequences with IS weight > 1 are down-weighted; "
        "clamped to >= 1e-4 as TRL)")
      .at_least(0);
  t.add("vespo_k_neg", T::number, 3.0, "vespo: power k for advantages < 0").at_least(0);
  t.add("vespo_lambda_neg", T::number, 2.0, "vespo: decay lambda for advantages < 0 (clamped to >= 1e-4 as TRL)")
      .at_least(0);
  t.add("scale_rewards", T::object, "group",
        "advantage scaling: \"group\" (or true), \"batch\", \"none\" (or false)");
  t.add("multi_objective_aggregation", T::string, "sum_then_normalize",
        "combining several rewards (GRPO only; GFPO's filtered path always sums then normalizes)")
      .one_of({"sum_then_normalize", "normalize_then_sum"});
  t.add("reward_weights", T::number_list, nullptr, "one weight per reward function; null = all 1.0");
  t.add("top_entropy_quantile", T::number, 1.0,
        "rho: only the top-rho quantile of tokens by entropy enter the policy loss; 1 keeps all")
      .range(0, 1);
  // TRL 1.16 turned this on by default (1.10 and the GFPO release 1.7.1 had it off); we follow 1.16 (docs/parity.md).
  t.add("use_bias_correction_kl", T::boolean, true, "multiply the KL term by the importance ratio (DeepSeek-V3.2)");
  t.add("entropy_coef", T::number, 0.0,
        "entropy bonus: loss -= entropy_coef x mean token entropy (the same meaning for every loss_type); 0 = off; "
        "the initial value with use_adaptive_entropy");
  t.add("use_adaptive_entropy", T::boolean, false,
        "Skywork-OR1 adaptive entropy control: after each optimizer step entropy_coef moves by entropy_coef_delta "
        "(up while the entropy is <= entropy_target, down otherwise), and the bonus applies only while it is");
  t.add("entropy_coef_min", T::number, 0.0, "adaptive entropy control: lower bound of entropy_coef").at_least(0);
  t.add("entropy_coef_max", T::number, 1.0, "adaptive entropy control: upper bound of entropy_coef").at_least(0);
  t.add("entropy_coef_delta", T::number, 0.005, "adaptive entropy control: step of entropy_coef per optimizer step")
      .at_least(0);
  t.add("entropy_target", T::number, 0.2,
        "adaptive entropy control: target mean token entropy in nats, over the tokens of the policy loss")
      .at_least(0);
  // TR-DPO reference sync (TRL's SyncRefModelCallback, as the dpo trainer's, spec §1.6).
  t.add("sync_ref_model", T::boolean, false,
        "TR-DPO: mix the policy into the reference model every ref_model_sync_steps steps (needs beta != 0)");
  t.add("ref_model_mixup_alpha", T::number, 0.6, "TR-DPO alpha: ref = alpha * policy + (1 - alpha) * ref")
      .range(0, 1);
  t.add("ref_model_sync_steps", T::integer, 512, "TR-DPO tau: optimizer steps between two syncs").at_least(1);
  t.add("off_policy_mask_threshold", T::number, nullptr,
        "drop sequences with negative advantage whose mean old-minus-new log-prob exceeds this; null = off")
      .at_least(0);
  // Logging.
  t.add("log_completions", T::boolean, false,
        "print each generation batch's completions to the log (completions.jsonl always holds them all)");
  t.add("num_completions_to_print", T::integer, nullptr, "completions printed per generation batch; null = all")
      .at_least(1);
  // Not in TRL: the replay log that `make parity` feeds to TRL's trainer (docs/parity.md, case 4).
  t.add("log_completion_ids", T::boolean, false,
        "add prompt_ids, completion_ids and the dataset row to every completions.jsonl row (replay log)");
  return t;
}

ParamTable gfpo_params() {
  ParamTable t = grpo_params();
  t.add("num_remains_in_group", ParamType::integer, nullptr,
        "R: completions kept per group by the group filter; >= 2 and < num_generations; null = plain GRPO")
      .at_least(2);
  return t;
}

void apply_grpo_training_defaults(ParamTable& merged_table) {
  merged_table.set_default("learning_rate", 1e-6);
  merged_table.set_default("logging_steps", 10);
}

namespace {

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

GrpoConfig resolve_grpo_config(const Args& args, const BatchGeometry& geometry, size_t num_reward_functions) {
  const std::string& where = args.where();
  TRL_INTERNAL_ASSERT(geometry.per_device_train_batch_size >= 1 && geometry.num_processes >= 1 &&
                          geometry.gradient_accumulation_steps >= 1,
                      "batch geometry must be positive");
  GrpoConfig c;
  c.num_generations = args.integer("num_generations");
  c.num_generations_eval = args.optional_integer("num_generations_eval");
  c.max_completion_length = args.integer("max_completion_length");
  c.temperature = args.number("temperature");
  c.top_p = args.number("top_p");
  c.top_k = args.integer("top_k");
  c.min_p = args.optional_number("min_p");
  c.repetition_penalty = args.number("repetition_penalty");
  c.num_iterations = args.integer("num_iterations");
  c.shuffle_dataset = args.boolean("shuffle_dataset");
  c.mask_truncated_completions = args.boolean("mask_truncated_completions");
  c.beta = args.number("beta");
  c.epsilon_low = args.number("epsilon");
  c.epsilon_high = args.optional_number("epsilon_high").value_or(c.epsilon_low);
  c.delta = args.optional_number("delta");
  c.importance_sampling_level = args.string("importance_sampling_level") == "sequence"
                                    ? ImportanceSamplingLevel::sequence
                                    : ImportanceSamplingLevel::token;
  const std::string loss = args.string("loss_type");
  c.loss_type = LossType::dapo;
  for (LossType type : {LossType::grpo, LossType::bnpo, LossType::dr_grpo, LossType::dapo, LossType::cispo,
                        LossType::sapo, LossType::luspo, LossType::vespo})
    if (loss == to_string(type)) c.loss_type = type;
  c.sapo_temperature_neg = args.number("sapo_temperature_neg");
  c.sapo_temperature_pos = args.number("sapo_temperature_pos");
  c.vespo_k_pos = args.number("vespo_k_pos");
  c.vespo_lambda_pos = args.number("vespo_lambda_pos");
  c.vespo_k_neg = args.number("vespo_k_neg");
  c.vespo_lambda_neg = args.number("vespo_lambda_neg");
  c.sync_ref_model = args.boolean("sync_ref_model");
  c.ref_model_mixup_alpha = args.number("ref_model_mixup_alpha");
  c.ref_model_sync_steps = args.integer("ref_model_sync_steps");
  c.entropy_coef = args.number("entropy_coef");
  c.use_adaptive_entropy = args.boolean("use_adaptive_entropy");
  c.entropy_coef_min = args.number("entropy_coef_min");
  c.entropy_coef_max = args.number("entropy_coef_max");
  c.entropy_coef_delta = args.number("entropy_coef_delta");
  c.entropy_target = args.number("entropy_target");
  c.scale_rewards = parse_scale_rewards(args.value("scale_rewards"), where);
  c.multi_objective_aggregation = args.string("multi_objective_aggregation") == "normalize_then_sum"
                                      ? MultiObjectiveAggregation::normalize_then_sum
                                      : MultiObjectiveAggregation::sum_then_normalize;
  c.top_entropy_quantile = args.number("top_entropy_quantile");
  c.use_bias_correction_kl = args.boolean("use_bias_correction_kl");
  c.off_policy_mask_threshold = args.optional_number("off_policy_mask_threshold");
  c.log_completions = args.boolean("log_completions");
  c.num_completions_to_print = args.optional_integer("num_completions_to_print");
  c.log_completion_ids = args.boolean("log_completion_ids");
  // gfpo_params() declares R; grpo_params() alone does not (the key is then simply absent).
  if (args.json().contains("num_remains_in_group")) c.num_remains_in_group = args.optional_integer("num_remains_in_group");

  // Batch sizes (grpo_config.py __post_init__, spec §3.1).
  const int64_t global_batch = geometry.per_device_train_batch_size * geometry.num_processes;
  const std::optional<int64_t> spg = args.optional_integer("steps_per_generation");
  const std::optional<int64_t> gbs = args.optional_integer("generation_batch_size");
  if (spg && gbs)
    throw ConfigError(where, "generation_batch_size",
                      "cannot be set together with steps_per_generation (" + str(*spg) + "); set only one");
  if (gbs) {
    if (*gbs % global_batch != 0)
      throw ConfigError(where, "generation_batch_size",
                        "expected a multiple of per_device_train_batch_size * processes (" + str(global_batch) +
                            "), got " + str(*gbs));
    c.generation_batch_size = *gbs;
    c.steps_per_generation = *gbs / global_batch;
  } else {
    c.steps_per_generation = spg.value_or(geometry.gradient_accumulation_steps);
    c.generation_batch_size = global_batch * c.steps_per_generation;
  }
  if (c.generation_batch_size % c.num_generations != 0) {
    const std::string key = gbs ? "generation_batch_size" : (spg ? "steps_per_generation" : "num_generations");
    std::ostringstream what;
    what << "generation_batch_size (" << c.generation_batch_size;
    if (!gbs)
      what << " = per_device_train_batch_size " << geometry.per_device_train_batch_size << " * processes "
           << geometry.num_processes << " * steps_per_generation " << c.steps_per_generation;
    what << ") must be divisible by num_generations (" << c.num_generations << ")";
    throw ConfigError(where, key, what.str());
  }
  if (geometry.evaluates) {
    const int64_t eval_global = geometry.per_device_eval_batch_size * geometry.num_processes;
    if (eval_global % c.eval_num_generations() != 0)
      throw ConfigError(where, c.num_generations_eval ? "num_generations_eval" : "num_generations",
                        "the global eval batch size (per_device_eval_batch_size " +
                            str(geometry.per_device_eval_batch_size) + " * processes " + str(geometry.num_processes) +
                            ") must be divisible by the generations used in evaluation (" +
                            str(c.eval_num_generations()) + ")");
  }

  // Reward weights (spec §3.2).
  if (args.has("reward_weights")) {
    c.reward_weights = args.numbers("reward_weights");
    if (c.reward_weights.size() != num_reward_functions)
      throw ConfigError(where, "reward_weights",
                        "expected one weight per reward function (" + std::to_string(num_reward_functions) +
                            "), got " + std::to_string(c.reward_weights.size()));
  } else {
    c.reward_weights.assign(num_reward_functions, 1.0);
  }

  // GFPO (spec §4.1). R >= 2 is the declared range: TRL only documents it, but R = 1 makes the kept group's
  // unbiased std NaN and so every advantage NaN.
  if (c.num_remains_in_group && *c.num_remains_in_group >= c.num_generations)
    throw ConfigError(where, "num_remains_in_group",
                      "must be less than num_generations (" + str(c.num_generations) + "), got " +
                          str(*c.num_remains_in_group));

  // TR-DPO (GRPOTrainer.__init__): without the KL term there is no reference model to sync.
  if (c.sync_ref_model && c.beta == 0.0)
    throw ConfigError(where, "sync_ref_model",
                      "is true while beta is 0: the reference model is not used (nor loaded) without the KL term, so "
                      "there is nothing to synchronize; set sync_ref_model to false or beta to a non-zero value");
  if (c.entropy_coef_min > c.entropy_coef_max)
    throw ConfigError(where, "entropy_coef_min",
                      "must be <= entropy_coef_max (" + std::to_string(c.entropy_coef_max) + "), got " +
                          std::to_string(c.entropy_coef_min));

  // TRL's init warnings that depend only on the configuration.
  if (c.loss_type == LossType::luspo && c.importance_sampling_level != ImportanceSamplingLevel::sequence)
    c.warnings.push_back("When using `'luspo'` loss, `importance_sampling_level` should be set to `'sequence'` to "
                         "mirror the paper's setup.");
  if (c.loss_type == LossType::vespo && c.importance_sampling_level != ImportanceSamplingLevel::token)
    c.warnings.push_back("VESPO computes sequence-level importance weights internally. `importance_sampling_level` "
                         "should be set to `'token'` (the default).");
  if (c.importance_sampling_level == ImportanceSamplingLevel::sequence &&
      (c.loss_type == LossType::bnpo || c.loss_type == LossType::dr_grpo || c.loss_type == LossType::dapo ||
       c.loss_type == LossType::cispo))
    c.warnings.push_back("When using `importance_sampling_level='sequence'`, the '" + to_string(c.loss_type) +
                         "' loss sums per-token contributions, which effectively weights each sequence by its "
                         "completion length instead of optimizing the per-sequence objective. To reproduce the "
                         "GSPO paper's setup, set `loss_type='grpo'`.");
  if (c.delta && *c.delta <= 1.0 + c.epsilon_high)
    c.warnings.push_back("delta (" + std::to_string(*c.delta) + ") <= 1 + epsilon_high: no token can count as "
                         "high-clipped, since the clip metrics use the ratio after the delta clamp (spec §6.B B1)");
  return c;
}

}  // namespace trl::gfpo
