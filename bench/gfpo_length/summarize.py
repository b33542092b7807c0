#!/usr/bin/env python3
"""Summarizes the runs of bench/gfpo_length/run.sh as JSON on stdout (the committed results.json).

For each run it reads output_dir/completions.jsonl, which holds every sampled completion of every step
(kept by the filter or not) with its reward and length, so all runs are measured the same way: GRPO's and
GFPO's numbers both cover every completion sampled, not only the rows GFPO trained on. Reported per run:
mean completion length (tokens) and mean reward over the first and the last `window` steps, the share of
completions that hit max_completion_length without EOS (truncated), the mean length of those that ended
with EOS, the mean length and reward of the rows the trainer kept (all rows without a filter), and the
same numbers per window of steps as a curve, and `at_reward`: the first step where the mean reward of the
last `window` steps reaches 0.8 (0.9), with the mean length there (lengths compared at equal reward). `advantage_length_gap`: mean length of
the rows trained with a positive advantage minus that of the rows with a negative one (the length-reward
link the update sees); `frac_reward_zero_std_first|last`: the logged share of groups that give no signal. Also from metrics.jsonl: the `reward` metric as the trainer
logged it (for GFPO: over the kept rows only), and the run time.

Usage: summarize.py WORK_DIR [--window W] [--build NOTE] [--wall-time NOTE] [--task TEXT] [--model TEXT]
  --build: what the binaries were built from (default: the checkout's HEAD when summarizing)
  --wall-time: how long run.sh took, and under what load
  --task, --model: what the runs trained on and from (defaults: the "digits" study of this folder);
  bench/gfpo_purpose/run.sh passes its own
"""
import argparse
import json
import os
import platform
import subprocess

RUNS = ["grpo", "gfpo_length", "gfpo_length_k4", "gfpo_token_efficiency", "grpo_g16"]
DIGITS_TASK = "digits: reward 1.0 when the completion contains a digit (format reward, [0-9], search)"
DIGITS_MODEL = ("init-model --preset tiny --seed 1, warmed up by examples/gfpo_warmup.json (DPO + rpo_alpha 1, "
                "60 steps); gfpo runs: examples/gfpo.json, learning_rate 1e-4")


def mean(values):
    return sum(values) / len(values) if values else None


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def per_step(rows):
    steps = {}
    for row in rows:
        steps.setdefault(row["step"], []).append(row)
    return steps


def gap(rows):
    up = mean([r["length"] for r in rows if r.get("advantage") is not None and r["advantage"] > 0])
    down = mean([r["length"] for r in rows if r.get("advantage") is not None and r["advantage"] < 0])
    return up - down if up is not None and down is not None else None


def window_stats(steps, first, last):
    rows = [r for s in range(first, last + 1) for r in steps.get(s, [])]
    return {
        "length": mean([r["length"] for r in rows]),
        "reward": mean([r["reward"] if r["reward"] is not None else 0.0 for r in rows]),
        "truncated": mean([1.0 if r["truncated"] else 0.0 for r in rows]),
        "terminated_length": mean([r["length"] for r in rows if not r["truncated"]]),
        "kept_length": mean([r["length"] for r in rows if r["kept"]]),
        "kept_reward": mean([r["reward"] if r["reward"] is not None else 0.0 for r in rows if r["kept"]]),
        # How much longer the rows the update pushes up (advantage > 0) are than those it pushes down (< 0):
        # the length-reward link that the trainer actually trains on.
        "advantage_length_gap": gap(rows),
        "completions": len(rows),
    }


def at_reward(steps, window, thresholds):
    """For each threshold: the first step s where the mean reward of steps (s-window, s] reaches it, and the
    mean length of the same completions: the runs' lengths compared at equal reward."""
    out = {}
    for threshold in thresholds:
        out[f"{threshold:g}"] = None
        for s in range(window, max(steps) + 1):
            stats = window_stats(steps, s - window + 1, s)
            if stats["reward"] >= threshold:
                out[f"{threshold:g}"] = {"step": s, "length": stats["length"], "reward": stats["reward"]}
                break
    return out


def summarize(run_dir, window):
    config = json.load(open(os.path.join(run_dir, "run_config.json"), encoding="utf-8"))
    args = config["args"]
    steps = per_step(read_jsonl(os.path.join(run_dir, "completions.jsonl")))
    metrics = read_jsonl(os.path.join(run_dir, "metrics.jsonl"))
    logged = {m["step"]: m for m in metrics if "reward" in m}
    summary = [m for m in metrics if "train_runtime" in m]
    last_step = max(steps)
    first = window_stats(steps, 1, window)
    final = window_stats(steps, last_step - window + 1, last_step)
    filt = config["run"].get("group_filter")
    return {
        "seed": args.get("seed"),
        "num_generations": args["num_generations"],
        "num_remains_in_group": args.get("num_remains_in_group"),
        "group_filter": (filt or {}).get("name") if isinstance(filt, dict) else filt,
        "per_device_train_batch_size": args["per_device_train_batch_size"],
        "max_completion_length": args["max_completion_length"],
        "learning_rate": args["learning_rate"],
        "steps": last_step,
        "first_window": first,
        "last_window": final,
        "length_change": final["length"] - first["length"],
        "reward_change": final["reward"] - first["reward"],
        "logged_reward_first": mean([logged[s]["reward"] for s in range(1, window + 1) if s in logged]),
        "logged_reward_last": mean([logged[s]["reward"] for s in range(last_step - window + 1, last_step + 1)
                                    if s in logged]),
        "at_reward": at_reward(steps, window, (0.8, 0.9)),
        "frac_reward_zero_std_first": mean([logged[s]["frac_reward_zero_std"] for s in range(1, window + 1)
                                            if s in logged and "frac_reward_zero_std" in logged[s]]),
        "frac_reward_zero_std_last": mean([logged[s]["frac_reward_zero_std"]
                                           for s in range(last_step - window + 1, last_step + 1)
                                           if s in logged and "frac_reward_zero_std" in logged[s]]),
        "curve": [dict(steps=f"{s}-{min(s + window - 1, last_step)}", **window_stats(steps, s, s + window - 1))
                  for s in range(1, last_step + 1, window)],
        "train_runtime_s": summary[-1]["train_runtime"] if summary else None,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work_dir")
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--build", default=None)
    parser.add_argument("--wall-time", default=None)
    parser.add_argument("--task", default=DIGITS_TASK)
    parser.add_argument("--model", default=DIGITS_MODEL)
    opts = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    out = {
        "task": opts.task,
        "model": opts.model,
        "window_steps": opts.window,
        "measured_on": "every sampled completion (completions.jsonl), before filtering",
        "build": opts.build or f"checkout HEAD {commit} when summarized",
        "wall_time": opts.wall_time,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, one LibTorch thread",
        "runs": {},
    }
    names = RUNS + sorted(n for n in os.listdir(opts.work_dir)
                          if n not in RUNS and os.path.isfile(os.path.join(opts.work_dir, n, "completions.jsonl")))
    for name in names:
        run_dir = os.path.join(opts.work_dir, name)
        if os.path.isdir(run_dir):
            out["runs"][name] = summarize(run_dir, opts.window)
    json.dump(out, fp=__import__("sys").stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
