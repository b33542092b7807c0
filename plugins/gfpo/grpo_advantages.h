// grpo_advantages.h: rewards -> advantages, and the reward metrics (spec §3.3, §3.5 "From scoring", §4.4,
// §4.5, §6.B B2-B4, B9).
//
// Letters: N rows (completions of the global generation batch, the G completions of one prompt adjacent),
// F reward functions, G completions per prompt, K kept rows after GFPO filtering.
//
// Everything here is float64 on the rewards' device. TRL works in float32 (rewards_per_func and
// reward_weights are fp32), where the nanmean of a constant non-dyadic group is one ulp off: a group of
// seven 0.7 rewards gets advantages of about +-6e-4 instead of 0 and is not counted by frac_reward_zero_std
// (spec §6.B B2). Here means are taken in float64 as shift + mean(x - shift), the shift being one of the
// values (the median): the same number up to rounding, but a constant group's mean is then exactly its
// value, so its advantages and std are exactly 0, which is what the formula means. Every other value
// agrees with TRL to float32 precision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "gfpo_params.h"

namespace trl::gfpo {

/// The std added to every divisor (spec §3.3): A / (std + 1e-4).
inline constexpr double kAdvantageStdEpsilon = 1e-4;

/// Rewards and advantages of one generation batch.
struct Advantages {
  at::Tensor rewards;      ///< (N,) or (K,) float64 weighted reward sum; NaN for unscorable rows (GRPO HEAD)
  at::Tensor advantages;   ///< (N,) or (K,) float64, one per row
  at::Tensor std_rewards;  ///< (N,) or (K,) float64 std of each row's group (or the batch), used for scaling
                           ///< and logging even when scale_rewards is none
  at::Tensor is_std_zero;  ///< (N,) or (K,) bool: std_rewards is close to 0 (torch.isclose, atol 1e-8)
};

/// The reward functions' outputs as an (N, F) float64 CPU tensor; nullopt (TRL's None) becomes NaN.
/// `per_function[f][i]` is function f's score of row i; every function must score the same N rows.
at::Tensor rewards_matrix(const std::vector<std::vector<std::optional<double>>>& per_function);

/// sum_f w_f * r_if ignoring NaN (torch.nansum): (N,) float64. A row every function left NaN sums to 0
/// here; GRPO HEAD then sets it back to NaN (grpo_advantages), GFPO keeps the 0 (spec §6.B B9).
at::Tensor weighted_reward_sum(const at::Tensor& rewards_per_func, const std::vector<double>& weights);

/// Mean ignoring NaN (torch.nanmean) computed as shift + nanmean(x - shift), shift = the NaN-ignoring
/// median: exact for constant slices. NaN where every value is NaN. `dim` = nullopt reduces everything to
/// a 0-dim tensor.
at::Tensor nanmean_shifted(const at::Tensor& values, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);

/// Standard deviation ignoring NaN with Bessel's correction, as TRL's utils.nanstd (around
/// nanmean_shifted): NaN where fewer than two values are present. `dim` = nullopt reduces everything to a
/// 0-dim tensor.
at::Tensor nanstd(const at::Tensor& values, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);

/// GRPO HEAD advantages (grpo_trainer _generate_and_score_completions, spec §3.3, §6.B B3, B4):
/// sum_then_normalize: r = weighted NaN-ignoring sum, unscorable rows (all functions NaN) back to NaN;
///   A = r - group nanmean (always the group mean, also for "batch", B3); group: / (group nanstd + 1e-4),
///   batch: / (nanstd of all rows + 1e-4), none: no division (the group std is still reported).
///   G == 1 (eval only) gives std 0.
/// normalize_then_sum: each function is normalised within its group by (x - nanmean) / (nanstd + 1e-4),
///   weighted and NaN-summed, unscorable rows set to NaN, then normalised over the batch the same way;
///   scale_rewards is not consulted.
/// Finally NaN advantages become 0 (torch.nan_to_num: also +-inf to the largest finite float64).
/// rewards_per_func: (N, F) float, N a multiple of G; weights: F values.
Advantages grpo_advantages(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                           int64_t num_generations, ScaleRewards scale_rewards,
                           MultiObjectiveAggregation aggregation = MultiObjectiveAggregation::sum_then_normalize);

/// GFPO advantages on the kept rows (gfpo_trainer, spec §4.4, §6.B B9): r = weighted NaN-ignoring sum
/// (None rewards count as 0, no row is excluded); each group's block of kept rows (consecutive, sizes
/// `group_sizes`, summing to K) gets A = r - plain mean; std = the unbiased torch std of the block (group,
/// none) or of all kept rows (batch); A /= (std + 1e-4) unless none. NaN advantages are not zeroed (TRL);
/// with every block of >= 2 rows (the selection clamps counts to [2, G]) none arise from the std.
/// Without filtering (eval, or no num_remains_in_group) pass G for every group: that is GFPO's plain path.
/// rewards_per_func: (K, F) float; weights: F values.
Advantages gfpo_advantages(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                           const std::vector<int64_t>& group_sizes, ScaleRewards scale_rewards);

/// The scoring metrics with TRL names, in this order: rewards/{name}/mean and rewards/{name}/std for each
/// function (NaN-ignoring; NaN if the function scored no row), reward, reward_std, frac_reward_zero_std
/// (spec §3.5, §4.5). GRPO HEAD (`plain` false): reward and reward_std are the nanmean / nanstd of the
/// weighted sum with unscorable rows excluded. GFPO (`plain` true): the plain mean / unbiased std of the
/// NaN-ignoring weighted sum. rewards_per_func (R, F) are the rows the advantages were computed on (the
/// kept rows for GFPO), `names` F names, is_std_zero from the same Advantages.
std::vector<std::pair<std::string, double>> reward_metrics(const at::Tensor& rewards_per_func,
                                                           const std::vector<double>& weights,
                                                           const std::vector<std::string>& names,
                                                           const at::Tensor& is_std_zero, bool plain);

}  // namespace trl::gfpo
