// The experimental `python` plugin's entry point: a reward and a group filter whose code is Python
// (docs/python.md). The logic lives in trl_python_core (plugins/README.md). Registering starts no Python:
// the interpreter starts when a run config first builds one of the components.
#include <memory>

#include "python_group_filter.h"
#include "python_params.h"
#include "python_reward.h"
#include "trl/sdk/plugin.h"

TRL_PLUGIN("python", "Apache-2.0", "Reward functions and GFPO group filters written in Python (embedded CPython)",
           TRL_REWARD("python"), TRL_GROUP_FILTER("python"));

void trl_plugin_register(trl::Registry& registry) {
  using namespace trl::python;
  registry.add_reward(
      "python", python_reward_params(),
      [](const trl::Args& args) {
        return std::make_unique<PythonReward>(parse_callable_spec(args, trl::ComponentKind::reward));
      },
      "a Python reward function, called as TRL calls it (prompts, completions, completion_ids, columns, "
      "trainer_state)");
  registry.add_group_filter(
      "python", python_group_filter_params(),
      [](const trl::Args& args) {
        return std::make_unique<PythonGroupFilter>(parse_callable_spec(args, trl::ComponentKind::group_filter));
      },
      "a Python GFPO group_filter_func(group_completions, group_rewards), called once per batch");
}
