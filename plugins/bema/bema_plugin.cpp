// The `bema` plugin: declares and registers the experimental `bema` callback (TRL's BEMACallback for the
// reference model, spec/trl-reference.md §2). Everything else lives in trl_bema_core.
#include <memory>

#include "bema_callback.h"
#include "bema_params.h"
#include "trl/sdk/plugin.h"

TRL_PLUGIN("bema", "Apache-2.0", "Bias-Corrected EMA (BEMA) of the weights; can refresh the DPO reference model",
           TRL_CALLBACK("bema"));

void trl_plugin_register(trl::Registry& registry) {
  registry.add_callback(
      "bema", trl::bema::bema_param_table(),
      [](const trl::Args& args) {
        return std::make_unique<trl::bema::BemaCallback>(trl::bema::BemaCallbackParams::from_args(args),
                                                         args.where());
      },
      "Bias-Corrected EMA of the policy's weights, saved to {output_dir}/bema; can refresh the reference model");
}
