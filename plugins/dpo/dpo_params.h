// plugins/dpo/dpo_params.h: the declared parameters of the `dpo` trainer (TRL's DPOConfig, HEAD, plus the
// legacy keys the project keeps), and how they become a DpoLossConfig (spec §1.1, §1.9).
//
// The trainer's full table is training_arguments_params() merged with dpo_params(), then
// apply_dpo_training_defaults(); `plugins info dpo` and the docs print it.
#pragma once

#include "dpo_loss_config.h"
#include "trl/sdk/params.h"

namespace trl::dpo {

/// Every DPO-specific parameter with TRL's name, default and help: the loss knobs (beta, loss_type,
/// loss_weights, label_smoothing, f_divergence_type, f_alpha_divergence_coef, ld_alpha, use_weighting,
/// discopop_tau), data (max_length, truncation_mode, padding_free, pad_to_multiple_of), the reference
/// model (precompute_ref_log_probs, precompute_ref_batch_size, sync_ref_model, ref_model_mixup_alpha,
/// ref_model_sync_steps, disable_dropout) and the legacy keys (max_prompt_length, max_completion_length,
/// rpo_alpha, reference_free).
ParamTable dpo_params();

/// DPOConfig's own defaults for inherited TrainingArguments (learning_rate 1e-6, logging_steps 10);
/// applied to each of those keys that `table` declares.
void apply_dpo_training_defaults(ParamTable& table);

/// Reads the loss knobs from args validated against dpo_params(), refuses invalid combinations
/// (validate(), ConfigError naming the key) and logs warnings() once each.
DpoLossConfig dpo_loss_config_from_args(const Args& args);

/// The cross-key rules of the non-loss parameters, ConfigError naming the key: sync_ref_model with
/// precompute_ref_log_probs (TRL: ValueError). Logs TRL's warnings:
/// padding_free is forced off (TRL HEAD: "temporarily unavailable after a refactor"), keep_end is
/// deprecated. Call it together with dpo_loss_config_from_args.
void check_dpo_args(const Args& args);

}  // namespace trl::dpo
