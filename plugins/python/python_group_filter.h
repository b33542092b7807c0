// python_group_filter.h: the `python` group filter: calls a user's GFPO group_filter_func exactly as TRL's
// GFPOTrainer does (trl/experimental/gfpo, spec §4.3), once per generation batch with every group:
//
//   group_filter_func(group_completions=..., group_rewards=...)
//
// - group_completions: one list per group of its G completions: strings, or for conversational data
//   [{"role": "assistant", "content": text}] each (TRL's completions);
// - group_rewards: one list per group of its G weighted reward sums (None counted as 0, spec §4.3).
// It returns one list of G scores per group; the trainer keeps the num_remains_in_group highest of each.
// Groups are the true groups [k·G, (k+1)·G), not TRL's shifted windows (spec §4.3, docs/gfpo.md).
#pragma once

#include <memory>
#include <vector>

#include "python_callable.h"
#include "python_params.h"
#include "trl/sdk/plugin.h"

namespace trl::python {

/// A GFPO group filter written in Python (hidden like PythonCallable, whose pybind11 member it owns).
class __attribute__((visibility("hidden"))) PythonGroupFilter final : public GroupFilter {
 public:
  /// Loads the callable (PythonCallable: ConfigError for anything wrong with the configuration).
  explicit PythonGroupFilter(const CallableSpec& spec);
  ~PythonGroupFilter() override;

  /// One call into Python with every group; every group keeps num_remains_in_group. A Python exception or
  /// a result that is not one list of G numbers per group throws trl::Error naming the function.
  GroupScores score_groups(const std::vector<CompletionGroup>& groups, int64_t num_remains_in_group) override;
  /// The same call with one group.
  std::vector<double> score(const CompletionGroup& group) override;

 private:
  std::vector<std::vector<double>> call(const std::vector<CompletionGroup>& groups);
  std::unique_ptr<PythonCallable> callable_;
};

/// The filter's parameters (callable_params).
ParamTable python_group_filter_params();

}  // namespace trl::python
