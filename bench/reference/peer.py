#!/usr/bin/env python3
"""The PyTorch-eager peer of bench/trl_bench: the same workloads, written the way TRL runs them.

  peer.py --model DIR --inputs FILE --workload dpo|grpo|generate|sgemm --steps N --warmup W
          --threads K --out FILE

dpo       TRL DPOTrainer's step: chosen and rejected concatenated in one forward of the policy, the
          reference forward under no_grad, full log_softmax then gather of the labels, the sigmoid loss,
          backward, clip_grad_norm_(max_grad_norm), torch.optim.AdamW.
grpo      TRL GRPOTrainer's step (num_iterations 1, beta 0, loss_type dapo): generate G completions per
          prompt with the KV cache, score them, group-normalised advantages, the policy forward over
          prompt + completion keeping only the completion logits (logits_to_keep), log_softmax + gather,
          entropies under no_grad, the clipped loss, backward, clipping, AdamW.
generate  transformers' sampling loop: prefill, then one token per row per step through a growing cache.
sgemm     a 1024^3 float32 matmul (the machine's peak for the MFU).

Writes one JSON object (bench/README.md: schema); timings are per step, warm-up steps excluded.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F

from llama_eager import load_model, num_parameters


def per_token_logps(logits, labels):
    """TRL's selective log-softmax as the brief asks: full log_softmax over V, then gather. (B, T)."""
    return torch.gather(logits.log_softmax(-1), dim=-1, index=labels.unsqueeze(-1)).squeeze(-1)


class StepTimes:
    """Wall and process CPU seconds (all threads) of each step past the warm-up."""

    def __init__(self, warmup):
        self.warmup, self.wall, self.cpu, self.step = warmup, [], [], 0

    def start(self):
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def finish(self):
        wall, cpu = time.perf_counter() - self.t0, time.process_time() - self.c0
        if self.step >= self.warmup:
            self.wall.append(wall)
            self.cpu.append(cpu)
        self.step += 1

    def result(self):
        return {"step_s": self.wall, "step_cpu_s": self.cpu}


def clip_grad_norm(params, max_norm):
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))


# ---- DPO ----------------------------------------------------------------------------------------------

def dpo_batch(inputs):
    pairs = inputs["dpo"]["pairs"]
    rows, masks = [], []
    for key in ("chosen", "rejected"):  # the collator's order: all chosen rows, then all rejected
        for p in pairs:
            rows.append(p["prompt"] + p[key])
            masks.append([0] * len(p["prompt"]) + [1] * len(p[key]))
    input_ids = torch.tensor(rows)                       # (2B, T)
    completion_mask = torch.tensor(masks)
    labels = input_ids[:, 1:].clone()                    # (2B, T-1)
    label_mask = completion_mask[:, 1:].bool()
    labels[~label_mask] = 0
    return input_ids, torch.ones_like(input_ids), labels, label_mask


def dpo_workload(model, ref, inputs, args):
    cfg = inputs["dpo"]
    input_ids, attention_mask, labels, label_mask = dpo_batch(inputs)
    B = input_ids.shape[0] // 2
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], weight_decay=0.0)
    times, checks = StepTimes(args.warmup), []
    for step in range(args.warmup + args.steps):
        times.start()
        logits = model(input_ids, attention_mask)[:, :-1]                      # (2B, T-1, V)
        logps = (per_token_logps(logits, labels) * label_mask).sum(-1)         # (2B,)
        with torch.no_grad():
            ref_logits = ref(input_ids, attention_mask)[:, :-1]
            ref_logps = (per_token_logps(ref_logits, labels) * label_mask).sum(-1)
        chosen, rejected = logps[:B], logps[B:]
        logits_diff = (chosen - ref_logps[:B]) - (rejected - ref_logps[B:])
        loss = -F.logsigmoid(cfg["beta"] * logits_diff).mean()
        loss.backward()
        grad_norm = clip_grad_norm(model.parameters(), cfg["max_grad_norm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.finish()
        if step < 2:
            checks.append({"loss": loss.item(), "grad_norm": grad_norm,
                           "chosen_logps": chosen.detach().tolist(), "rejected_logps": rejected.detach().tolist()})
    return {**times.result(), "tokens_per_step": int(attention_mask.sum()), "check": checks}


# ---- generation ---------------------------------------------------------------------------------------

@torch.no_grad()  # as transformers' generate()
def sample(model, prompts, max_new_tokens, temperature, generator):
    """Prefill + one token per row per step with a growing cache; unpadded prompts of one length."""
    input_ids = torch.tensor(prompts)                                       # (B, P)
    B, P = input_ids.shape
    cache = [[None, None] for _ in model.model.layers]
    logits = model(input_ids, torch.ones(B, P, dtype=torch.long), cache, logits_to_keep=1)[:, -1].float()
    prefill_lse = torch.logsumexp(logits, -1).tolist()
    out = []
    mask = torch.ones(B, P, dtype=torch.long)
    for step in range(max_new_tokens):
        probs = F.softmax(logits / temperature, dim=-1)
        next_tokens = torch.multinomial(probs, 1, generator=generator)       # (B, 1)
        out.append(next_tokens)
        if step + 1 == max_new_tokens:
            break
        mask = torch.cat([mask, torch.ones(B, 1, dtype=torch.long)], dim=1)
        logits = model(next_tokens, mask, cache, logits_to_keep=1)[:, -1].float()
    return torch.cat(out, dim=1), prefill_lse                                # (B, N)


def generate_workload(model, inputs, args):
    cfg = inputs["generate"]
    times = StepTimes(args.warmup)
    check = None
    for step in range(args.warmup + args.steps):
        generator = torch.Generator().manual_seed(cfg["sampling_seed"])
        times.start()
        ids, lse = sample(model, cfg["prompts"], cfg["max_new_tokens"], cfg["temperature"], generator)
        times.finish()
        if check is None:
            check = {"prefill_lse": lse, "first_tokens": ids[:, :4].tolist()}
    return {**times.result(), "tokens_per_step": len(cfg["prompts"]) * cfg["max_new_tokens"],
            "check": [check]}


# ---- GRPO ---------------------------------------------------------------------------------------------

def even_fraction_reward(completions):
    """The benchmark's reward: the fraction of even token ids in each completion (cheap, deterministic)."""
    return (completions % 2 == 0).float().mean(-1)                          # (N,)


def grpo_loss_and_stats(model, prompt_ids, completions, cfg):
    """The dapo loss of TRL HEAD with num_iterations 1 (old logps = logps.detach(), ratio 1), beta 0."""
    G = cfg["num_generations"]
    N, C = completions.shape
    rewards = even_fraction_reward(completions)
    grouped = rewards.view(-1, G)
    mean = grouped.mean(1).repeat_interleave(G)
    std = grouped.std(1).repeat_interleave(G)
    advantages = (rewards - mean) / (std + 1e-4)                            # scale_rewards="group"
    input_ids = torch.cat([prompt_ids, completions], dim=1)                 # (N, P + C)
    attention_mask = torch.ones_like(input_ids)
    logits = model(input_ids, attention_mask, logits_to_keep=C + 1)[:, :-1]  # (N, C, V)
    logits = logits / cfg["temperature"]
    logps = per_token_logps(logits, completions)                            # (N, C)
    with torch.no_grad():  # TRL's entropy_from_logits for the logged entropy
        entropies = -(logits.softmax(-1) * logits.log_softmax(-1)).sum(-1)
    mask = torch.ones_like(logps)
    ratio = torch.exp(logps - logps.detach())
    clipped = torch.clamp(ratio, 1 - cfg["epsilon"], 1 + cfg["epsilon"])
    A = advantages.unsqueeze(1)
    per_token_loss = -torch.min(ratio * A, clipped * A)
    loss = (per_token_loss * mask).sum() / max(mask.sum().item(), 1.0)    # dapo, one process
    return loss, logps, entropies


def grpo_workload(model, inputs, args):
    cfg = inputs["grpo"]
    G = cfg["num_generations"]
    prompts = [p for p in cfg["prompts"] for _ in range(G)]                 # each prompt G times
    prompt_ids = torch.tensor(prompts)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], weight_decay=0.0)

    # Equal-work check on fixed completions, before any update.
    loss, logps, entropies = grpo_loss_and_stats(model, prompt_ids, torch.tensor(cfg["check_completions"]), cfg)
    loss.backward()
    check = {"loss": loss.item(), "grad_norm": clip_grad_norm(model.parameters(), math.inf),
             "mean_logp": logps.mean().item(), "mean_entropy": entropies.mean().item()}
    optimizer.zero_grad(set_to_none=True)

    times = StepTimes(args.warmup)
    for step in range(args.warmup + args.steps):
        generator = torch.Generator().manual_seed(cfg["sampling_seed"] + step)
        times.start()
        completions, _ = sample(model, prompts, cfg["max_new_tokens"], cfg["temperature"], generator)  # (N, C)
        loss, _, _ = grpo_loss_and_stats(model, prompt_ids, completions, cfg)
        loss.backward()
        clip_grad_norm(model.parameters(), cfg["max_grad_norm"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.finish()
    tokens = len(prompts) * (len(prompts[0]) + cfg["max_new_tokens"])
    return {**times.result(), "tokens_per_step": tokens, "check": [check]}


# ---- sgemm and main -----------------------------------------------------------------------------------

def sgemm_workload(args):
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    times = StepTimes(args.warmup)
    for step in range(args.warmup + max(args.steps, 10)):
        times.start()
        torch.mm(a, b)
        times.finish()
    return {**times.result(), "flops_per_step": 2 * 1024 ** 3, "check": []}


def main():
    parser = argparse.ArgumentParser(description="PyTorch-eager peer of trl_bench")
    parser.add_argument("--model")
    parser.add_argument("--inputs")
    parser.add_argument("--workload", required=True, choices=["dpo", "grpo", "generate", "sgemm"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    result = {"impl": "pytorch-eager", "workload": args.workload, "threads": torch.get_num_threads(),
              "torch": torch.__version__}
    if args.workload == "sgemm":
        result.update(sgemm_workload(args))
    else:
        with open(args.inputs) as f:
            inputs = json.load(f)
        model = load_model(args.model)
        result["params"] = num_parameters(model)
        if args.workload == "dpo":
            ref = load_model(args.model)  # TRL's default reference: a second copy of the initial model
            ref.requires_grad_(False)
            ref.eval()
            result.update(dpo_workload(model, ref, inputs, args))
        elif args.workload == "grpo":
            result.update(grpo_workload(model, inputs, args))
        else:
            result.update(generate_workload(model, inputs, args))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
