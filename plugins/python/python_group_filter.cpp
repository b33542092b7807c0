// The `python` group filter (see python_group_filter.h).
#include "python_group_filter.h"

#include "python_values.h"
#include "trl/sdk/error.h"

namespace trl::python {

namespace py = pybind11;

PythonGroupFilter::PythonGroupFilter(const CallableSpec& spec) : callable_(std::make_unique<PythonCallable>(spec)) {}

PythonGroupFilter::~PythonGroupFilter() = default;

std::vector<std::vector<double>> PythonGroupFilter::call(const std::vector<CompletionGroup>& groups) {
  const size_t G = groups.empty() ? 0 : groups.front().completions.size();
  const py::gil_scoped_acquire gil;
  try {
    py::list group_completions(groups.size());
    py::list group_rewards(groups.size());
    for (size_t k = 0; k < groups.size(); ++k) {
      const CompletionGroup& group = groups[k];
      py::list completions(group.completions.size());
      for (size_t j = 0; j < group.completions.size(); ++j)
        completions[j] = completion_value(group.completions[j], group.conversational);
      py::list rewards(group.rewards.size());
      for (size_t j = 0; j < group.rewards.size(); ++j) rewards[j] = py::float_(group.rewards[j]);
      group_completions[k] = completions;
      group_rewards[k] = rewards;
    }
    const py::object result =
        callable_->object()(py::arg("group_completions") = group_completions, py::arg("group_rewards") = group_rewards);
    return read_group_scores(result, groups.size(), G, callable_->label());
  } catch (const py::error_already_set& e) {
    throw Error(callable_->label() + " raised " + describe(e));
  }
}

GroupScores PythonGroupFilter::score_groups(const std::vector<CompletionGroup>& groups, int64_t num_remains_in_group) {
  GroupScores out;
  out.scores = call(groups);
  out.keep_counts.assign(groups.size(), num_remains_in_group);
  return out;
}

std::vector<double> PythonGroupFilter::score(const CompletionGroup& group) { return call({group}).front(); }

ParamTable python_group_filter_params() { return callable_params(ComponentKind::group_filter); }

}  // namespace trl::python
