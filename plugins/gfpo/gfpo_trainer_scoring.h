// gfpo_trainer_scoring.h: the gfpo trainer's scoring step: the run's reward functions, the rewards matrix
// of a rollout, GFPO's group filtering and the advantages with their metrics (spec §3.2, §3.3, §4.2-§4.5).
//
// Letters: N rows of a generation batch, F reward functions, G completions per prompt, K kept rows.
//
// Which advantages. With a group filter active (training, num_remains_in_group set) the kept rows get the
// GFPO base's advantages (gfpo_advantages: plain mean and unbiased std per kept group, None counted as 0,
// spec §4.4, §6.B B9). Everywhere else (no filter, or evaluation) the trainer is plain GRPO, and plain
// GRPO means TRL HEAD's (grpo_advantages, spec §3.3), not the GFPO base's unfiltered path: HEAD keeps a
// row that every reward left unscored out of its group's baseline instead of scoring it 0, zeroes NaN
// advantages, and honours multi_objective_aggregation, which the trainer declares. The GFPO base's
// unfiltered branch is the GRPO of its day; the plugin is "GRPO plus filtering", so without filtering it
// follows today's GRPO.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "grpo_advantages.h"
#include "trl/sdk/plugin.h"
#include "trl/sdk/train/context.h"

namespace trl::gfpo {

/// The reward functions a run config names, in order, with the names their metrics carry.
struct RewardSet {
  std::vector<std::string> names;                             ///< F metric names (unique)
  std::vector<std::unique_ptr<RewardFunction>> functions;     ///< F components
};

/// Builds every entry of run.reward_funcs through the host (ComponentProvider::make_reward). At least one
/// is required (ConfigError naming reward_funcs). A function's name is its metric_name() when it gives one
/// (TRL: __name__), else its spec's "name";
/// a name used twice gets "_2", "_3", ... so that its rewards/<name>/* metrics stay apart.
RewardSet make_reward_set(ComponentProvider& components, const RunConfig& run);

/// Scores `input` with every function: (N, F) float64 on the CPU, None as NaN (spec §3.2). A function that
/// returns a number of scores other than N is a PluginError naming it. Logs TRL's warning "All reward
/// functions returned None for the following kwargs: ..." (with the first such row) when some row got no
/// score from any function.
at::Tensor score_rewards(RewardSet& rewards, const RewardInput& input);

/// The rows one generation batch trains on, with their advantages.
struct ScoredRows {
  std::vector<int64_t> kept_rows;    ///< K row indices into the batch: all N in order, or GFPO's kept order
  std::vector<int64_t> group_sizes;  ///< rows per group among kept_rows (G each when unfiltered)
  Advantages advantages;             ///< over kept_rows, in that order: (K,) float64 each
  bool filtered = false;             ///< whether a group filter chose the rows
  /// The scoring metrics (TRL names, spec §3.5 "From scoring"), computed on the kept rows; NaN values
  /// (a function that scored no row) are already dropped, as TRL's log() drops them.
  std::vector<std::pair<std::string, double>> metrics;
};

/// Plain GRPO (TRL HEAD, see the header comment): every row kept, grpo_advantages over groups of
/// `num_generations`, reward_metrics with unscorable rows excluded.
ScoredRows score_unfiltered(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                            const std::vector<std::string>& names, int64_t num_generations, ScaleRewards scale_rewards,
                            MultiObjectiveAggregation aggregation);

/// GFPO (spec §4.3, §4.4): the true groups [k·G, (k+1)·G) of `input` with their NaN-ignoring weighted
/// rewards and token lengths go to `filter` (run_group_filter: num_to_keep then score, each group once, in
/// order); the top keep-count rows of each group are kept; gfpo_advantages and the plain reward metrics are
/// computed over the kept rows only.
ScoredRows score_filtered(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                          const std::vector<std::string>& names, int64_t num_generations, ScaleRewards scale_rewards,
                          GroupFilter& filter, int64_t num_remains_in_group, const RewardInput& input);

}  // namespace trl::gfpo
