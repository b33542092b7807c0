#!/usr/bin/env python3
"""Draws the GFPO purpose study (bench/gfpo_purpose/run.sh) as one SVG: mean completion length (top) and mean
reward (bottom) per training step, for each run, measured on every sampled completion (completions.jsonl,
before GFPO's filter). Thin lines: one seed each; thick line: the mean over the seeds. Every curve is a
trailing moving average over --smooth steps (the raw per-step values are in the runs' completions.jsonl).

Usage: plot.py WORK_DIR --seeds 1 2 3 [--runs grpo gfpo_length ...] [--smooth 5] --out length.svg
  WORK_DIR holds seed<N>/<run>/completions.jsonl; a run trained for none of the seeds is left out (named on
  stderr). Standard library only.
"""
import argparse
import json
import os
import sys

COLORS = {"grpo": "#d62728", "gfpo_length": "#1f77b4", "gfpo_token_efficiency": "#2ca02c"}
EXTRA = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
W, PANEL_H, LEFT, RIGHT, TOP, GAP, BOTTOM = 760, 250, 64, 190, 36, 56, 44


def per_step(path, key):
    steps = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                value = row[key] if row[key] is not None else 0.0
                steps.setdefault(row["step"], []).append(float(value))
    return [sum(steps[s]) / len(steps[s]) for s in sorted(steps)]


def smooth(values, k):
    return [sum(values[max(0, i - k + 1):i + 1]) / len(values[max(0, i - k + 1):i + 1]) for i in range(len(values))]


def polyline(values, x_of, y_of, color, width, opacity):
    points = " ".join(f"{x_of(i + 1):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
    return (f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="{width}" '
            f'stroke-opacity="{opacity}"/>')


def panel(out, top, title, series, y_max, steps, y_ticks):
    plot_w = W - LEFT - RIGHT
    x_of = lambda s: LEFT + (s - 1) / max(steps - 1, 1) * plot_w
    y_of = lambda v: top + PANEL_H - v / y_max * PANEL_H
    out.append(f'<text x="{LEFT}" y="{top - 10}" font-weight="bold">{title}</text>')
    out.append(f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#888"/>')
    for t in y_ticks:
        y = y_of(t)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    for s in range(0, steps + 1, 20):
        x = x_of(max(s, 1))
        out.append(f'<text x="{x:.1f}" y="{top + PANEL_H + 16}" text-anchor="middle">{max(s, 1)}</text>')
    for color, per_seed, mean in series:
        for values in per_seed:
            out.append(polyline(values, x_of, y_of, color, 1, 0.35))
        out.append(polyline(mean, x_of, y_of, color, 2.5, 1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work_dir")
    parser.add_argument("--seeds", nargs="+", required=True)
    parser.add_argument("--runs", nargs="+", default=["grpo", "gfpo_length", "gfpo_token_efficiency"])
    parser.add_argument("--smooth", type=int, default=5)
    parser.add_argument("--out", required=True)
    opts = parser.parse_args()
    data = {}
    path_of = lambda run, seed: os.path.join(opts.work_dir, f"seed{seed}", run, "completions.jsonl")
    # A run trained for no seed is left out (named on stderr); one trained for some seeds only is an error.
    skipped = [r for r in opts.runs if not any(os.path.isfile(path_of(r, s)) for s in opts.seeds)]
    if skipped:
        print(f"plot.py: not drawn (not trained in {opts.work_dir}): {' '.join(skipped)}", file=sys.stderr)
    opts.runs = [r for r in opts.runs if r not in skipped]
    if not opts.runs:
        sys.exit(f"plot.py: none of the runs has a completions.jsonl under {opts.work_dir}/seed<N>/")
    for run in opts.runs:
        for seed in opts.seeds:
            path = path_of(run, seed)
            if not os.path.isfile(path):
                sys.exit(f"plot.py: {path} is missing (run bench/gfpo_purpose/run.sh with SEEDS including {seed})")
            data[run, seed] = (per_step(path, "length"), per_step(path, "reward"))
    steps = min(len(v[0]) for v in data.values())
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{TOP + 2 * PANEL_H + GAP + BOTTOM}" '
           f'font-family="sans-serif" font-size="12">', '<rect width="100%" height="100%" fill="white"/>']
    lengths, rewards = [], []
    for k, run in enumerate(opts.runs):
        color = COLORS.get(run, EXTRA[k % len(EXTRA)])
        for target, index in ((lengths, 0), (rewards, 1)):
            per_seed = [smooth(data[run, s][index][:steps], opts.smooth) for s in opts.seeds]
            mean = [sum(v[i] for v in per_seed) / len(per_seed) for i in range(steps)]
            target.append((color, per_seed, mean))
    y_max = max(max(m) for _, p, m in lengths for m in p + [m])
    y_max = max(10.0, 10.0 * int(y_max / 10.0 + 1))
    seeds = ", ".join(opts.seeds)
    panel(svg, TOP, f"mean completion length (tokens), every sampled completion; seeds {seeds}", lengths, y_max,
          steps, [t for t in range(0, int(y_max) + 1, 10)])
    panel(svg, TOP + PANEL_H + GAP, "mean reward (share of replies with a digit)", rewards, 1.0, steps,
          [0, 0.25, 0.5, 0.75, 1.0])
    svg.append(f'<text x="{LEFT + (W - LEFT - RIGHT) / 2:.0f}" y="{TOP + 2 * PANEL_H + GAP + 36}" '
               f'text-anchor="middle">training step ({opts.smooth}-step moving average; thin: one seed, '
               f'thick: mean of the seeds)</text>')
    for k, run in enumerate(opts.runs):
        color = COLORS.get(run, EXTRA[k % len(EXTRA)])
        y = TOP + 20 + 22 * k
        svg.append(f'<line x1="{W - RIGHT + 14}" y1="{y}" x2="{W - RIGHT + 38}" y2="{y}" stroke="{color}" '
                   f'stroke-width="2.5"/>')
        svg.append(f'<text x="{W - RIGHT + 44}" y="{y + 4}">{run}</text>')
    svg.append("</svg>")
    with open(opts.out, "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
