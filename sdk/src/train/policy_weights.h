// The policy's weights as the loop saves and restores them: the full model in HF layout, or, when the
// run trains LoRA adapters (the run config's "peft" block), only the adapters in PEFT's layout.
#pragma once

#include <string>

namespace trl {

class CausalLM;
struct TrainerContext;

/// Adds LoRA adapters from ctx.run.peft to ctx.model (seeded by args.seed), freezing the base. The adapters'
/// dropout is off when the trainer's disable_dropout argument is true, as TRL's disable_dropout_in_model
/// zeroes every dropout module, PEFT's included. Throws ConfigError naming "<run config>: peft".
void add_peft_adapters(TrainerContext& ctx);

/// Writes the policy into `dir`: adapter_model.safetensors + adapter_config.json when it has adapters,
/// else config.json + model.safetensors + generation_config.json.
void save_policy(const CausalLM& model, const std::string& dir);

/// Restores what save_policy wrote in a checkpoint `dir` into `model` (same layout, same adapters).
void load_policy_weights(CausalLM& model, const std::string& dir);

}  // namespace trl
