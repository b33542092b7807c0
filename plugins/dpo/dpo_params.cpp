// The `dpo` trainer's declared parameters (spec §1.1 HEAD defaults, §1.9 legacy keys).
#include "dpo_params.h"

#include "trl/sdk/log.h"

namespace trl::dpo {

ParamTable dpo_params() {
  using T = ParamType;
  ParamTable t;
  // Loss (spec §1.5).
  t.add("beta", T::number, 0.1, "β, the temperature on the log-ratios; IPO's regulariser τ").greater_than(0);
  t.add("loss_type", T::string_list, {"sigmoid"},
        "loss types summed with loss_weights (a single string is a one-element list)")
      .one_of(dpo_loss_type_names())
      .accept_single();
  t.add("loss_weights", T::number_list, nullptr, "one weight per loss_type entry; null = all 1.0");
  t.add("label_smoothing", T::number, 0.0,
        "ε: EXO's ε for exo_pair (in (0, 1)), the label-flip rate for robust (in [0, 0.5)), smoothing for aot")
      .range(0, 1);
  t.add("f_divergence_type", T::string, "reverse_kl", "divergence that turns log-ratios into scores")
      .one_of(f_divergence_type_names());
  t.add("f_alpha_divergence_coef", T::number, 0.5, "α of alpha_divergence (1 falls back to reverse_kl)");
  t.add("ld_alpha", T::number, nullptr,
        "LD-DPO: weight of completion tokens past the shorter completion's length; null = off")
      .range(0, 1);
  t.add("use_weighting", T::boolean, false, "WPO: weight each pair's loss by its completions' probabilities");
  t.add("discopop_tau", T::number, 0.05, "τ of the discopop loss").greater_than(0);
  // Data (spec §1.3).
  t.add("max_length", T::integer, 1024,
        "maximum tokens of prompt plus one completion; null = no truncation (keep_start drops prompts this long)")
      .allow_null()
      .at_least(1);
  t.add("truncation_mode", T::string, "keep_start", "which end of an over-long sequence to keep (keep_end: deprecated)")
      .one_of({"keep_start", "keep_end"});
  t.add("padding_free", T::boolean, false, "forced to false with a warning, as TRL HEAD does after its refactor");
  t.add("pad_to_multiple_of", T::integer, nullptr, "round the padded batch width up to a multiple of this")
      .at_least(1);
  // Reference model (spec §1.4, §1.6).
  t.add("precompute_ref_log_probs", T::boolean, false,
        "compute the reference log-probs of the whole dataset once, before training");
  t.add("precompute_ref_batch_size", T::integer, nullptr,
        "batch size of that pass; null = per_device_train_batch_size (eval: per_device_eval_batch_size)")
      .at_least(1);
  t.add("sync_ref_model", T::boolean, false,
        "TR-DPO: every ref_model_sync_steps steps, ref ← (1−α)·ref + α·policy");
  t.add("ref_model_mixup_alpha", T::number, 0.6, "TR-DPO α").range(0, 1);
  t.add("ref_model_sync_steps", T::integer, 512, "TR-DPO period τ, in optimizer steps").at_least(1);
  t.add("disable_dropout", T::boolean, true, "turn dropout off in the policy and the reference");
  // Legacy keys (spec §1.9): gone from TRL HEAD, kept for old configs. null keeps HEAD's behaviour
  // (legacy max_prompt_length defaulted to 512, which would change every HEAD run).
  t.add("max_prompt_length", T::integer, nullptr, "legacy: keep only the last N prompt tokens; null = off")
      .at_least(1);
  t.add("max_completion_length", T::integer, nullptr,
        "legacy: keep only the first N tokens of each completion; null = off")
      .at_least(1);
  t.add("rpo_alpha", T::number, nullptr,
        "legacy RPO: adds rpo_alpha × NLL of the chosen completions, i.e. an sft term with weight rpo_alpha");
  t.add("reference_free", T::boolean, false,
        "legacy: the loss takes the reference log-probs as 0; the rewards/* metrics still use the reference model");
  return t;
}

void apply_dpo_training_defaults(ParamTable& table) {
  if (table.find("learning_rate")) table.set_default("learning_rate", 1e-6);
  if (table.find("logging_steps")) table.set_default("logging_steps", 10);
}

DpoLossConfig dpo_loss_config_from_args(const Args& args) {
  DpoLossConfig config;
  config.beta = args.number("beta");
  config.loss_type.clear();
  for (const std::string& name : args.strings("loss_type"))
    config.loss_type.push_back(parse_dpo_loss_type(name, args.where(), "loss_type"));
  if (args.has("loss_weights")) config.loss_weights = args.numbers("loss_weights");
  config.label_smoothing = args.number("label_smoothing");
  config.f_divergence_type = parse_f_divergence_type(args.string("f_divergence_type"), args.where(), "f_divergence_type");
  config.f_alpha_divergence_coef = args.number("f_alpha_divergence_coef");
  config.ld_alpha = args.optional_number("ld_alpha");
  config.use_weighting = args.boolean("use_weighting");
  config.discopop_tau = args.number("discopop_tau");
  config.rpo_alpha = args.optional_number("rpo_alpha");
  config.reference_free = args.boolean("reference_free");
  validate(config, args.where());
  for (const std::string& message : warnings(config)) log::warn(args.where() + ": " + message);
  return config;
}

void check_dpo_args(const Args& args) {
  const bool precompute = args.boolean("precompute_ref_log_probs");
  const bool sync = args.boolean("sync_ref_model");
  if (sync && precompute)
    args.fail("sync_ref_model",
              "cannot be combined with precompute_ref_log_probs: a reference that is synced to the policy "
              "cannot be precomputed; set one of them to false");
  if (args.boolean("padding_free"))
    log::warn(args.where() + ": padding_free is temporarily unavailable (as in TRL after its DPO refactor) and is "
                             "forced to false");
  if (args.string("truncation_mode") == "keep_end")
    log::warn(args.where() + ": truncation_mode keep_end is deprecated (TRL); prefer keep_start");
}

}  // namespace trl::dpo
