// python_reward.h: the `python` reward: calls a user's Python reward function exactly as TRL's GRPOTrainer
// does (trl/trainer/grpo_trainer.py, _calculate_rewards; spec §3.2):
//
//   reward_func(prompts=..., completions=..., completion_ids=..., **columns, trainer_state=...)
//
// - prompts: the dataset's prompts as written: strings, or message lists for conversational data;
// - completions: decoded strings, or for conversational data [{"role": "assistant", "content": text}] each;
// - completion_ids: lists of token ids (EOS included if generated);
// - every other dataset column (the keys of the batch's first row, as TRL) as a list aligned with the rows;
// - trainer_state: an object with global_step, max_steps and epoch (TRL passes transformers' TrainerState).
// It returns one float or None per completion; None is TRL's "not applicable" (NaN in the rewards matrix).
// An async function's coroutine is run to completion (asyncio.run), as TRL awaits it.
// TRL's log_extra and log_metric hooks are not passed (docs/python.md).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "python_callable.h"
#include "python_params.h"
#include "trl/sdk/plugin.h"

namespace trl::python {

/// A reward function written in Python (hidden like PythonCallable, whose pybind11 member it owns).
class __attribute__((visibility("hidden"))) PythonReward final : public RewardFunction {
 public:
  /// Loads the callable (PythonCallable: ConfigError for anything wrong with the configuration).
  explicit PythonReward(const CallableSpec& spec);
  ~PythonReward() override;

  /// One call into Python for the whole batch. A Python exception, a result that is not a sequence of
  /// numbers or None, or one of another length throws trl::Error naming the function.
  std::vector<std::optional<double>> score(const RewardInput& input) override;
  /// The function's __name__, so its metrics are rewards/<__name__>/mean as in TRL.
  std::string metric_name() const override;

 private:
  std::unique_ptr<PythonCallable> callable_;
};

/// The reward's parameters (callable_params).
ParamTable python_reward_params();

}  // namespace trl::python
