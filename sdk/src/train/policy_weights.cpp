// Saving and restoring the policy, full or as LoRA adapters (see policy_weights.h).
#include "train/policy_weights.h"

#include "trl/sdk/log.h"
#include "trl/sdk/model/causal_lm.h"
#include "trl/sdk/model/lora.h"
#include "trl/sdk/params.h"
#include "trl/sdk/train/context.h"
#include "trl/sdk/train/training_args.h"

namespace trl {

void add_peft_adapters(TrainerContext& ctx) {
  LoraConfig config = lora_config_from_json(ctx.run.peft, ctx.run.path + ": peft");
  config.base_model_name_or_path = ctx.run.model;
  add_lora_adapters(ctx.model, config, static_cast<uint64_t>(ctx.args.seed));
  const nlohmann::json& trainer_args = ctx.trainer_args.json();
  const bool disable_dropout = trainer_args.value("disable_dropout", false);
  if (disable_dropout) disable_lora_dropout(ctx.model);
  int64_t trainable = 0;
  for (const auto& [name, t] : lora_named_parameters(ctx.model)) trainable += t.numel();
  std::string targets;
  for (const std::string& t : config.target_modules) targets += (targets.empty() ? "" : ",") + t;
  log::info("peft: LoRA r=" + std::to_string(config.r) + " alpha=" + std::to_string(config.lora_alpha) +
            " scaling=" + std::to_string(config.scaling()) + " on " + targets + ": " + std::to_string(trainable) +
            " trainable parameters of " + std::to_string(ctx.model.config().num_parameters()) +
            (disable_dropout && config.lora_dropout > 0 ? " (lora_dropout off: disable_dropout)" : ""));
}

void save_policy(const CausalLM& model, const std::string& dir) {
  if (has_lora_adapters(model)) save_lora_adapter(model, dir);
  else model.save_pretrained(dir);
}

void load_policy_weights(CausalLM& model, const std::string& dir) {
  if (has_lora_adapters(model)) load_lora_weights(model, dir);
  else model.copy_weights_from(*CausalLM::from_pretrained(dir, {model.device(), model.dtype()}));
}

}  // namespace trl
