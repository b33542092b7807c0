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
    print(f"Per run, seeds {', '.join(map(str, seeds))}: first -> last {results[seeds[0]][runs[0]]['steps']} steps' "
          "window (each seed; mean)\n")
    print("| run | G | R | mean length | mean reward | truncated share | length at reward 0.9 (step) "
          "| rows trained: length gap up-down, steps 1-30 | groups with no signal, last window |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        rs = [results[s][run] for s in seeds]
        first_len = [r["first_window"]["length"] for r in rs]
        last_len = [r["last_window"]["length"] for r in rs]
        first_rew = [r["first_window"]["reward"] for r in rs]
        last_rew = [r["last_window"]["reward"] for r in rs]
        trunc = [r["last_window"]["truncated"] for r in rs]
        at = [r["at_reward"]["0.9"] for r in rs]
        gaps = [mean([c["advantage_length_gap"] for c in r["curve"][:3] if c["advantage_length_gap"] is not None])
                for r in rs]
        zero = [r["frac_reward_zero_std_last"] for r in rs]
        cell = lambda f, l, d: " / ".join(f"{a:.{d}f}→{b:.{d}f}" for a, b in zip(f, l)) + \
            f" ({mean(f):.{d}f}→{mean(l):.{d}f})"
        at_cell = " / ".join("never" if a is None else f"{a['length']:.1f} ({a['step']})" for a in at)
        print(f"| `{run}` | {rs[0]['num_generations']} | {rs[0]['num_remains_in_group'] or '-'} "
              f"| {cell(first_len, last_len, 1)} | {cell(first_rew, last_rew, 2)} "
              f"| {' / '.join(fmt(t, 2) for t in trunc)} | {at_cell} "
              f"| {' / '.join(fmt(g) for g in gaps)} | {' / '.join(fmt(z, 2) for z in zero)} |")


if __name__ == "__main__":
    main()
