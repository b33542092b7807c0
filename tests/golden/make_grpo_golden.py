#!/usr/bin/python3
"""Golden values for the gfpo plugin's GRPO/GFPO math (tests/unit/grpo_*_test.cpp, gfpo_*_test.cpp).

Reference: TRL's own code, copied line by line below from huggingface/trl
  - HEAD f2cd57710: trl/trainer/grpo_trainer.py (_generate_and_score_completions advantage block,
    _compute_loss, get_high_entropy_mask, get_off_policy_mask), trl/trainer/utils.py (nanstd, nanmin,
    nanmax, RepeatSampler);
  - b6ff4a780: trl/experimental/gfpo/gfpo_trainer.py (filtering and kept-row advantages);
  - trl 1.16.0: trl/trainer/grpo_trainer.py _compute_loss for the loss types cispo, sapo, luspo and vespo
    (get_gamma_weights) and the entropy bonus (entropy_coef). cispo, sapo and vespo read the same at the GFPO
    base (trl 1.7.1); luspo's aggregation there is (loss * lengths).mean(), which equals 1.16's
    (loss * mask).sum(-1).mean() only for a (B, 1) loss (sequence level, beta 0, no entropy mask); 1.7.1 has
    no entropy bonus.
check_grpo_golden_against_trl.py runs trl 1.16.0's own _compute_loss on the loss cases written here.
Accelerate is replaced by its single-process behaviour (gather = identity, num_processes = 1 unless a case
says otherwise). Nothing here imports the C++ code under test.

Run with Debian's python3-torch (torch 1.13) and numpy:  /usr/bin/python3 tests/golden/make_grpo_golden.py
It writes tests/golden/grpo_golden.json next to itself.

Dtype: float64 everywhere (TRL runs in float32; float64 removes float32 rounding from the comparison).
One float32 artefact of TRL's code is kept on purpose because the code is copied as is: nanstd's Bessel
correction count / (count - 1) is a float32 tensor, so golden stds carry a relative error up to ~6e-8.
Tolerances in the C++ tests: advantages and reward metrics rtol 2e-7 / atol 1e-9; losses, gradients and
loss metrics rtol 1e-10 / atol 1e-12. Seeds: torch.manual_seed per case, stated in each case's "seed".
"""
import json
import math
import os
import types

import torch

torch.set_default_dtype(torch.float32)  # as TRL: Python floats and int/int divisions give float32 tensors

# --------------------------------------------------------------------------------------------------------
# trl/trainer/utils.py (HEAD)


def nanstd(tensor, dim=None, keepdim=False):
    mean = torch.nanmean(tensor, dim=dim, keepdim=True)
    variance = torch.nanmean((tensor - mean) ** 2, dim=dim, keepdim=True)
    count = torch.sum(~torch.isnan(tensor), dim=dim, keepdim=True)  # count of non-NaN values
    correction = count / (count - 1)
    correction = torch.where(count > 1, correction, torch.full_like(correction, float("nan")))
    variance *= correction  # Bessel's correction
    std = torch.sqrt(variance)
    if keepdim:
        return std
    if dim is None:
        return std.squeeze()
    if isinstance(dim, int):
        return std.squeeze(dim)
    dims = [(d if d >= 0 else d + std.ndim) for d in dim]
    for d in sorted(dims, reverse=True):
        std = std.squeeze(d)
    return std


def nanmin(tensor):
    if torch.isnan(tensor).all():
        return torch.tensor(float("nan"), dtype=tensor.dtype, device=tensor.device)
    return torch.min(tensor[~torch.isnan(tensor)])


def nanmax(tensor):
    if torch.isnan(tensor).all():
        return torch.tensor(float("nan"), dtype=tensor.dtype, device=tensor.device)
    return torch.max(tensor[~torch.isnan(tensor)])


class RepeatSampler:
    def __init__(self, data_source, mini_repeat_count, batch_size=1, repeat_count=1, shuffle=True, seed=None):
        self.data_source = data_source
        self.mini_repeat_count = mini_repeat_count
        self.batch_size = batch_size
        self.repeat_count = repeat_count
        self.num_samples = len(data_source)
        self.shuffle = shuffle
        self.seed = seed
        if shuffle:
            self.generator = torch.Generator()  # Create a local random generator
            if seed is not None:
                self.generator.manual_seed(seed)

    def __iter__(self):
        if self.shuffle:
            indexes = torch.randperm(self.num_samples, generator=self.generator).tolist()
        else:
            indexes = list(range(self.num_samples))
        indexes = [indexes[i : i + self.batch_size] for i in range(0, len(indexes), self.batch_size)]
        indexes = [chunk for chunk in indexes if len(chunk) == self.batch_size]
        for chunk in indexes:
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index


# --------------------------------------------------------------------------------------------------------
# grpo_trainer.py (HEAD) _generate_and_score_completions, the advantage block


def grpo_advantages(rewards_per_func, reward_weights, num_generations, scale_rewards, multi_objective_aggregation):
    device = rewards_per_func.device
    unscorable_mask = torch.isnan(rewards_per_func).all(dim=1)
    if multi_objective_aggregation == "sum_then_normalize":
        rewards = (rewards_per_func * reward_weights.to(device).unsqueeze(0)).nansum(dim=1)
        rewards[unscorable_mask] = torch.nan
        mean_grouped_rewards = torch.nanmean(rewards.view(-1, num_generations), dim=1)
        mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_generations, dim=0)
        if scale_rewards in ["group", "none"]:
            if num_generations > 1:
                std_rewards = nanstd(rewards.view(-1, num_generations), dim=1)
                std_rewards = std_rewards.repeat_interleave(num_generations, dim=0)
            else:
                std_rewards = torch.zeros_like(rewards)
        elif scale_rewards == "batch":
            if rewards.numel() > 1:
                std_rewards = nanstd(rewards).expand_as(rewards)
            else:
                std_rewards = torch.zeros_like(rewards)
        advantages = rewards - mean_grouped_rewards
        if scale_rewards != "none":
            advantages = advantages / (std_rewards + 1e-4)
        is_std_zero = torch.isclose(std_rewards, torch.zeros_like(std_rewards))
    elif multi_objective_aggregation == "normalize_then_sum":
        num_funcs = rewards_per_func.shape[1]
        grouped = rewards_per_func.view(-1, num_generations, num_funcs)
        mean_k = torch.nanmean(grouped, dim=1, keepdim=True)
        std_k = nanstd(grouped, dim=1, keepdim=True) if num_generations > 1 else torch.zeros_like(mean_k)
        reward_k = (grouped - mean_k) / (std_k + 1e-4)
        reward_k = reward_k.view(-1, num_funcs)
        rewards = (reward_k * reward_weights.to(device).unsqueeze(0)).nansum(dim=1)
        rewards[unscorable_mask] = torch.nan
        std_rewards = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
        advantages = (rewards - torch.nanmean(rewards)) / (std_rewards + 1e-4)
        is_std_zero = torch.isclose(std_rewards, torch.zeros_like(std_rewards))
    advantages = torch.nan_to_num(advantages, nan=0.0)

    metrics = {}
    for i in range(rewards_per_func.shape[1]):
        metrics[f"rewards/f{i}/mean"] = torch.nanmean(rewards_per_func[:, i]).item()
        metrics[f"rewards/f{i}/std"] = nanstd(rewards_per_func[:, i]).item()
    logged = (rewards_per_func * reward_weights.to(device).unsqueeze(0)).nansum(dim=1)
    logged[unscorable_mask] = torch.nan
    metrics["reward"] = torch.nanmean(logged).item()
    metrics["reward_std"] = nanstd(logged).item()
    metrics["frac_reward_zero_std"] = is_std_zero.float().mean().item()
    return rewards, advantages, std_rewards, is_std_zero, metrics


# --------------------------------------------------------------------------------------------------------
# gfpo_trainer.py (b6ff4a780) _generate_and_score_completions, filtering and kept-row advantages, with
# one fix: group k's completions are the true group [k*G, (k+1)*G) (TRL passes the window starting at k;
# the scores below are given directly, so this matters only for what a filter would see).


def gfpo_advantages(rewards_per_func, reward_weights, num_generations, num_remains_in_group, group_filter_scores,
                    scale_rewards):
    rewards = (rewards_per_func * reward_weights.unsqueeze(0)).nansum(dim=1)
    num_in_group = num_generations
    group_global_indices = None
    if num_remains_in_group is not None:
        num_in_group = num_remains_in_group
        group_filter_scores = torch.tensor(group_filter_scores)
        _, group_local_indices = torch.topk(group_filter_scores, num_remains_in_group, dim=-1)
        group_row_offsets = torch.arange(0, rewards.numel(), num_generations).unsqueeze(1)
        group_global_indices = (group_row_offsets + group_local_indices).flatten()
        rewards = rewards[group_global_indices]
        rewards_per_func = rewards_per_func[group_global_indices, :]
    mean_grouped_rewards = rewards.view(-1, num_in_group).mean(dim=1)
    mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_in_group, dim=0)
    advantages = rewards - mean_grouped_rewards
    if scale_rewards in ["group", "none"]:
        std_rewards = rewards.view(-1, num_in_group).std(dim=1)
        std_rewards = std_rewards.repeat_interleave(num_in_group, dim=0)
    elif scale_rewards == "batch":
        std_rewards = rewards.std().expand_as(rewards)
    is_std_zero = torch.isclose(std_rewards, torch.zeros_like(std_rewards))
    if scale_rewards != "none":
        advantages = advantages / (std_rewards + 1e-4)

    metrics = {}
    for i in range(rewards_per_func.shape[1]):
        metrics[f"rewards/f{i}/mean"] = torch.nanmean(rewards_per_func[:, i]).item()
        metrics[f"rewards/f{i}/std"] = nanstd(rewards_per_func[:, i]).item()
    logged = (rewards_per_func * reward_weights.unsqueeze(0)).nansum(dim=1)
    metrics["reward"] = logged.mean().item()
    metrics["reward_std"] = logged.std().item()
    metrics["frac_reward_zero_std"] = is_std_zero.float().mean().item()
    kept = None if group_global_indices is None else group_global_indices.tolist()
    return kept, rewards, advantages, std_rewards, is_std_zero, metrics


# --------------------------------------------------------------------------------------------------------
# grpo_trainer.py (HEAD): get_high_entropy_mask, get_off_policy_mask, _compute_loss


def get_high_entropy_mask(entropies, mask, threshold):
    local = entropies[mask.bool()].float()
    pad_value = -1e9
    padded = local  # accelerator.pad_across_processes on one process
    gathered = padded  # accelerator.gather on one process
    gathered = gathered[gathered != pad_value]
    if gathered.numel() == 0:
        return torch.zeros_like(entropies, dtype=torch.bool)
    entropy_threshold = torch.quantile(gathered, threshold)
    masked_entropies = entropies * mask.float()
    entropy_mask = masked_entropies >= entropy_threshold
    return entropy_mask & mask.bool()


def get_off_policy_mask(advantages, per_token_logps, sampling_per_token_logps, mask, off_policy_threshold):
    kl_div = sampling_per_token_logps - per_token_logps.detach()
    seq_kl_sum = (kl_div * mask).sum(dim=1, keepdim=True)
    avg_seq_kl = seq_kl_sum / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
    is_pos_adv = advantages >= 0
    is_low_kl = avg_seq_kl <= off_policy_threshold
    return (is_pos_adv | is_low_kl).to(dtype=mask.dtype)


@torch.no_grad()
def get_gamma_weights(advantages, log_ratio_per_token, mask, importance_sampling_ratio, k_pos=2.0, lambda_pos=3.0,
                      k_neg=3.0, lambda_neg=2.0):
    lower_clamp = math.log(1e-8)
    log_ratio_clamped = torch.clamp(log_ratio_per_token, -20.0, 20.0)
    seq_log_ratio = torch.sum(log_ratio_clamped * mask, dim=-1, keepdim=True)  # (B, 1)
    if importance_sampling_ratio is not None:
        log_is_ratio = torch.clamp(torch.log(importance_sampling_ratio), lower_clamp, 20.0)
        seq_log_ratio += torch.sum(log_is_ratio, dim=-1, keepdim=True)
    log_w_seq = torch.clamp(seq_log_ratio, lower_clamp, 20.0)
    w_seq = torch.exp(log_w_seq)
    is_nonneg_adv = advantages >= 0
    # torch 1.13's where() takes no Python scalars: full_like gives the same values
    k_seq = torch.where(is_nonneg_adv, torch.full_like(log_w_seq, k_pos), torch.full_like(log_w_seq, k_neg))
    lambda_seq = torch.where(is_nonneg_adv, torch.full_like(log_w_seq, lambda_pos),
                             torch.full_like(log_w_seq, lambda_neg)).clamp(min=1e-4)
    log_phi = lambda_seq + k_seq * log_w_seq - lambda_seq * w_seq
    phi_seq = torch.exp(log_phi).nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)
    return phi_seq  # (B, 1)


def compute_loss(cfg, per_token_logps, old_per_token_logps, ref_per_token_logps, advantages, completion_mask,
                 entropies, num_items_in_batch, gradient_accumulation_steps, num_processes, steps_per_generation):
    # Keys added with the 1.16 loss types default to GRPOConfig's defaults.
    args = types.SimpleNamespace(**{"sapo_temperature_neg": 1.05, "sapo_temperature_pos": 1.0, "vespo_k_pos": 2.0,
                                    "vespo_lambda_pos": 3.0, "vespo_k_neg": 3.0, "vespo_lambda_neg": 2.0,
                                    "entropy_coef": 0.0, **cfg})
    entropy_bonus_enabled = args.entropy_coef != 0.0  # use_adaptive_entropy is the trainer's state, not the loss's
    mask = completion_mask
    epsilon_low, epsilon_high = cfg["epsilon"], cfg["epsilon_high"]
    if cfg["top_entropy_quantile"] < 1.0:
        entropy_mask = get_high_entropy_mask(entropies, mask, 1 - cfg["top_entropy_quantile"])
    else:
        entropy_mask = None
    if advantages.dim() == 1:
        advantages = advantages.unsqueeze(1)
    old_per_token_logps = per_token_logps.detach() if old_per_token_logps is None else old_per_token_logps
    if cfg["off_policy_mask_threshold"] is not None:
        sampling_per_token_logps = old_per_token_logps
        off_policy_mask = get_off_policy_mask(advantages, per_token_logps, sampling_per_token_logps, mask,
                                              cfg["off_policy_mask_threshold"])
    log_ratio = per_token_logps - old_per_token_logps
    if cfg["importance_sampling_level"] == "token":
        log_importance_weights = log_ratio
    elif cfg["importance_sampling_level"] == "sequence":
        log_importance_weights = (log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
        log_importance_weights = log_importance_weights.unsqueeze(-1)
    coef_1 = torch.exp(log_importance_weights)
    if cfg["beta"] != 0.0:
        per_token_kl = (
            torch.exp(ref_per_token_logps - per_token_logps) - (ref_per_token_logps - per_token_logps) - 1
        )
        if cfg["use_bias_correction_kl"]:
            per_token_kl = per_token_kl * coef_1
    loss_type = cfg["loss_type"]
    if loss_type == "cispo":
        clamped_ratios = torch.clamp(coef_1, max=epsilon_high).detach()
        per_token_loss = -clamped_ratios * advantages * per_token_logps
    elif loss_type in ["grpo", "bnpo", "dr_grpo", "dapo", "luspo"]:
        coef_2 = torch.clamp(coef_1, 1 - epsilon_low, 1 + epsilon_high)
        if cfg["delta"] is not None:
            coef_1 = torch.clamp(coef_1, max=cfg["delta"])
        per_token_loss1 = coef_1 * advantages
        per_token_loss2 = coef_2 * advantages
        per_token_loss = -torch.min(per_token_loss1, per_token_loss2)
    elif loss_type == "sapo":
        # torch 1.13's where() takes no Python scalars: full_like in the inputs' dtype. (TRL's where() with
        # Python scalars makes float32 temperatures, 1.05 -> 1.0499999523; with float64 inputs the results then
        # differ by ~1e-6 relative. trl-host keeps the temperatures in the inputs' dtype, as here.)
        temperatures = torch.where(advantages > 0, torch.full_like(advantages, args.sapo_temperature_pos),
                                   torch.full_like(advantages, args.sapo_temperature_neg))
        soft_coef_1 = torch.sigmoid(temperatures * (coef_1 - 1)) * 4 / temperatures
        per_token_loss = -soft_coef_1 * advantages
    elif loss_type == "vespo":
        phi_seq = get_gamma_weights(advantages, log_ratio, mask, None, k_pos=args.vespo_k_pos,
                                    lambda_pos=args.vespo_lambda_pos, k_neg=args.vespo_k_neg,
                                    lambda_neg=args.vespo_lambda_neg)
        per_token_loss = -phi_seq * advantages * per_token_logps
    if cfg["off_policy_mask_threshold"] is not None:
        per_token_loss = per_token_loss * off_policy_mask
    if entropy_mask is not None:
        per_token_loss = per_token_loss * entropy_mask
    if cfg["beta"] != 0.0:
        per_token_loss = per_token_loss + cfg["beta"] * per_token_kl

    if loss_type in ["grpo", "sapo"]:
        loss = ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
        policy_loss = loss.detach()
        loss = loss / gradient_accumulation_steps
    elif loss_type == "bnpo":
        loss = (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0)
        policy_loss = loss.detach()
        loss = loss / gradient_accumulation_steps
    elif loss_type == "dr_grpo":
        loss = (per_token_loss * mask).sum() / (per_token_loss.size(0) * cfg["max_completion_length"])
        policy_loss = loss.detach()
        loss = loss / gradient_accumulation_steps
    elif loss_type in ["cispo", "dapo", "vespo"]:
        normalizer = torch.tensor(float(num_items_in_batch), dtype=torch.float64).clamp(min=1.0) / num_processes
        # trl 1.16, train mode: rescale N to one accumulation window (x 1 when steps_per_generation = GA)
        normalizer = normalizer * gradient_accumulation_steps / steps_per_generation
        loss = (per_token_loss * mask).sum() / normalizer
        policy_loss = loss.detach()
    elif loss_type == "luspo":
        loss = (per_token_loss * mask).sum(-1).mean()
        policy_loss = loss.detach()
        loss = loss / gradient_accumulation_steps

    metrics = {}
    if entropy_bonus_enabled:
        effective_mask = mask if entropy_mask is None else mask * entropy_mask
        entropy_loss = ((entropies * effective_mask).sum() / effective_mask.sum().clamp(min=1.0)
                        / gradient_accumulation_steps)
        loss = loss - args.entropy_coef * entropy_loss
        metrics["policy_loss"] = policy_loss.item()  # accelerator.gather(...).nanmean() on one process

    def masked_seq_mean(x):
        if x.shape[1] == 1:
            return x.squeeze(1)
        return (x * mask).sum(-1) / mask.sum(-1)

    def global_masked_mean(x):
        if x.shape[1] == 1:
            local_sum, local_count = x.sum(), torch.tensor(float(x.shape[0]), dtype=x.dtype)
        else:
            local_sum, local_count = (x * mask).sum(), mask.sum().to(x.dtype)
        totals = torch.stack([local_sum, local_count])  # accelerator.reduce(sum) on one process
        return (totals[0] / totals[1].clamp(min=1.0)).item()

    if cfg["beta"] != 0.0:
        metrics["kl"] = global_masked_mean(per_token_kl)
    metrics["entropy"] = global_masked_mean(entropies)
    if loss_type == "cispo":
        is_cispo_clipped = (coef_1 > epsilon_high) & (advantages > 0)
        metrics["cispo_clip_ratio"] = global_masked_mean(is_cispo_clipped.double())
        return loss, policy_loss, metrics
    if loss_type == "vespo":
        metrics["vespo/phi_seq_mean"] = global_masked_mean(phi_seq)
        return loss, policy_loss, metrics
    if loss_type == "sapo":
        return loss, policy_loss, metrics
    is_low_clipped = (coef_1 < 1 - epsilon_low) & (advantages < 0)
    is_high_clipped = (coef_1 > 1 + epsilon_high) & (advantages > 0)
    is_region_clipped = is_low_clipped | is_high_clipped
    # .double() where TRL writes .float(): the tensors here are float64 (same values for 0/1 flags)
    metrics["clip_ratio/low_mean"] = global_masked_mean(is_low_clipped.double())
    metrics["clip_ratio/high_mean"] = global_masked_mean(is_high_clipped.double())
    metrics["clip_ratio/region_mean"] = global_masked_mean(is_region_clipped.double())
    metrics["clip_ratio/low_min"] = nanmin(masked_seq_mean(is_low_clipped.double())).item()
    metrics["clip_ratio/high_max"] = nanmax(masked_seq_mean(is_high_clipped.double())).item()
    return loss, policy_loss, metrics


# --------------------------------------------------------------------------------------------------------
# Cases


def listify(t):
    if isinstance(t, torch.Tensor):
        t = t.tolist()
    if isinstance(t, float):
        return None if math.isnan(t) else t
    if isinstance(t, list):
        return [listify(x) for x in t]
    return t


def clean_metrics(metrics):
    return {k: (None if (isinstance(v, float) and math.isnan(v)) else v) for k, v in metrics.items()}


def reward_matrix(seed, rows, funcs, nan_cells=()):
    torch.manual_seed(seed)
    rpf = torch.round(torch.rand(rows, funcs, dtype=torch.float64) * 8) / 4  # multiples of 0.25 in [0, 2]
    for r, f in nan_cells:
        rpf[r, f] = float("nan")
    return rpf


def advantage_cases():
    cases = []
    G = 4
    weights = torch.tensor([0.7, 0.3], dtype=torch.float64)
    # Row 5: every function None (unscorable). Group 2 (rows 8-11): only row 8 scorable for function 0 and
    # rows 9-11 all None -> one scorable row in the group (std NaN -> advantage 0). Row 1: function 1 None.
    nan_cells = [(1, 1), (5, 0), (5, 1), (9, 0), (9, 1), (10, 0), (10, 1), (11, 0), (11, 1)]
    inputs = {"plain": reward_matrix(1, 12, 2), "nan": reward_matrix(1, 12, 2, nan_cells)}
    # A constant group: advantages 0 and frac_reward_zero_std counts it.
    inputs["plain"][4:8, :] = torch.tensor([0.5, 1.0], dtype=torch.float64)
    for name, rpf in inputs.items():
        for aggregation in ["sum_then_normalize", "normalize_then_sum"]:
            scales = ["group", "batch", "none"] if aggregation == "sum_then_normalize" else ["group"]
            for scale in scales:
                rewards, adv, std, zero, metrics = grpo_advantages(rpf.clone(), weights, G, scale, aggregation)
                cases.append({
                    "name": f"{name}_{aggregation}_{scale}", "seed": 1, "num_generations": G,
                    "weights": weights.tolist(), "scale_rewards": scale, "aggregation": aggregation,
                    "rewards_per_func": listify(rpf), "rewards": listify(rewards), "advantages": listify(adv),
                    "std_rewards": listify(std), "is_std_zero": zero.tolist(), "metrics": clean_metrics(metrics),
                })
    return cases


def b2_case():
    # spec §6.B B2: TRL in float32, G = 7, every reward 0.7 -> advantages ~ +-6e-4, not 0.
    rpf = torch.full((7, 1), 0.7, dtype=torch.float32)
    _, adv, std, zero, _ = grpo_advantages(rpf, torch.tensor([1.0]), 7, "group", "sum_then_normalize")
    return {"trl_float32_max_abs_advantage": adv.abs().max().item(), "trl_float32_std": std[0].item(),
            "trl_float32_is_std_zero": bool(zero[0])}


def gfpo_cases():
    cases = []
    G, R = 4, 2
    weights = torch.tensor([0.7, 0.3], dtype=torch.float64)
    torch.manual_seed(2)
    scores = torch.randn(3, G, dtype=torch.float64).tolist()  # distinct: no tie-order question
    nan_cells = [(1, 1), (5, 0), (5, 1), (9, 0)]
    for name, rpf in {"plain": reward_matrix(3, 12, 2), "nan": reward_matrix(3, 12, 2, nan_cells)}.items():
        for scale in ["group", "batch", "none"]:
            kept, rewards, adv, std, zero, metrics = gfpo_advantages(rpf.clone(), weights, G, R, scores, scale)
            cases.append({
                "name": f"{name}_{scale}", "seed": 3, "num_generations": G, "num_remains_in_group": R,
                "weights": weights.tolist(), "scale_rewards": scale, "scores": scores,
                "rewards_per_func": listify(rpf), "kept_rows": kept, "rewards": listify(rewards),
                "advantages": listify(adv), "std_rewards": listify(std), "is_std_zero": zero.tolist(),
                "metrics": clean_metrics(metrics),
            })
        # No filter (GFPO base path, also its eval): plain mean / unbiased std over whole groups.
        kept, rewards, adv, std, zero, metrics = gfpo_advantages(rpf.clone(), weights, G, None, None, "group")
        cases.append({
            "name": f"{name}_unfiltered_group", "seed": 3, "num_generations": G, "num_remains_in_group": None,
            "weights": weights.tolist(), "scale_rewards": "group", "scores": None,
            "rewards_per_func": listify(rpf), "kept_rows": kept, "rewards": listify(rewards),
            "advantages": listify(adv), "std_rewards": listify(std), "is_std_zero": zero.tolist(),
            "metrics": clean_metrics(metrics),
        })
    return cases


def loss_inputs(seed, empty_row=False, all_empty=False):
    torch.manual_seed(seed)
    B, T = 4, 6
    base = -torch.rand(B, T, dtype=torch.float64) * 3 - 0.05
    logps = base + 0.35 * torch.randn(B, T, dtype=torch.float64)  # ratios spread over ~[0.5, 2]
    old = base.clone()
    ref = base + 0.2 * torch.randn(B, T, dtype=torch.float64)
    advantages = torch.tensor([1.3, -0.8, 0.4, -1.1], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]],
                        dtype=torch.float64)
    if empty_row:
        mask[2] = 0
    if all_empty:  # e.g. mask_truncated_completions with every completion truncated (spec §5 item 15)
        mask[:] = 0
    entropies = torch.rand(B, T, dtype=torch.float64) * 2
    return logps, old, ref, advantages, mask, entropies


def loss_case(name, seed, cfg, ga=1, num_items=None, num_processes=1, use_old=True, empty_row=False,
              all_empty=False, steps_per_generation=None):
    if steps_per_generation is None:
        steps_per_generation = ga  # GRPOConfig's default
    logps, old, ref, advantages, mask, entropies = loss_inputs(seed, empty_row, all_empty)
    if num_items is None:
        num_items = float(mask.sum())
    logps_leaf = logps.clone().requires_grad_(True)
    entropies_leaf = entropies.clone().requires_grad_(cfg.get("entropy_coef", 0.0) != 0.0)
    loss, policy_loss, metrics = compute_loss(cfg, logps_leaf, old if use_old else None, ref, advantages, mask,
                                              entropies_leaf, num_items, ga, num_processes, steps_per_generation)
    loss.backward()
    grad_entropies = entropies_leaf.grad if entropies_leaf.grad is not None else torch.zeros_like(entropies)
    return {
        "name": name, "seed": seed, "config": cfg, "gradient_accumulation_steps": ga,
        "num_items_in_batch": num_items, "num_processes": num_processes, "use_old_logps": use_old,
        "steps_per_generation": steps_per_generation,
        "logps": listify(logps), "old_logps": listify(old), "ref_logps": listify(ref),
        "advantages": listify(advantages), "completion_mask": listify(mask), "entropies": listify(entropies),
        "loss": loss.item(), "policy_loss": policy_loss.item(), "grad": listify(logps_leaf.grad),
        "grad_entropies": listify(grad_entropies),
        "metrics": clean_metrics(metrics),
    }


def base_cfg(**kw):
    cfg = {"loss_type": "dapo", "importance_sampling_level": "token", "epsilon": 0.2, "epsilon_high": 0.28,
           "delta": None, "beta": 0.04, "use_bias_correction_kl": False, "top_entropy_quantile": 1.0,
           "off_policy_mask_threshold": None, "max_completion_length": 8}
    cfg.update(kw)
    return cfg


def loss_cases():
    cases = []
    for loss_type in ["grpo", "bnpo", "dr_grpo", "dapo"]:
        for level in ["token", "sequence"]:
            for delta in [None, 1.25]:
                name = f"{loss_type}_{level}_{'delta' if delta else 'nodelta'}"
                cases.append(loss_case(name, 10, base_cfg(loss_type=loss_type, importance_sampling_level=level,
                                                          delta=delta), ga=2, num_items=40.0, num_processes=2))
    cases.append(loss_case("dapo_beta0", 11, base_cfg(beta=0.0)))
    cases.append(loss_case("grpo_beta0_no_old_logps", 11, base_cfg(loss_type="grpo", beta=0.0), use_old=False))
    cases.append(loss_case("bnpo_bias_correction_token", 12, base_cfg(loss_type="bnpo", use_bias_correction_kl=True)))
    cases.append(loss_case("grpo_bias_correction_sequence", 12,
                           base_cfg(loss_type="grpo", importance_sampling_level="sequence",
                                    use_bias_correction_kl=True, delta=1.1)))
    cases.append(loss_case("dapo_top_entropy", 13, base_cfg(top_entropy_quantile=0.4)))
    cases.append(loss_case("grpo_top_entropy_sequence", 13,
                           base_cfg(loss_type="grpo", importance_sampling_level="sequence", top_entropy_quantile=0.25)))
    cases.append(loss_case("dapo_off_policy_mask", 14, base_cfg(off_policy_mask_threshold=0.05)))
    cases.append(loss_case("dapo_small_delta", 15, base_cfg(delta=0.7, epsilon_high=0.2)))
    cases.append(loss_case("bnpo_empty_row", 16, base_cfg(loss_type="bnpo"), empty_row=True))
    cases.append(loss_case("grpo_sequence_empty_row", 16, base_cfg(loss_type="grpo", importance_sampling_level="sequence"),
                           empty_row=True))
    cases.append(loss_case("dapo_zero_items", 17, base_cfg(), num_items=0.0))
    cases.append(loss_case("dapo_all_masked", 18, base_cfg(), num_items=0.0, all_empty=True))
    return cases


def new_loss_cases():
    """TRL 1.16's other loss types and the entropy bonus (appended after loss_cases(), whose values stay)."""
    cases = []
    for loss_type in ["cispo", "sapo", "luspo", "vespo"]:
        for level in ["token", "sequence"]:
            # cispo's cap is epsilon_high itself (ScaleRL recommends 5.0); 1.3 caps some ratios here.
            extra = {"epsilon_high": 1.3} if loss_type == "cispo" else {}
            cfg = base_cfg(loss_type=loss_type, importance_sampling_level=level, **extra)
            cases.append(loss_case(f"{loss_type}_{level}", 20, cfg, ga=2, num_items=40.0, num_processes=2))
    cases.append(loss_case("cispo_beta0_delta", 21, base_cfg(loss_type="cispo", beta=0.0, epsilon_high=1.1, delta=1.2)))
    cases.append(loss_case("sapo_temperatures_off_policy", 22,
                           base_cfg(loss_type="sapo", sapo_temperature_pos=0.5, sapo_temperature_neg=2.0,
                                    off_policy_mask_threshold=0.05)))
    cases.append(loss_case("luspo_sequence_beta0", 23, base_cfg(loss_type="luspo", importance_sampling_level="sequence",
                                                                 beta=0.0), ga=3))
    cases.append(loss_case("luspo_sequence_empty_row", 16,
                           base_cfg(loss_type="luspo", importance_sampling_level="sequence"), empty_row=True))
    cases.append(loss_case("vespo_params_top_entropy", 24,
                           base_cfg(loss_type="vespo", vespo_k_pos=1.5, vespo_lambda_pos=0.5, vespo_k_neg=4.0,
                                    vespo_lambda_neg=0.0, top_entropy_quantile=0.5)))
    cases.append(loss_case("vespo_bias_correction_no_old_logps", 25,
                           base_cfg(loss_type="vespo", use_bias_correction_kl=True), use_old=False))
    # Entropy bonus: loss -= coef * mean entropy over the loss's tokens / GA, whatever the loss type.
    cases.append(loss_case("dapo_entropy_bonus", 26, base_cfg(entropy_coef=0.05), ga=2, num_items=40.0))
    cases.append(loss_case("grpo_entropy_bonus_top_entropy", 26,
                           base_cfg(loss_type="grpo", entropy_coef=0.3, top_entropy_quantile=0.4), ga=2))
    cases.append(loss_case("cispo_entropy_bonus_sequence", 27,
                           base_cfg(loss_type="cispo", importance_sampling_level="sequence", epsilon_high=1.3,
                                    entropy_coef=-0.1)))
    cases.append(loss_case("luspo_entropy_bonus_all_masked", 18, base_cfg(loss_type="luspo", entropy_coef=0.2),
                           num_items=0.0, all_empty=True))
    # A generation batch serving two optimizer steps (steps_per_generation 4, GA 2): trl 1.16 divides by the
    # window's share of N, N x GA / steps_per_generation; grpo's aggregation does not depend on it.
    for loss_type in ["dapo", "cispo", "vespo", "grpo"]:
        cases.append(loss_case(f"{loss_type}_steps_per_generation_4", 28, base_cfg(loss_type=loss_type), ga=2,
                               num_items=80.0, num_processes=2, steps_per_generation=4))
    return cases


def sampler_case():
    # spec §5 item 13's geometry with shuffling on: 17 prompts, G = 4, generation batch 24 (6 prompts),
    # num_iterations * steps_per_generation = 8 repeats, seed 42, three epochs (three __iter__ calls).
    sampler = RepeatSampler(list(range(17)), mini_repeat_count=4, batch_size=6, repeat_count=8, shuffle=True, seed=42)
    epochs = [list(sampler) for _ in range(3)]
    g = torch.Generator()
    g.manual_seed(42)
    perms = [torch.randperm(17, generator=g).tolist() for _ in range(3)]
    return {"num_prompts": 17, "num_generations": 4, "prompts_per_generation": 6, "repeat_count": 8, "seed": 42,
            "epoch_streams": epochs, "epoch_permutations": perms}


def main():
    out = {
        "about": "TRL GRPO/GFPO reference values; generator tests/golden/make_grpo_golden.py; float64; "
                 "advantages rtol 2e-7 atol 1e-9, loss rtol 1e-10 atol 1e-12",
        "advantages": advantage_cases(),
        "b2_float32": b2_case(),
        "gfpo": gfpo_cases(),
        "loss": loss_cases() + new_loss_cases(),
        "sampler": sampler_case(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grpo_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
