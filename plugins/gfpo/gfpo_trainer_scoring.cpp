// The gfpo trainer's scoring step: rewards, group filtering, advantages (see gfpo_trainer_scoring.h).
#include "gfpo_trainer_scoring.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>

#include "gfpo_selection.h"
#include "trl/sdk/error.h"
#include "trl/sdk/log.h"

namespace trl::gfpo {

namespace {

std::vector<std::pair<std::string, double>> without_nan(std::vector<std::pair<std::string, double>> metrics) {
  std::vector<std::pair<std::string, double>> out;
  for (auto& m : metrics)
    if (!std::isnan(m.second)) out.push_back(std::move(m));
  return out;
}

// A short excerpt for a warning: long completions would flood the log.
std::string excerpt(const std::string& text, size_t limit = 200) {
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

}  // namespace

RewardSet make_reward_set(ComponentProvider& components, const RunConfig& run) {
  if (!run.reward_funcs.is_array() || run.reward_funcs.empty())
    throw ConfigError(run.path, "reward_funcs",
                      "the gfpo trainer needs at least one reward function, e.g. \"reward_funcs\": "
                      "[{\"name\": \"accuracy\", \"args\": {\"column\": \"answer\"}}]");
  RewardSet set;
  std::map<std::string, int> seen;
  for (size_t i = 0; i < run.reward_funcs.size(); ++i) {
    const nlohmann::json& spec = run.reward_funcs[i];
    const std::string where = run.path + ": reward_funcs[" + std::to_string(i) + "]";
    set.functions.push_back(components.make_reward(spec, where));
    // TRL names a function's metrics after its __name__; a component may say its own (the python reward does).
    std::string name = set.functions.back()->metric_name();
    if (name.empty()) name = spec.is_string() ? spec.get<std::string>() : spec.value("name", std::string("reward"));
    const int count = ++seen[name];
    if (count > 1) name += "_" + std::to_string(count);
    set.names.push_back(name);
  }
  return set;
}

at::Tensor score_rewards(RewardSet& rewards, const RewardInput& input) {
  const size_t N = input.completions.size();
  std::vector<std::vector<std::optional<double>>> per_function;
  per_function.reserve(rewards.functions.size());
  for (size_t f = 0; f < rewards.functions.size(); ++f) {
    std::vector<std::optional<double>> scores = rewards.functions[f]->score(input);
    if (scores.size() != N)
      throw PluginError("reward '" + rewards.names[f] + "' returned " + std::to_string(scores.size()) +
                        " scores for " + std::to_string(N) + " completions; expected one per completion");
    per_function.push_back(std::move(scores));
  }
  const at::Tensor matrix = rewards_matrix(per_function);  // (N, F)
  const at::Tensor unscored = at::isnan(matrix).all(1);     // (N,) bool
  const int64_t count = unscored.sum().item<int64_t>();
  if (count > 0) {
    const int64_t row = unscored.nonzero().flatten()[0].item<int64_t>();
    const nlohmann::json kwargs = {{"prompt", excerpt(input.prompts[static_cast<size_t>(row)])},
                                   {"completion", excerpt(input.completions[static_cast<size_t>(row)])},
                                   {"columns", input.columns.empty() ? nlohmann::json::object()
                                                                     : input.columns[static_cast<size_t>(row)]}};
    log::warn("All reward functions returned None for the following kwargs: " + kwargs.dump() +
              " Please ensure that at least one reward function returns a valid reward (" + std::to_string(count) +
              " of " + std::to_string(N) + " completions unscored)");
  }
  return matrix;
}

ScoredRows score_unfiltered(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                            const std::vector<std::string>& names, int64_t num_generations, ScaleRewards scale_rewards,
                            MultiObjectiveAggregation aggregation) {
  const int64_t N = rewards_per_func.size(0);
  ScoredRows out;
  out.kept_rows.resize(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) out.kept_rows[static_cast<size_t>(i)] = i;
  out.group_sizes.assign(static_cast<size_t>(N / num_generations), num_generations);
  out.advantages = grpo_advantages(rewards_per_func, weights, num_generations, scale_rewards, aggregation);
  out.metrics = without_nan(
      reward_metrics(rewards_per_func, weights, names, out.advantages.is_std_zero, /*plain=*/false));
  return out;
}

ScoredRows score_filtered(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                          const std::vector<std::string>& names, int64_t num_generations, ScaleRewards scale_rewards,
                          GroupFilter& filter, int64_t num_remains_in_group, const RewardInput& input) {
  // Filters see the NaN-ignoring weighted sum (None = 0, spec §4.3) and the real token lengths (a masked
  // truncated completion is still as long as it was sampled).
  const std::vector<CompletionGroup> groups =
      make_groups(input, weighted_reward_sum(rewards_per_func, weights), num_generations);
  const GroupSelection selection = run_group_filter(filter, groups, num_remains_in_group);

  ScoredRows out;
  out.filtered = true;
  out.kept_rows = selection.kept_rows;
  out.group_sizes = selection.group_sizes;
  const at::Tensor kept = at::tensor(out.kept_rows, at::kLong);
  const at::Tensor kept_rewards = rewards_per_func.index_select(0, kept);  // (K, F)
  out.advantages = gfpo_advantages(kept_rewards, weights, out.group_sizes, scale_rewards);
  out.metrics =
      without_nan(reward_metrics(kept_rewards, weights, names, out.advantages.is_std_zero, /*plain=*/true));
  return out;
}

}  // namespace trl::gfpo
