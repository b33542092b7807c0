#!/usr/bin/env python3
"""Prints the Markdown tables of docs/gfpo.md ("Results") from the committed results_seed<N>.json files of
bench/gfpo_purpose/run.sh, so every number in the docs can be traced to them.

Usage: table.py [RESULTS_DIR]   (default: this folder; steps200/ holds the 200-step runs)
"""
import glob
import json
import os
import re
import sys


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    results = {}
    for path in sorted(glob.glob(os.path.join(folder, "results_seed*.json"))):
        seed = int(re.search(r"results_seed(\d+)\.json$", path).group(1))
        results[seed] = json.load(open(path, encoding="utf-8"))["runs"]
    seeds = sorted(results)
    runs = [r for r in results[seeds[0]] if all(r in results[s] for s in seeds)]
    mean = lambda v: sum(v) / len(v)
    per_seed = lambda v, d: " / ".join(f"{x:.{d}f}" for x in v)
    steps = results[seeds[0]][runs[0]]["steps"]
    print(f"Seeds {', '.join(map(str, seeds))}, {steps} steps; per seed, then (the mean of the seeds)\n")
    print("| run | mean length, last 10 steps (seeds' mean: first → last 10) | mean reward, likewise "
          "| truncated, last 10 | length at reward 0.9 (step) |")
    print("|---|---|---|---|---|")
    for run in runs:
        rs = [results[s][run] for s in seeds]
        first_len = [r["first_window"]["length"] for r in rs]
        last_len = [r["last_window"]["length"] for r in rs]
        first_rew = [r["first_window"]["reward"] for r in rs]
        last_rew = [r["last_window"]["reward"] for r in rs]
        at = [r["at_reward"]["0.9"] for r in rs]
        at_cell = " / ".join("never" if a is None else f"{a['length']:.1f} ({a['step']})" for a in at)
        print(f"| `{run}` | {per_seed(last_len, 1)} ({mean(first_len):.1f} → **{mean(last_len):.1f}**) "
              f"| {per_seed(last_rew, 2)} ({mean(first_rew):.2f} → **{mean(last_rew):.2f}**) "
              f"| {per_seed([r['last_window']['truncated'] for r in rs], 2)} | {at_cell} |")
    print("\n| run | advantage_length_gap, steps 1-30 | frac_reward_zero_std, last 10 |")
    print("|---|---|---|")
    for run in runs:
        rs = [results[s][run] for s in seeds]
        gaps = [mean([c["advantage_length_gap"] for c in r["curve"][:3] if c["advantage_length_gap"] is not None])
                for r in rs]
        print(f"| `{run}` | {' / '.join(fmt(g) for g in gaps)} "
              f"| {' / '.join(fmt(r['frac_reward_zero_std_last'], 2) for r in rs)} |")


if __name__ == "__main__":
    main()
