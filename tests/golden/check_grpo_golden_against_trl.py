#!/usr/bin/env python3
"""Cross-check of tests/golden/grpo_golden.json's loss cases against TRL's own GRPOTrainer._compute_loss.

make_grpo_golden.py is an independent transcription (Debian's torch 1.13, no TRL). This script runs the real
trl 1.16.0 code on the same inputs, so a transcription slip would show here. It needs the pinned reference
environment (scripts/python-env.sh makes build/venvs/trl):

    build/venvs/trl/bin/python tests/golden/check_grpo_golden_against_trl.py [tests/golden/grpo_golden.json]

TRL's _compute_loss is called unbound on a stand-in `self` (one process, train mode, no vLLM, no adaptive
entropy); `_get_per_token_logps_and_entropies` returns the case's log-probs and entropies as leaves, so the
loss, both gradients and the logged metrics are compared.
Tolerance: 1e-9 relative (float64), except sapo with its default temperatures, whose expected gap is ~2e-6:
TRL's `torch.where(A > 0, 1.0, 1.05)` makes float32 temperatures (1.0499999523), trl-host and the
transcription keep the inputs' dtype (docs/gfpo.md, "Loss types"). Exit status 0 = every case agrees.
"""
import json
import math
import os
import sys
import types
from collections import defaultdict

import torch
from trl.trainer.grpo_trainer import GRPOTrainer


def run_case(c):
    cfg = c["config"]
    T = lambda k: torch.tensor(c[k], dtype=torch.float64)  # noqa: E731
    logps = T("logps").requires_grad_(True)
    entropies = T("entropies").requires_grad_(True)
    B, L = logps.shape
    args = types.SimpleNamespace(
        delta=cfg["delta"], use_bias_correction_kl=cfg["use_bias_correction_kl"],
        sapo_temperature_pos=cfg.get("sapo_temperature_pos", 1.0),
        sapo_temperature_neg=cfg.get("sapo_temperature_neg", 1.05),
        vespo_k_pos=cfg.get("vespo_k_pos", 2.0), vespo_lambda_pos=cfg.get("vespo_lambda_pos", 3.0),
        vespo_k_neg=cfg.get("vespo_k_neg", 3.0), vespo_lambda_neg=cfg.get("vespo_lambda_neg", 2.0),
        entropy_target=0.2, steps_per_generation=c["steps_per_generation"])
    accelerator = types.SimpleNamespace(
        num_processes=c["num_processes"], sync_gradients=True, gather=lambda x: x, gather_for_metrics=lambda x: x,
        reduce=lambda x, reduction: x, pad_across_processes=lambda x, dim, pad_index: x)
    coef = cfg.get("entropy_coef", 0.0)
    trainer = types.SimpleNamespace(
        _get_per_token_logps_and_entropies=lambda *a, **k: (logps, entropies, None), aux_loss_enabled=False,
        top_entropy_quantile=cfg["top_entropy_quantile"], off_policy_mask_threshold=cfg["off_policy_mask_threshold"],
        importance_sampling_level=cfg["importance_sampling_level"], beta=cfg["beta"], args=args,
        loss_type=cfg["loss_type"], epsilon_low=cfg["epsilon"], epsilon_high=cfg["epsilon_high"],
        get_off_policy_mask=GRPOTrainer.get_off_policy_mask, get_gamma_weights=GRPOTrainer.get_gamma_weights,
        use_vllm=False, vllm_importance_sampling_correction=False, model=types.SimpleNamespace(training=True),
        current_gradient_accumulation_steps=c["gradient_accumulation_steps"],
        max_completion_length=cfg["max_completion_length"], accelerator=accelerator,
        _entropy_bonus_enabled=coef != 0.0, use_adaptive_entropy=False, entropy_coef=coef,
        _metrics=defaultdict(lambda: defaultdict(list)))
    trainer.get_high_entropy_mask = types.MethodType(GRPOTrainer.get_high_entropy_mask, trainer)
    inputs = {"prompt_ids": torch.zeros(B, 1, dtype=torch.long), "prompt_mask": torch.ones(B, 1, dtype=torch.long),
              "completion_ids": torch.zeros(B, L, dtype=torch.long), "completion_mask": T("completion_mask"),
              "advantages": T("advantages"), "ref_per_token_logps": T("ref_logps"),
              "num_items_in_batch": torch.tensor(float(c["num_items_in_batch"]), dtype=torch.float64)}
    if c["use_old_logps"]:
        inputs["old_per_token_logps"] = T("old_logps")
    loss = GRPOTrainer._compute_loss(trainer, None, inputs)
    loss.backward()

    def rel(got, want):
        return (got - want).abs().max().item() / max(1e-12, want.abs().max().item())

    errors = {"loss": rel(loss.detach(), torch.tensor(c["loss"], dtype=torch.float64)),
              "grad": rel(logps.grad, T("grad"))}
    g_entropies = entropies.grad if entropies.grad is not None else torch.zeros_like(entropies)
    errors["grad_entropies"] = (g_entropies - T("grad_entropies")).abs().max().item()
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items() if k != "entropy_coef"}
    if set(metrics) != set(c["metrics"]):
        return {"metric names": math.inf}
    for k, want in c["metrics"].items():
        errors[k] = (0.0 if math.isnan(metrics[k]) else math.inf) if want is None else abs(metrics[k] - want)
    return errors


def main():
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grpo_golden.json")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    failures = 0
    for c in json.load(open(path))["loss"]:
        errors = run_case(c)
        worst = max(errors, key=errors.get)
        sapo_default = c["config"]["loss_type"] == "sapo" and c["config"].get("sapo_temperature_neg", 1.05) == 1.05
        ok = errors[worst] <= (5e-6 if sapo_default else 1e-9)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {c['name']:40s} worst {worst} {errors[worst]:.2e}")
    print(f"trl 1.16 _compute_loss vs {path}: {failures} failing case(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
