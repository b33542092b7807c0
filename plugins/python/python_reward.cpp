// The `python` reward (see python_reward.h).
#include "python_reward.h"

#include "python_values.h"
#include "trl/sdk/error.h"

namespace trl::python {

namespace py = pybind11;

namespace {

// TRL's trainer_state is transformers' TrainerState; reward functions read attributes of it.
py::object trainer_state(const RewardInput& input) {
  const py::object namespace_type = py::module_::import("types").attr("SimpleNamespace");
  return namespace_type(py::arg("global_step") = input.global_step, py::arg("max_steps") = input.max_steps,
                        py::arg("epoch") = input.epoch);
}

py::list completions_of(const RewardInput& input) {
  py::list out(input.completions.size());
  for (size_t i = 0; i < input.completions.size(); ++i)
    out[i] = completion_value(input.completions[i], input.conversational);
  return out;
}

py::list prompts_of(const RewardInput& input) {
  const bool raw = input.prompt_values.size() == input.prompts.size();
  py::list out(input.prompts.size());
  for (size_t i = 0; i < input.prompts.size(); ++i)
    out[i] = raw ? to_python(input.prompt_values[i]) : py::str(input.prompts[i]);
  return out;
}

py::list ids_of(const RewardInput& input) {
  py::list out(input.completion_ids.size());
  for (size_t i = 0; i < input.completion_ids.size(); ++i) {
    const std::vector<int64_t>& ids = input.completion_ids[i];
    py::list row(ids.size());
    for (size_t t = 0; t < ids.size(); ++t) row[t] = py::int_(ids[t]);
    out[i] = row;
  }
  return out;
}

}  // namespace

PythonReward::PythonReward(const CallableSpec& spec) : callable_(std::make_unique<PythonCallable>(spec)) {}

PythonReward::~PythonReward() = default;

std::string PythonReward::metric_name() const { return callable_->name(); }

std::vector<std::optional<double>> PythonReward::score(const RewardInput& input) {
  const size_t N = input.completions.size();
  const py::gil_scoped_acquire gil;
  try {
    py::dict kwargs;
    // Every other column as a list aligned with the rows; TRL takes the keys of the first row.
    if (!input.columns.empty() && input.columns.front().is_object()) {
      for (auto it = input.columns.front().begin(); it != input.columns.front().end(); ++it) {
        const std::string& key = it.key();
        if (key == "prompt" || key == "completion" || key == "completion_ids") continue;
        py::list column(N);
        for (size_t i = 0; i < N; ++i) {
          const nlohmann::json& row = i < input.columns.size() ? input.columns[i] : nlohmann::json();
          column[i] = row.is_object() && row.contains(key) ? to_python(row.at(key)) : py::none();
        }
        kwargs[py::str(key)] = column;
      }
    }
    kwargs["prompts"] = prompts_of(input);
    kwargs["completions"] = completions_of(input);
    kwargs["completion_ids"] = ids_of(input);
    kwargs["trainer_state"] = trainer_state(input);
    py::object result = callable_->object()(**kwargs);
    // TRL awaits an async reward function (an LLM judge, say); one coroutine per call runs to completion here.
    if (py::module_::import("inspect").attr("iscoroutine")(result).cast<bool>())
      result = py::module_::import("asyncio").attr("run")(result);
    return read_rewards(result, N, callable_->label());
  } catch (const py::error_already_set& e) {
    throw Error(callable_->label() + " raised " + describe(e));
  }
}

ParamTable python_reward_params() { return callable_params(ComponentKind::reward); }

}  // namespace trl::python
