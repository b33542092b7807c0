// Rewards -> advantages for GRPO (HEAD) and GFPO (kept rows), and the scoring metrics (spec §3.3, §4.4).
// N rows, F reward functions, G completions per prompt, K kept rows. Float64 throughout (header: why).
#include "grpo_advantages.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "trl/sdk/error.h"

namespace trl::gfpo {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

at::Tensor weights_tensor(const std::vector<double>& weights, const at::Tensor& like) {
  return at::tensor(weights, like.options().dtype(at::kDouble));  // (F,)
}

void check_rewards(const at::Tensor& rewards_per_func, const std::vector<double>& weights) {
  TRL_INTERNAL_ASSERT(rewards_per_func.defined() && rewards_per_func.dim() == 2,
                      "rewards_per_func must be (rows, functions)");
  TRL_INTERNAL_ASSERT(rewards_per_func.is_floating_point(), "rewards_per_func must be floating point");
  TRL_INTERNAL_ASSERT(rewards_per_func.size(1) >= 1, "at least one reward function is needed");
  TRL_INTERNAL_ASSERT(static_cast<int64_t>(weights.size()) == rewards_per_func.size(1),
                      "one weight per reward function: " + std::to_string(weights.size()) + " weights for " +
                          std::to_string(rewards_per_func.size(1)) + " functions");
}

// Rows every reward function left unscored (TRL's unscorable_mask): (N,) bool.
at::Tensor unscorable_rows(const at::Tensor& rewards_per_func) { return at::isnan(rewards_per_func).all(1); }

// torch.isclose(std, 0): |std| <= 1e-8 (rtol * 0 vanishes); NaN is never close.
at::Tensor close_to_zero(const at::Tensor& std_rewards) {
  return at::isclose(std_rewards, at::zeros_like(std_rewards));
}

// Plain mean and unbiased std (torch's Tensor.mean / Tensor.std) of a 1-D tensor, with the shifted mean
// of nanmean_shifted: a constant block gives exactly its value and std 0. One value gives std NaN, as torch.
at::Tensor plain_mean(const at::Tensor& x) { return x[0] + (x - x[0]).mean(); }
at::Tensor plain_std(const at::Tensor& x) {
  return ((x - plain_mean(x)).pow(2).sum() / static_cast<double>(x.numel() - 1)).sqrt();
}

}  // namespace

at::Tensor rewards_matrix(const std::vector<std::vector<std::optional<double>>>& per_function) {
  TRL_INTERNAL_ASSERT(!per_function.empty(), "at least one reward function is needed");
  const size_t rows = per_function.front().size();
  std::vector<double> flat(rows * per_function.size());
  for (size_t f = 0; f < per_function.size(); ++f) {
    TRL_INTERNAL_ASSERT(per_function[f].size() == rows, "reward function " + std::to_string(f) + " scored " +
                                                            std::to_string(per_function[f].size()) +
                                                            " rows, the first one " + std::to_string(rows));
    for (size_t i = 0; i < rows; ++i) flat[i * per_function.size() + f] = per_function[f][i].value_or(kNaN);
  }
  return at::tensor(flat, at::kDouble).view({static_cast<int64_t>(rows), static_cast<int64_t>(per_function.size())});
}

at::Tensor weighted_reward_sum(const at::Tensor& rewards_per_func, const std::vector<double>& weights) {
  check_rewards(rewards_per_func, weights);
  const at::Tensor rpf = rewards_per_func.to(at::kDouble);                        // (N, F)
  return (rpf * weights_tensor(weights, rpf).unsqueeze(0)).nansum(/*dim=*/1);    // (N,)
}

at::Tensor nanmean_shifted(const at::Tensor& values, std::optional<int64_t> dim, bool keepdim) {
  TRL_INTERNAL_ASSERT(dim || !keepdim, "a mean over all dimensions returns a 0-dim tensor");
  const at::Tensor x = dim ? values : values.reshape({-1});
  const int64_t d = dim.value_or(0);
  // The shift is one of the values (the median), so a constant slice has mean exactly that value.
  const at::Tensor shift = std::get<0>(x.nanmedian(d, /*keepdim=*/true));
  at::Tensor mean = shift + at::nanmean(x - shift, {d}, /*keepdim=*/true);
  if (!dim) return mean.reshape({});
  return keepdim ? mean : mean.squeeze(d);
}

at::Tensor nanstd(const at::Tensor& values, std::optional<int64_t> dim, bool keepdim) {
  // utils.nanstd: variance = nanmean((x - nanmean(x))^2) * count / (count - 1), NaN for count < 2.
  // The correction is computed in float64 here; TRL's count / (count - 1) is a float32 tensor.
  TRL_INTERNAL_ASSERT(dim || !keepdim, "nanstd over all dimensions returns a 0-dim tensor");
  const at::Tensor x = dim ? values : values.reshape({-1});
  const int64_t d = dim.value_or(0);
  const at::Tensor mean = nanmean_shifted(x, d, /*keepdim=*/true);
  at::Tensor variance = at::nanmean((x - mean).pow(2), {d}, /*keepdim=*/true);
  const at::Tensor count = (~at::isnan(x)).sum({d}, /*keepdim=*/true).to(variance.scalar_type());
  const at::Tensor correction = at::where(count > 1, count / (count - 1), at::full_like(count, kNaN));
  at::Tensor std = (variance * correction).sqrt();
  if (!dim) return std.reshape({});
  return keepdim ? std : std.squeeze(d);
}

Advantages grpo_advantages(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                           int64_t num_generations, ScaleRewards scale_rewards,
                           MultiObjectiveAggregation aggregation) {
  check_rewards(rewards_per_func, weights);
  const int64_t G = num_generations;
  const int64_t N = rewards_per_func.size(0);
  const int64_t F = rewards_per_func.size(1);
  TRL_INTERNAL_ASSERT(G >= 1 && N % G == 0, "rows (" + std::to_string(N) + ") must be a multiple of G (" +
                                                std::to_string(G) + ")");
  const at::Tensor rpf = rewards_per_func.to(at::kDouble);  // (N, F)
  const at::Tensor w = weights_tensor(weights, rpf);         // (F,)
  // A completion every function left unscored must not pull its group's baseline to 0 (grpo HEAD).
  const at::Tensor unscorable = unscorable_rows(rpf);        // (N,) bool

  Advantages out;
  if (aggregation == MultiObjectiveAggregation::sum_then_normalize) {
    out.rewards = (rpf * w.unsqueeze(0)).nansum(1).masked_fill(unscorable, kNaN);  // (N,)
    const at::Tensor grouped = out.rewards.view({-1, G});                          // (N/G, G)
    const at::Tensor group_mean = nanmean_shifted(grouped, 1).repeat_interleave(G);  // (N,)
    if (scale_rewards == ScaleRewards::batch) {
      // Only the std is global; centring stays per group (spec §6.B B3).
      out.std_rewards = N > 1 ? nanstd(out.rewards).expand_as(out.rewards) : at::zeros_like(out.rewards);
    } else {
      // "none" still computes the group std, for frac_reward_zero_std.
      out.std_rewards = G > 1 ? nanstd(grouped, 1).repeat_interleave(G) : at::zeros_like(out.rewards);
    }
    out.advantages = out.rewards - group_mean;
    if (scale_rewards != ScaleRewards::none) out.advantages = out.advantages / (out.std_rewards + kAdvantageStdEpsilon);
  } else {
    const at::Tensor grouped = rpf.view({-1, G, F});                                         // (N/G, G, F)
    const at::Tensor mean_k = nanmean_shifted(grouped, 1, /*keepdim=*/true);                 // (N/G, 1, F)
    const at::Tensor std_k = G > 1 ? nanstd(grouped, 1, /*keepdim=*/true) : at::zeros_like(mean_k);
    const at::Tensor reward_k = ((grouped - mean_k) / (std_k + kAdvantageStdEpsilon)).view({-1, F});  // (N, F)
    out.rewards = (reward_k * w.unsqueeze(0)).nansum(1).masked_fill(unscorable, kNaN);     // (N,)
    out.std_rewards = N > 1 ? nanstd(out.rewards).expand_as(out.rewards) : at::zeros_like(out.rewards);
    out.advantages = (out.rewards - nanmean_shifted(out.rewards)) / (out.std_rewards + kAdvantageStdEpsilon);
  }
  out.is_std_zero = close_to_zero(out.std_rewards);
  // Unscorable rows (NaN reward) and lone scorable rows (NaN std) carry no signal (spec §6.B B4).
  out.advantages = at::nan_to_num(out.advantages, /*nan=*/0.0);
  out.std_rewards = out.std_rewards.contiguous();
  return out;
}

Advantages gfpo_advantages(const at::Tensor& rewards_per_func, const std::vector<double>& weights,
                           const std::vector<int64_t>& group_sizes, ScaleRewards scale_rewards) {
  check_rewards(rewards_per_func, weights);
  const int64_t K = rewards_per_func.size(0);
  const int64_t total = std::accumulate(group_sizes.begin(), group_sizes.end(), int64_t{0});
  TRL_INTERNAL_ASSERT(total == K, "group sizes sum to " + std::to_string(total) + ", rows are " + std::to_string(K));

  Advantages out;
  // None rewards count as 0 and every row stays in its group (spec §6.B B9).
  out.rewards = weighted_reward_sum(rewards_per_func, weights);  // (K,)
  std::vector<at::Tensor> means, stds;
  int64_t offset = 0;
  for (int64_t size : group_sizes) {
    TRL_INTERNAL_ASSERT(size >= 1, "a kept group must hold at least one row");
    const at::Tensor block = out.rewards.narrow(0, offset, size);  // (size,)
    means.push_back(plain_mean(block).expand({size}));
    stds.push_back(plain_std(block).expand({size}));  // unbiased, as torch's Tensor.std
    offset += size;
  }
  const at::Tensor group_mean = at::cat(means);  // (K,)
  out.std_rewards = scale_rewards == ScaleRewards::batch ? plain_std(out.rewards).expand_as(out.rewards).contiguous()
                                                         : at::cat(stds);
  out.advantages = out.rewards - group_mean;
  if (scale_rewards != ScaleRewards::none) out.advantages = out.advantages / (out.std_rewards + kAdvantageStdEpsilon);
  out.is_std_zero = close_to_zero(out.std_rewards);
  return out;
}

std::vector<std::pair<std::string, double>> reward_metrics(const at::Tensor& rewards_per_func,
                                                           const std::vector<double>& weights,
                                                           const std::vector<std::string>& names,
                                                           const at::Tensor& is_std_zero, bool plain) {
  check_rewards(rewards_per_func, weights);
  TRL_INTERNAL_ASSERT(static_cast<int64_t>(names.size()) == rewards_per_func.size(1), "one name per reward function");
  const at::Tensor rpf = rewards_per_func.to(at::kDouble);  // (N, F)
  std::vector<std::pair<std::string, double>> out;
  for (size_t f = 0; f < names.size(); ++f) {
    const at::Tensor column = rpf.select(1, static_cast<int64_t>(f));  // (N,)
    out.emplace_back("rewards/" + names[f] + "/mean", nanmean_shifted(column).item<double>());
    out.emplace_back("rewards/" + names[f] + "/std", nanstd(column).item<double>());
  }
  at::Tensor rewards = weighted_reward_sum(rpf, weights);  // (N,)
  if (plain) {
    out.emplace_back("reward", plain_mean(rewards).item<double>());
    out.emplace_back("reward_std", plain_std(rewards).item<double>());
  } else {
    rewards = rewards.masked_fill(unscorable_rows(rpf), kNaN);  // exclude unscorable rows from the stats
    out.emplace_back("reward", nanmean_shifted(rewards).item<double>());
    out.emplace_back("reward_std", nanstd(rewards).item<double>());
  }
  out.emplace_back("frac_reward_zero_std", is_std_zero.to(at::kDouble).mean().item<double>());
  return out;
}

}  // namespace trl::gfpo
