#!/usr/bin/env python3
"""Combines the per-workload JSON files of trl_bench and the PyTorch-eager peer into bench/results.json
and a printed table, after checking that both computed the same numbers (equal work).

  compare.py --runs DIR --out FILE      DIR/<preset>/{trl-host,pytorch-eager}_<workload>.json, DIR/sgemm_*.json

Checks (fail loudly, exit 1): DPO losses of the first two steps agree to 1e-4 (absolute) and the policy's
chosen/rejected log-probs to 1e-4 relative; GRPO loss, mean log-prob and mean entropy on fixed completions
to 1e-4 and the gradient norm to 1e-3 relative; generation: the prefill's last-position logsumexp to 1e-4.
"cpu ratio" = the peer's median CPU seconds per step / ours (both processes' CPU time, all threads): on a
machine shared with other jobs the wall clock also counts time spent waiting for a core.
MFU = 6 x params x tokens / step time / sgemm peak (the policy's forward + backward only; the reference
forward's 2 x params x tokens is not counted), with the higher of the two measured sgemm rates as peak.
"MFU (CPU time)" is the same count per CPU-second of one thread (median CPU seconds per step / threads)
against the sgemm rate per CPU-second (its CPU seconds / threads): what the process does with the core
time it gets, which a machine shared with other jobs disturbs far less than the wall clock.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

WORKLOADS = ("dpo", "grpo", "generate")
IMPLS = ("trl-host", "pytorch-eager")


def close(a, b, atol=0.0, rtol=0.0):
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def check_workload(workload, ours, peer):
    """A list of failure messages (empty = equal work)."""
    failures = []
    if len(ours) != len(peer) or not ours:
        return [f"{workload}: {len(ours)} checked steps vs {len(peer)} in the peer"]
    for step, (a, b) in enumerate(zip(ours, peer)):
        def expect(key, atol=0.0, rtol=0.0):
            xs, ys = a[key], b[key]
            xs = xs if isinstance(xs, list) else [xs]
            ys = ys if isinstance(ys, list) else [ys]
            for i, (x, y) in enumerate(zip(xs, ys)):
                if not close(x, y, atol, rtol):
                    failures.append(f"{workload} step {step + 1}: {key}[{i}] trl-host {x!r} vs pytorch-eager {y!r}"
                                    f" (tolerance atol {atol}, rtol {rtol})")
        if workload == "dpo":
            expect("loss", atol=1e-4)
            expect("chosen_logps", rtol=1e-4)
            expect("rejected_logps", rtol=1e-4)
        elif workload == "grpo":
            expect("loss", atol=1e-4)
            expect("mean_logp", atol=1e-4)
            expect("mean_entropy", atol=1e-4)
            expect("grad_norm", rtol=1e-3)
        else:
            expect("prefill_lse", atol=1e-4)
    return failures


def machine():
    info = {"python": platform.python_version()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Core(s) per socket", "Thread(s) per core", "Socket(s)"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


def main():
    parser = argparse.ArgumentParser(description="trl-host vs PyTorch eager: results table")
    parser.add_argument("--runs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", default="make bench")
    a = parser.parse_args()

    def load(path):
        with open(path) as f:
            return json.load(f)

    sgemm = {impl: load(os.path.join(a.runs, f"sgemm_{impl}.json")) for impl in IMPLS}
    gflops = {impl: 2 * 1024 ** 3 / statistics.median(r["step_s"]) / 1e9 for impl, r in sgemm.items()}
    peak = max(gflops.values()) * 1e9
    # The sgemm's rate per second of one thread's CPU time, times the threads: its rate on cores it owns.
    gflops_cpu = {impl: 2 * 1024 ** 3 / (statistics.median(r["step_cpu_s"]) / r["threads"]) / 1e9
                  for impl, r in sgemm.items() if r.get("step_cpu_s")}
    peak_cpu = max(gflops_cpu.values(), default=0.0) * 1e9

    rows, failures = [], []
    presets = sorted(d for d in os.listdir(a.runs) if os.path.isdir(os.path.join(a.runs, d)))
    order = {"tiny": 0, "small": 1, "large": 2}
    presets.sort(key=lambda p: order.get(p, 9))
    for preset in presets:
        for workload in WORKLOADS:
            paths = {impl: os.path.join(a.runs, preset, f"{impl}_{workload}.json") for impl in IMPLS}
            if not all(os.path.exists(p) for p in paths.values()):
                continue
            r = {impl: load(p) for impl, p in paths.items()}
            failures += [f"{preset} {m}" for m in check_workload(workload, r["trl-host"]["check"], r["pytorch-eager"]["check"])]
            row = {"preset": preset, "workload": workload, "params": r["trl-host"]["params"],
                   "tokens_per_step": r["trl-host"]["tokens_per_step"], "threads": r["trl-host"]["threads"]}
            for impl in IMPLS:
                median = statistics.median(r[impl]["step_s"])
                key = "trl" if impl == "trl-host" else "peer"
                row[f"{key}_step_s"] = r[impl]["step_s"]
                row[f"{key}_median_s"] = median
                row[f"{key}_step_cpu_s"] = r[impl]["step_cpu_s"]
                row[f"{key}_median_cpu_s"] = statistics.median(r[impl]["step_cpu_s"])
                row[f"{key}_tokens_per_s"] = r[impl]["tokens_per_step"] / median
                row[f"{key}_peak_rss_mb"] = r[impl]["peak_rss_mb"]
                if workload == "dpo":
                    row[f"{key}_mfu"] = 6 * r[impl]["params"] * r[impl]["tokens_per_step"] / median / peak
                    if peak_cpu > 0:
                        thread_s = row[f"{key}_median_cpu_s"] / r[impl]["threads"]
                        row[f"{key}_mfu_cpu"] = 6 * r[impl]["params"] * r[impl]["tokens_per_step"] / thread_s / peak_cpu
            row["speedup"] = row["trl_tokens_per_s"] / row["peer_tokens_per_s"]
            # CPU seconds per step: on a shared, overloaded machine the wall clock also counts waiting.
            row["speedup_cpu"] = row["peer_median_cpu_s"] / row["trl_median_cpu_s"]
            row["rss_ratio"] = row["trl_peak_rss_mb"] / row["peer_peak_rss_mb"]
            row["check"] = {"trl-host": r["trl-host"]["check"], "pytorch-eager": r["pytorch-eager"]["check"]}
            rows.append(row)

    results = {"machine": machine(), "command": a.command, "torch": sgemm["trl-host"].get("torch"),
               "sgemm_gflops": gflops, "sgemm_gflops_cpu_time": gflops_cpu, "mfu_flops": "6 x params x tokens (policy forward + backward; the reference "
                                                   "forward is not counted)",
               "rows": rows, "equal_work": not failures, "failures": failures}
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)

    print(f"sgemm 1024^3: trl-host {gflops['trl-host']:.1f} GFLOP/s, pytorch-eager {gflops['pytorch-eager']:.1f} GFLOP/s"
          + "".join(f"; per CPU time {impl} {g:.1f}" for impl, g in gflops_cpu.items()))
    header = f"{'preset':7} {'workload':9} {'trl tok/s':>10} {'eager tok/s':>11} {'ratio':>6} {'cpu ratio':>9} " \
             f"{'trl RSS MB':>10} {'eager RSS MB':>12} {'RSS ratio':>9} {'trl MFU':>8} {'eager MFU':>9} {'MFU cpu':>8} {'eager cpu':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        mfu = (f"{100 * row['trl_mfu']:7.1f}% {100 * row['peer_mfu']:8.1f}%" if "trl_mfu" in row else f"{'':8} {'':9}")
        if "trl_mfu_cpu" in row:
            mfu += f" {100 * row['trl_mfu_cpu']:7.1f}% {100 * row['peer_mfu_cpu']:8.1f}%"
        print(f"{row['preset']:7} {row['workload']:9} {row['trl_tokens_per_s']:10.1f} {row['peer_tokens_per_s']:11.1f} "
              f"{row['speedup']:5.2f}x {row['speedup_cpu']:8.2f}x {row['trl_peak_rss_mb']:10.0f} {row['peer_peak_rss_mb']:12.0f} "
              f"{row['rss_ratio']:8.2f}x {mfu}")
    print(f"results: {a.out}")
    if failures:
        print("EQUAL-WORK CHECK FAILED: trl-host and the PyTorch-eager peer computed different numbers:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("equal-work check passed (first-step losses agree to 1e-4)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
