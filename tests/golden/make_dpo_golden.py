#!/usr/bin/python3
"""Golden values for the DPO loss library (plugins/dpo), computed independently of the C++ code.

Reference: TRL HEAD f2cd57710, trl/trainer/dpo_trainer.py DPOTrainer._compute_loss (the log-probs, LD-DPO,
f-divergence (with the constants TRL 1.16.0 restored: 1 - exp(-rho), log 2 + logsigmoid(rho),
(exp((a-1) rho) - 1)/(a-1), and nca_pair, bco_pair, sppo_hard and apo_down on the raw log-ratios, as
TRL 1.16.0 has them; docs/parity.md), every loss_type branch, WPO and the metrics), transcribed below line by line with `self.x`
replaced by `cfg["x"]`; selective_log_softmax and entropy_from_logits from trl/trainer/utils.py.
Only PyTorch is used (Debian's python3-torch 1.13); TRL itself is not needed.

Inputs: random logits of a tiny "model" (seed SEED, float64) over small token batches, for the policy and
for the reference. Each case runs the transcription on them and records the loss, the metrics of spec
§1.7, and autograd gradients w.r.t. the summed policy log-probs (and, for some cases, the policy logits).

Where this departs from TRL on purpose (each is what trl-host does; see spec §6.A):
  * use_weighting multiplies out of place. TRL's in-place `*=` gives the same values where it works, and
    crashes for hinge (backward) and sft (forward) (A1); those cases are marked "trl_crashes".
  * alpha_divergence with float64 log-probs: TRL's clamp table has no float64 entry (KeyError, A8); here
    float64 keeps float64 and clamps the exponent at 700.
  * Legacy keys (spec §1.9): rpo_alpha adds ("sft", rpo_alpha) to the loss list, as TRL deprecated it;
    reference_free is transcribed from legacy TRL (v0.19 dpo_trainer.py dpo_loss): the log-ratios of the loss
    are `logps - (not reference_free) * ref_logps`, while the rewards/* metrics are always
    `beta * (logps - ref_logps)` with the reference model's log-probs. (Legacy bco_pair, sppo_hard, nca_pair,
    aot_pair and discopop read ref_logps directly, ignoring reference_free; here every loss type reads the
    zeroed log-ratios, as trl-host does: docs/user-guide.md.)
  * exo_pair keeps TRL's float32 ε (torch.tensor(label_smoothing)); trl-host takes log(ε) in double. The
    difference is below 1e-7 here, inside the tolerance.

Tolerance used by tests/unit/dpo_loss_test.cpp: |ours − golden| <= 1e-6 + 1e-6·|golden| (float64), for the
loss, the metrics and the gradients.

Run: /usr/bin/python3 tests/golden/make_dpo_golden.py   (writes tests/golden/dpo_loss_golden.json)
"""
import json
import math
import os

import torch
import torch.nn.functional as F

SEED = 1234
DTYPE = torch.float64
TRL_COMMIT = "f2cd57710"
LOSS_TYPES = ["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
              "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm"]
# TRL 1.16's f_divergence_loss_types: the losses a non-default f_divergence_type may be combined with.
F_DIVERGENCE_LOSS_TYPES = ["sigmoid", "hinge", "ipo", "exo_pair", "robust", "discopop", "sft", "sigmoid_norm"]
DEFAULTS = {"beta": 0.1, "loss_type": ["sigmoid"], "loss_weights": None, "label_smoothing": 0.0,
            "f_divergence_type": "reverse_kl", "f_alpha_divergence_coef": 0.5, "ld_alpha": None,
            "use_weighting": False, "discopop_tau": 0.05, "rpo_alpha": None, "reference_free": False}


# --- trl/trainer/utils.py -------------------------------------------------------------------------------
def selective_log_softmax(logits, index):
    index = index.unsqueeze(-1)
    selected_logits = torch.gather(logits, dim=-1, index=index)
    logsumexp_values = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])
    per_token_logps = selected_logits - logsumexp_values.unsqueeze(-1)
    return per_token_logps.squeeze(-1)


def entropy_from_logits(logits):
    logps = F.log_softmax(logits, dim=-1)
    return -(torch.exp(logps) * logps).sum(-1)


# --- DPOTrainer._compute_loss, from "Get the log ratios" to the end -----------------------------------
def loss_and_metrics(cfg, chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, completion_mask,
                     shift_logits=None, shift_labels=None, shift_completion_mask=None, per_token_logps=None):
    loss_types = list(cfg["loss_type"])
    loss_weights = cfg["loss_weights"] or [1.0] * len(loss_types)
    if cfg["rpo_alpha"] is not None:  # legacy RPO as TRL deprecated it: an sft term with weight rpo_alpha
        loss_types.append("sft")
        loss_weights = list(loss_weights) + [cfg["rpo_alpha"]]
    beta = cfg["beta"]
    device = chosen_logps.device

    ref_factor = 0.0 if cfg["reference_free"] else 1.0  # legacy: (not self.reference_free) * ref_chosen_logps
    chosen_logratios = chosen_logps - ref_factor * ref_chosen_logps
    rejected_logratios = rejected_logps - ref_factor * ref_rejected_logps

    if cfg["f_divergence_type"] == "reverse_kl":
        chosen_scores = chosen_logratios
        rejected_scores = rejected_logratios
    elif cfg["f_divergence_type"] == "forward_kl":  # TRL 1.16 keeps the constants (docs/parity.md)
        chosen_scores = 1 - torch.exp(-chosen_logratios)
        rejected_scores = 1 - torch.exp(-rejected_logratios)
    elif cfg["f_divergence_type"] == "js_divergence":
        chosen_scores = math.log(2) + F.logsigmoid(chosen_logratios)
        rejected_scores = math.log(2) + F.logsigmoid(rejected_logratios)
    elif cfg["f_divergence_type"] == "alpha_divergence":
        if abs(cfg["f_alpha_divergence_coef"] - 1.0) < 1e-6:
            chosen_scores = chosen_logratios
            rejected_scores = rejected_logratios
        else:
            coef = 1.0 / (cfg["f_alpha_divergence_coef"] - 1.0)
            t_chosen = (cfg["f_alpha_divergence_coef"] - 1.0) * chosen_logratios
            t_rejected = (cfg["f_alpha_divergence_coef"] - 1.0) * rejected_logratios
            dtype = t_chosen.dtype
            if dtype == torch.float64:  # not in TRL (KeyError there, spec §6.A A8): keep float64, clamp at 700
                t_chosen_float = torch.clamp(t_chosen, max=700.0)
                t_rejected_float = torch.clamp(t_rejected, max=700.0)
            else:
                clamp_max = {torch.float16: 11.0, torch.bfloat16: 80.0, torch.float32: 80.0}[dtype]
                t_chosen_float = torch.clamp(t_chosen.float(), max=clamp_max)
                t_rejected_float = torch.clamp(t_rejected.float(), max=clamp_max)
            chosen_scores = (torch.exp(t_chosen_float) - 1.0).to(dtype) * coef
            rejected_scores = (torch.exp(t_rejected_float) - 1.0).to(dtype) * coef
    else:
        raise ValueError(cfg["f_divergence_type"])

    delta_score = chosen_scores - rejected_scores

    loss = 0.0
    for loss_type, loss_weight in zip(loss_types, loss_weights, strict=True):
        if loss_type == "sigmoid":
            per_sequence_loss = -F.logsigmoid(beta * delta_score)
        elif loss_type == "hinge":
            per_sequence_loss = torch.relu(1 - beta * delta_score)
        elif loss_type == "ipo":
            chosen_mask, rejected_mask = completion_mask.chunk(2, dim=0)
            chosen_avg_score = chosen_scores / chosen_mask.sum(dim=1).clamp(min=1.0)
            rejected_avg_score = rejected_scores / rejected_mask.sum(dim=1).clamp(min=1.0)
            ipo_delta = chosen_avg_score - rejected_avg_score
            per_sequence_loss = (ipo_delta - 1 / (2 * beta)) ** 2
        elif loss_type == "exo_pair":
            epsilon = torch.tensor(cfg["label_smoothing"], device=device)
            qw = torch.sigmoid(beta * delta_score)
            log_qw = F.logsigmoid(beta * delta_score)
            log_pw = torch.log1p(-epsilon)
            ql = torch.sigmoid(-beta * delta_score)
            log_ql = F.logsigmoid(-beta * delta_score)
            log_pl = torch.log(epsilon)
            per_sequence_loss = qw * (log_qw - log_pw) + ql * (log_ql - log_pl)
        elif loss_type == "nca_pair":  # TRL 1.16: raw log-ratios (HEAD f2cd57710 used the scores)
            chosen_rewards = beta * chosen_logratios
            rejected_rewards = beta * rejected_logratios
            per_sequence_loss = (
                -F.logsigmoid(chosen_rewards) - 0.5 * F.logsigmoid(-chosen_rewards) - 0.5 * F.logsigmoid(-rejected_rewards)
            )
        elif loss_type == "robust":
            clean_loss_term = -(1 - cfg["label_smoothing"]) * F.logsigmoid(beta * delta_score)
            flipped_loss_term = -cfg["label_smoothing"] * F.logsigmoid(-beta * delta_score)
            per_sequence_loss = (clean_loss_term - flipped_loss_term) / (1 - 2 * cfg["label_smoothing"])
        elif loss_type == "bco_pair":  # TRL 1.16: raw log-ratios
            chosen_rewards = beta * chosen_logratios
            rejected_rewards = beta * rejected_logratios
            per_sequence_loss = -F.logsigmoid(chosen_rewards) - F.logsigmoid(-rejected_rewards)
        elif loss_type == "sppo_hard":
            winner_margin_error = (chosen_logratios - 0.5 / beta) ** 2  # TRL 1.16: raw log-ratios
            loser_margin_error = (rejected_logratios + 0.5 / beta) ** 2
            per_sequence_loss = winner_margin_error + loser_margin_error
        elif loss_type == "aot":
            logratios = chosen_logps - rejected_logps
            ref_logratios = ref_chosen_logps - ref_rejected_logps
            logratios_sorted, _ = torch.sort(logratios, dim=0)
            ref_logratios_sorted, _ = torch.sort(ref_logratios, dim=0)
            delta = logratios_sorted - ref_logratios_sorted
            per_sequence_loss = (
                -F.logsigmoid(beta * delta) * (1 - cfg["label_smoothing"])
                - F.logsigmoid(-beta * delta) * cfg["label_smoothing"]
            )
        elif loss_type == "aot_unpaired":
            chosen_logratios_sorted, _ = torch.sort(chosen_logratios, dim=0)
            rejected_logratios_sorted, _ = torch.sort(rejected_logratios, dim=0)
            delta = chosen_logratios_sorted - rejected_logratios_sorted
            per_sequence_loss = (
                -F.logsigmoid(beta * delta) * (1 - cfg["label_smoothing"])
                - F.logsigmoid(-beta * delta) * cfg["label_smoothing"]
            )
        elif loss_type == "apo_zero":
            losses_chosen = 1 - torch.sigmoid(beta * chosen_logratios)
            losses_rejected = torch.sigmoid(beta * rejected_logratios)
            per_sequence_loss = losses_chosen + losses_rejected
        elif loss_type == "apo_down":
            losses_chosen = torch.sigmoid(beta * chosen_logratios)
            losses_rejected = 1 - torch.sigmoid(beta * (chosen_logratios - rejected_logratios))  # TRL 1.16
            per_sequence_loss = losses_chosen + losses_rejected
        elif loss_type == "discopop":
            logits = delta_score * beta
            log_ratio_modulation = torch.sigmoid(logits / cfg["discopop_tau"])
            logistic_component = -F.logsigmoid(logits)
            exp_component = torch.exp(-logits)
            per_sequence_loss = logistic_component * (1 - log_ratio_modulation) + exp_component * log_ratio_modulation
        elif loss_type == "sft":
            chosen_logits, _ = shift_logits.chunk(2, dim=0)
            chosen_labels, _ = shift_labels.chunk(2, dim=0)
            chosen_mask, _ = shift_completion_mask.chunk(2, dim=0)
            batch_loss = F.cross_entropy(chosen_logits[chosen_mask.bool()], chosen_labels[chosen_mask.bool()])
            per_sequence_loss = batch_loss.expand(chosen_logits.size(0))
        elif loss_type == "sigmoid_norm":
            chosen_mask, rejected_mask = completion_mask.chunk(2, dim=0)
            chosen_avg_score = chosen_scores / chosen_mask.sum(dim=1).clamp(min=1.0)
            rejected_avg_score = rejected_scores / rejected_mask.sum(dim=1).clamp(min=1.0)
            delta = chosen_avg_score - rejected_avg_score
            per_sequence_loss = -F.logsigmoid(beta * delta)
        else:
            raise ValueError(loss_type)

        if cfg["use_weighting"]:
            completion_lengths = shift_completion_mask.sum(dim=1).clamp_min(1)
            with torch.no_grad():
                lse1 = torch.logsumexp(shift_logits, dim=-1)
                lse2 = torch.logsumexp(2.0 * shift_logits, dim=-1)
                log_denom = lse2 - 2.0 * lse1
                aligned_logps = (per_token_logps - log_denom) * shift_completion_mask
            mean_logps = aligned_logps.sum(dim=1) / completion_lengths
            weights = torch.exp(mean_logps)
            chosen_weights, rejected_weights = weights.chunk(2, dim=0)
            # TRL: `*=` (same values; crashes for hinge and sft, spec §6.A A1).
            per_sequence_loss = per_sequence_loss * (chosen_weights * rejected_weights)

        loss += per_sequence_loss.mean() * loss_weight

    # Legacy TRL: the reference's log-probs even when reference_free zeroed them in the loss.
    chosen_rewards = beta * (chosen_logps - ref_chosen_logps).detach()
    rejected_rewards = beta * (rejected_logps - ref_rejected_logps).detach()
    metrics = {
        "rewards/chosen": chosen_rewards.mean().item(),
        "rewards/rejected": rejected_rewards.mean().item(),
        "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
        "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
        "logps/chosen": chosen_logps.detach().mean().item(),
        "logps/rejected": rejected_logps.detach().mean().item(),
    }
    return loss, metrics


# --- DPOTrainer._compute_loss, from the forward pass to the sequence log-probs -----------------------
def sequence_logps_from_logits(cfg, logits, input_ids, completion_mask):
    shift_logits = logits[..., :-1, :]
    shift_labels = input_ids[..., 1:]
    shift_completion_mask = completion_mask[..., 1:]
    per_token_logps = selective_log_softmax(shift_logits, shift_labels)
    per_token_logps[shift_completion_mask == 0] = 0.0
    if cfg["ld_alpha"] is None:
        logps = per_token_logps.sum(dim=1)
    else:
        comp_pos = shift_completion_mask.cumsum(dim=1)
        comp_lens = shift_completion_mask.sum(dim=1).long()
        chosen_lens, rejected_lens = comp_lens.chunk(2, dim=0)
        shared_lens = torch.minimum(chosen_lens, rejected_lens)
        shared_lens = torch.cat([shared_lens, shared_lens], dim=0)
        shared_mask = (comp_pos > 0) & (comp_pos <= shared_lens.unsqueeze(1))
        tail_mask = comp_pos > shared_lens.unsqueeze(1)
        shared_logps = (per_token_logps * shared_mask).sum(dim=1)
        tail_logps = (per_token_logps * tail_mask).sum(dim=1)
        logps = shared_logps + cfg["ld_alpha"] * tail_logps
    return logps, shift_logits, shift_labels, shift_completion_mask, per_token_logps


def grad_or_zeros(t):
    """Autograd leaves .grad unset when the loss does not depend on t (sft alone reads the logits directly)."""
    return t.grad.tolist() if t.grad is not None else [0.0] * t.numel()


def run_token_case(cfg, batch, want_logit_grads):
    input_ids, completion_mask = batch["input_ids"], batch["completion_mask"]
    policy_logits = batch["policy_logits"].clone().requires_grad_(True)
    logps, shift_logits, shift_labels, shift_completion_mask, per_token_logps = sequence_logps_from_logits(
        cfg, policy_logits, input_ids, completion_mask)
    chosen_logps, rejected_logps = logps.chunk(2, dim=0)
    chosen_logps.retain_grad()
    rejected_logps.retain_grad()
    with torch.no_grad():  # also with reference_free: the rewards/* metrics read it
        ref_logps = sequence_logps_from_logits(cfg, batch["ref_logits"], input_ids, completion_mask)[0]
    ref_chosen_logps, ref_rejected_logps = ref_logps.chunk(2, dim=0)
    loss, metrics = loss_and_metrics(cfg, chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps,
                                     completion_mask, shift_logits, shift_labels, shift_completion_mask,
                                     per_token_logps)
    loss.backward()
    out = {"loss": loss.item(), "metrics": metrics,
           "grad_chosen_logps": grad_or_zeros(chosen_logps), "grad_rejected_logps": grad_or_zeros(rejected_logps)}
    if want_logit_grads:
        out["grad_policy_logits"] = policy_logits.grad.reshape(-1).tolist()
    return out


def run_sum_case(cfg, inputs, dtype):
    t = {k: torch.tensor(v, dtype=dtype) for k, v in inputs.items() if k.endswith("logps")}
    chosen_logps = t["chosen_logps"].clone().requires_grad_(True)
    rejected_logps = t["rejected_logps"].clone().requires_grad_(True)
    lengths = inputs["chosen_lengths"] + inputs["rejected_lengths"]
    width = max(lengths)
    completion_mask = torch.tensor([[1] * n + [0] * (width - n) for n in lengths])
    loss, metrics = loss_and_metrics(cfg, chosen_logps, rejected_logps, t["ref_chosen_logps"],
                                     t["ref_rejected_logps"], completion_mask)
    loss.backward()
    return {"loss": loss.item(), "metrics": metrics,
            "grad_chosen_logps": chosen_logps.grad.tolist(), "grad_rejected_logps": rejected_logps.grad.tolist()}


# --- inputs -------------------------------------------------------------------------------------------
def make_batch(gen, name, prompt_lens, chosen_lens, rejected_lens, vocab, ref_noise):
    """2B rows (prompt+chosen for every pair, then prompt+rejected), right-padded with 0, as TRL's collator."""
    rows = []
    for p, c in zip(prompt_lens, chosen_lens):
        rows.append((p, c))
    for p, r in zip(prompt_lens, rejected_lens):
        rows.append((p, r))
    width = max(p + n for p, n in rows)
    prompts = [torch.randint(1, vocab, (p,), generator=gen).tolist() for p in prompt_lens]
    input_ids, completion_mask = [], []
    for i, (p, n) in enumerate(rows):
        prompt = prompts[i % len(prompt_lens)]
        completion = torch.randint(1, vocab, (n,), generator=gen).tolist()
        pad = width - p - n
        input_ids.append(prompt + completion + [0] * pad)
        completion_mask.append([0] * p + [1] * n + [0] * pad)
    input_ids = torch.tensor(input_ids)
    completion_mask = torch.tensor(completion_mask)
    policy_logits = 1.5 * torch.randn(len(rows), width, vocab, generator=gen, dtype=DTYPE)
    ref_logits = policy_logits + ref_noise * torch.randn(len(rows), width, vocab, generator=gen, dtype=DTYPE)
    return {"name": name, "input_ids": input_ids, "completion_mask": completion_mask,
            "policy_logits": policy_logits, "ref_logits": ref_logits}


def batch_json(b):
    rows, width, vocab = b["policy_logits"].shape
    return {"name": b["name"], "rows": rows, "width": width, "vocab": vocab,
            "input_ids": b["input_ids"].tolist(), "completion_mask": b["completion_mask"].tolist(),
            "policy_logits": b["policy_logits"].reshape(-1).tolist(),
            "ref_logits": b["ref_logits"].reshape(-1).tolist()}


def token_stats_json(b):
    """Per-token statistics of the policy for the token-metrics test (TRL's definitions, spec §1.7)."""
    logits = b["policy_logits"]
    shift_logits = logits[..., :-1, :]
    shift_labels = b["input_ids"][..., 1:]
    shift_completion_mask = b["completion_mask"][..., 1:]
    per_token_entropy = entropy_from_logits(shift_logits)
    mask = shift_completion_mask
    entropy_sum = (per_token_entropy * mask).sum()
    total_tokens = mask.sum()
    entropy = (entropy_sum / total_tokens).item() if total_tokens > 0 else 0.0
    chosen_logits, rejected_logits = shift_logits.chunk(2, dim=0)
    chosen_mask, rejected_mask = shift_completion_mask.chunk(2, dim=0)
    total_chosen_logits = chosen_logits[chosen_mask.bool()].mean(-1).sum().item()
    total_chosen_tokens = chosen_mask.sum().item()
    total_rejected_logits = rejected_logits[rejected_mask.bool()].mean(-1).sum().item()
    total_rejected_tokens = rejected_mask.sum().item()
    predictions = chosen_logits.argmax(dim=-1)
    chosen_mask_b = shift_completion_mask[: len(shift_completion_mask) // 2].bool()
    chosen_labels = shift_labels[: len(shift_labels) // 2]
    correct = ((predictions == chosen_labels) & chosen_mask_b).sum()
    accuracy = (correct / chosen_mask_b.sum()).item() if chosen_mask_b.sum() > 0 else 0.0
    return {"batch": b["name"],
            "entropy": per_token_entropy.reshape(-1).tolist(),
            "mean_logit": shift_logits.mean(-1).reshape(-1).tolist(),
            "argmax_hit": (shift_logits.argmax(-1) == shift_labels).reshape(-1).tolist(),
            "expected": {"entropy": entropy,
                         "logits/chosen": total_chosen_logits / total_chosen_tokens if total_chosen_tokens else 0.0,
                         "logits/rejected": (total_rejected_logits / total_rejected_tokens
                                             if total_rejected_tokens else 0.0),
                         "mean_token_accuracy": accuracy}}


def token_cases():
    """(name, batch, config overrides, want logit grads, note)."""
    cases = []
    # Every loss type alone, reverse KL.
    per_type = {"exo_pair": {"label_smoothing": 1e-3}, "robust": {"label_smoothing": 0.1},
                "aot": {"label_smoothing": 0.1}, "aot_unpaired": {"label_smoothing": 0.2}}
    for lt in LOSS_TYPES:
        cfg = {"beta": 0.3, "loss_type": [lt], **per_type.get(lt, {})}
        cases.append((f"{lt}", "main", cfg, lt in ("sigmoid", "ipo", "sft"), ""))
    # Every loss type under every other f-divergence (a=0.5; a=1 falls back to reverse KL; a=2 above 1).
    fdivs = [("forward_kl", {}), ("js_divergence", {}), ("alpha_divergence", {}),
             ("alpha_divergence", {"f_alpha_divergence_coef": 2.0})]
    for fd, extra in fdivs:
        for lt in F_DIVERGENCE_LOSS_TYPES:  # TRL 1.16 refuses the others with a non-default f-divergence
            cfg = {"beta": 0.3, "loss_type": [lt], "f_divergence_type": fd, **extra, **per_type.get(lt, {})}
            tag = fd + ("_a2" if extra else "")
            cases.append((f"{lt}/{tag}", "main", cfg, False, ""))
    cases.append(("sigmoid/alpha_divergence_a1", "main",
                  {"beta": 0.3, "f_divergence_type": "alpha_divergence", "f_alpha_divergence_coef": 1.0}, False,
                  "|a-1| < 1e-6 falls back to reverse_kl"))
    # beta and tau variants.
    cases.append(("sigmoid/beta0.01", "main", {"beta": 0.01}, False, ""))
    cases.append(("ipo/beta1", "main", {"beta": 1.0, "loss_type": ["ipo"]}, False, ""))
    cases.append(("discopop/tau0.2", "main", {"beta": 0.5, "loss_type": ["discopop"], "discopop_tau": 0.2}, False, ""))
    # Label smoothing variants.
    for eps in (0.0, 0.25, 0.45):
        cases.append((f"robust/eps{eps}", "main", {"beta": 0.3, "loss_type": ["robust"], "label_smoothing": eps},
                      False, ""))
    cases.append(("exo_pair/eps0.2", "main", {"beta": 0.3, "loss_type": ["exo_pair"], "label_smoothing": 0.2},
                  False, ""))
    cases.append(("aot/eps0", "main", {"beta": 0.3, "loss_type": ["aot"]}, False, ""))
    cases.append(("aot_unpaired/eps0.4", "main", {"beta": 0.3, "loss_type": ["aot_unpaired"], "label_smoothing": 0.4},
                  False, ""))
    cases.append(("sigmoid/eps0.2", "main", {"beta": 0.3, "label_smoothing": 0.2}, False,
                  "HEAD's sigmoid has no label smoothing: same loss as without"))
    # LD-DPO.
    for lt, alpha in (("sigmoid", 0.5), ("ipo", 0.0), ("sigmoid", 1.0), ("aot", 0.3), ("apo_zero", 0.7),
                      ("sft", 0.5), ("sigmoid_norm", 0.25)):
        cases.append((f"{lt}/ld{alpha}", "main", {"beta": 0.3, "loss_type": [lt], "ld_alpha": alpha},
                      lt in ("sigmoid", "sft") and alpha == 0.5, ""))
    # WPO.
    for lt in ("sigmoid", "ipo", "nca_pair", "discopop", "hinge", "sft"):
        note = "trl_crashes: TRL's in-place weighting fails here (spec §6.A A1)" if lt in ("hinge", "sft") else ""
        cases.append((f"{lt}/wpo", "main", {"beta": 0.3, "loss_type": [lt], "use_weighting": True},
                      lt in ("sigmoid", "hinge", "sft"), note))
    cases.append(("sigmoid/wpo_ld", "main", {"beta": 0.3, "use_weighting": True, "ld_alpha": 0.5}, True,
                  "WPO reads the pre-LD log-probs"))
    # Several losses with weights.
    cases.append(("mpo", "main", {"beta": 0.3, "loss_type": ["sigmoid", "bco_pair", "sft"],
                                  "loss_weights": [0.8, 0.2, 1.0]}, True, "TRL's MPO recipe"))
    cases.append(("sigmoid+sft", "main", {"beta": 0.3, "loss_type": ["sigmoid", "sft"]}, False, "loss_weights null"))
    cases.append(("apo_zero+ipo", "main", {"beta": 0.3, "loss_type": ["apo_zero", "ipo"], "loss_weights": [1.0, 0.5]},
                  False, ""))
    cases.append(("sigmoid+sft/wpo_js", "main", {"beta": 0.3, "loss_type": ["sigmoid", "sft"],
                                                 "loss_weights": [0.8, 1.0], "use_weighting": True,
                                                 "f_divergence_type": "js_divergence"}, False, ""))
    # Legacy keys.
    cases.append(("sigmoid/rpo0.5", "main", {"beta": 0.3, "rpo_alpha": 0.5}, True, "= sigmoid + 0.5 sft"))
    cases.append(("sigmoid/reference_free", "main", {"beta": 0.3, "reference_free": True}, False, ""))
    cases.append(("ipo/reference_free", "main", {"beta": 0.3, "loss_type": ["ipo"], "reference_free": True}, False, ""))
    # A row whose prompt is empty: shifted and unshifted completion counts differ (spec §6.A A5).
    for lt, extra in (("ipo", {}), ("sigmoid_norm", {}), ("sigmoid", {"use_weighting": True}), ("sft", {}),
                      ("sigmoid", {"ld_alpha": 0.5})):
        tag = "_".join(k for k in extra) or "plain"
        cases.append((f"{lt}/empty_prompt_{tag}", "empty_prompt", {"beta": 0.3, "loss_type": [lt], **extra}, True, ""))
    # Policy == reference: every log-ratio is 0.
    cases.append(("sigmoid/identical", "identical", {"beta": 0.1}, False, "loss = ln 2, accuracy 0"))
    return cases


def sum_cases():
    """Cases on summed log-probs directly, for the float32 alpha-divergence clamp (spec §1.5)."""
    inputs = {"chosen_logps": [-210.0, -12.0, -40.5], "rejected_logps": [-15.0, -11.0, -140.0],
              "ref_chosen_logps": [-10.0, -14.0, -30.0], "ref_rejected_logps": [-12.0, -9.0, -30.0],
              "chosen_lengths": [9, 4, 7], "rejected_lengths": [5, 3, 12]}
    out = []
    for lt in ("sigmoid", "hinge", "robust", "sigmoid_norm"):  # TRL 1.16 allows alpha_divergence only with these kinds
        cfg = {**DEFAULTS, "beta": 0.1, "loss_type": [lt], "f_divergence_type": "alpha_divergence"}
        out.append({"name": f"{lt}/alpha_clamp_float32", "dtype": "float32",
                    "config": {k: v for k, v in cfg.items() if v != DEFAULTS[k] or k == "loss_type"},
                    "inputs": inputs, "note": "exponent (a-1)*rho = 100 is clamped at 80 in float32",
                    **run_sum_case(cfg, inputs, torch.float32)})
    return out


def main():
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    batches = [
        make_batch(gen, "main", prompt_lens=[3, 1, 4, 2], chosen_lens=[4, 6, 2, 5], rejected_lens=[6, 3, 2, 1],
                   vocab=7, ref_noise=0.7),
        make_batch(gen, "empty_prompt", prompt_lens=[0, 2, 3], chosen_lens=[4, 3, 1], rejected_lens=[2, 5, 3],
                   vocab=6, ref_noise=0.5),
    ]
    identical = make_batch(gen, "identical", prompt_lens=[2, 3], chosen_lens=[3, 2], rejected_lens=[4, 1],
                           vocab=5, ref_noise=0.0)
    batches.append(identical)
    by_name = {b["name"]: b for b in batches}

    cases = []
    for name, batch_name, overrides, grads, note in token_cases():
        cfg = {**DEFAULTS, **overrides}
        result = run_token_case(cfg, by_name[batch_name], grads)
        case = {"name": name, "batch": batch_name, "config": overrides, **result}
        if note:
            case["note"] = note
        cases.append(case)

    golden = {
        "generator": "tests/golden/make_dpo_golden.py",
        "reference": f"TRL {TRL_COMMIT} trl/trainer/dpo_trainer.py DPOTrainer._compute_loss, transcribed",
        "seed": SEED,
        "dtype": "float64 unless a case says otherwise",
        "tolerance": {"rtol": 1e-6, "atol": 1e-6,
                      "rule": "|ours - golden| <= atol + rtol * |golden|, loss, metrics and gradients"},
        "layout": "logits and grad_policy_logits are row-major (rows, width, vocab); rows = 2B, chosen first",
        "batches": [batch_json(b) for b in batches],
        "cases": cases,
        "sum_cases": sum_cases(),
        "token_metrics": [token_stats_json(b) for b in batches[:2]],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dpo_loss_golden.json")
    with open(path, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(cases)} token cases, {len(golden['sum_cases'])} sum cases")
    assert abs(next(c for c in cases if c["name"] == "sigmoid/identical")["loss"] - math.log(2)) < 1e-15


if __name__ == "__main__":
    main()
