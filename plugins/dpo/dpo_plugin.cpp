// The stable `dpo` plugin: TRL's DPOTrainer as the trainer component "dpo".
#include "dpo_trainer.h"
#include "trl/sdk/plugin.h"

TRL_PLUGIN_STABLE("dpo", "Apache-2.0", "Direct Preference Optimization trainer (TRL DPOTrainer, all loss types)",
                  TRL_TRAINER("dpo"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_trainer(
      "dpo", trl::dpo::dpo_trainer_params(),
      [](const trl::Args& args) { return std::make_unique<trl::dpo::DpoTrainer>(args); },
      "Direct Preference Optimization on {prompt, chosen, rejected} data, TRL DPOTrainer semantics");
}
