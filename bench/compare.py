#!/usr/bin/env python3
"""Combines the per-workload JSON files of trl_bench and its peers into bench/results.json and a printed
table, after checking that every peer computed the same numbers as trl-host (equal work).

  compare.py --runs DIR --out FILE

DIR/<preset>/<impl>_<workload>.r<K>.json (round K of an interleaved run; the steps of every round are pooled,
the first round's checks are compared) and DIR/sgemm/<impl>.r<K>.json (the sgemm runs spread over the bench).
impl: trl-host, pytorch-tuned (bench/reference/tuned.py), trl (real TRL, bench/reference/trl_peer.py: dpo and
grpo only), pytorch-eager (bench/reference/peer.py), pytorch-compiled (tuned.py --compile: the tuned dpo step under
torch.compile; dpo and dpo-bf16 only).

Checks (fail loudly, exit 1), each peer against trl-host:
  dpo       losses of the first two steps to 1e-4 (absolute); chosen/rejected log-probs to 1e-4 relative
            where the peer reports them; grad norms of the first two steps to 1e-3 relative (real TRL: the
            first step's to 2e-3, bench/README.md)
  dpo-bf16  the dpo step under bf16 autocast on every side (trl_bench, tuned.py and trl_peer.py --bf16): the
            same values at bfloat16's precision, losses to 1e-3, log-probs to 5e-4 relative, grad norms to 5e-3
            relative (TRL: the first step's); every side must report bf16, and TRL no gradient checkpointing
  grpo      on the inputs file's fixed completions before any update: loss, mean log-prob, mean entropy to
            1e-4, gradient norm to 1e-3 relative
  generate  the prefill's last-position logsumexp per row to 1e-4, and the first four sampled tokens of
            every row identical
floor: DIR/<preset>/gemm-floor_<workload>.r<K>.json (bench/reference/gemm_floor.py, run in the same rounds):
the workload's matrix products alone; each row gets its median and, per peer, reachable_vs_<peer> = the peer's
median / the floor, the largest speed-up over that peer any implementation of the same products can show.
sgemm peak: per implementation the median GFLOP/s over every sgemm run; the peak is the higher median.
MFU = FLOPs / median step seconds / peak, with FLOPs either 6 x params x tokens (the policy's forward and
backward over every token) or the FLOPs the implementation executes (executed_dpo_flops below).
"""
import argparse
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

WORKLOADS = ("dpo", "dpo-bf16", "grpo", "generate")
DPO = ("dpo", "dpo-bf16")  # the same step and products, in float32 and under bf16 autocast
IMPLS = ("trl-host", "pytorch-tuned", "trl", "pytorch-eager", "pytorch-compiled")
PEERS = IMPLS[1:]
KEY = {"trl-host": "trl_host", "pytorch-tuned": "tuned", "trl": "trl", "pytorch-eager": "eager",
       "pytorch-compiled": "compiled"}
# The tuned step, eager or compiled: trl-host's algorithm (the same executed FLOPs) and process settings
# (scripts/bench.sh gives it trl_bench's OpenMP wait policy and glibc thresholds).
TUNED_STEPS = ("pytorch-tuned", "pytorch-compiled")


def close(a, b, atol=0.0, rtol=0.0):
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def check_workload(workload, peer, ours, theirs):
    """A list of failure messages (empty = equal work)."""
    failures = []
    if not ours or not theirs or (workload != "grpo" and len(ours) != len(theirs)):
        return [f"{workload}: {len(ours)} checked steps in trl-host vs {len(theirs)} in {peer}"]
    for step, (a, b) in enumerate(zip(ours, theirs)):
        def expect(key, atol=0.0, rtol=0.0):
            if key not in b:
                return
            xs, ys = a[key], b[key]
            xs = xs if isinstance(xs, list) else [xs]
            ys = ys if isinstance(ys, list) else [ys]
            if len(xs) != len(ys):
                failures.append(f"{workload} step {step + 1}: {key} has {len(xs)} values vs {len(ys)} in {peer}")
            for i, (x, y) in enumerate(zip(xs, ys)):
                if x != y if atol == rtol == 0.0 else not close(x, y, atol, rtol):
                    failures.append(f"{workload} step {step + 1}: {key}[{i}] trl-host {x!r} vs {peer} {y!r}"
                                    f" (tolerance atol {atol}, rtol {rtol})")
        if workload == "dpo":
            expect("loss", atol=1e-4)
            expect("chosen_logps", rtol=1e-4)
            expect("rejected_logps", rtol=1e-4)
            if peer != "trl":
                expect("grad_norm", rtol=1e-3)
            elif step == 0:  # bench/README.md: TRL's logged norm is 0.1% off, and its second step follows its own update
                expect("grad_norm", rtol=2e-3)
        elif workload == "dpo-bf16":  # bfloat16 products on every side, each rounding in its own order
            expect("loss", atol=1e-3)
            expect("chosen_logps", rtol=5e-4)
            expect("rejected_logps", rtol=5e-4)
            if peer != "trl" or step == 0:
                expect("grad_norm", rtol=5e-3)
        elif workload == "grpo":
            expect("loss", atol=1e-4)
            expect("mean_logp", atol=1e-4)
            expect("mean_entropy", atol=1e-4)
            expect("grad_norm", rtol=1e-3)
        else:
            expect("prefill_lse", atol=1e-4)
            if "first_tokens" in a:
                expect("first_tokens")
    return failures


def check_precision(workload, impl, result):
    """Failure messages when a side of a dpo-bf16 row did not run bf16 (or TRL recomputed its activations), or a
    side other than TRL ran the float32 rows in bf16 (TRL runs them with its defaults, recorded in the row)."""
    bf16 = result.get("bf16")
    if workload == "dpo-bf16":
        failures = [] if bf16 is True else [f"{workload}: {impl} did not run under bf16 autocast (bf16: {bf16})"]
        if impl == "trl" and result.get("gradient_checkpointing") is not False:
            failures.append(f"{workload}: trl ran with gradient checkpointing "
                            f"({result.get('gradient_checkpointing')}), the other sides keep their activations")
        return failures
    if impl != "trl" and bf16:
        return [f"{workload}: {impl} ran under bf16 autocast, the row is float32"]
    return []


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


def load(path):
    with open(path) as f:
        return json.load(f)


def pooled(paths):
    """The rounds of one implementation's workload as one result: steps pooled, the first round's checks."""
    rounds = [load(p) for p in sorted(paths, key=lambda p: int(re.search(r"\.r(\d+)\.json$", p).group(1)))]
    out = dict(rounds[0])
    out["step_s"] = [s for r in rounds for s in r["step_s"]]
    out["step_cpu_s"] = [s for r in rounds for s in r["step_cpu_s"]]
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    out["rounds"] = len(rounds)
    return out


def dpo_attention_flops(config, pairs, prompt, completion):
    """Attention FLOPs of one forward of the DPO batch: 4 * nq * d per (query, key) pair (QK^T and PV), causal:
    the prompt's triangle once, each completion row over its prompt plus its own triangle."""
    nq = config["num_attention_heads"]
    d = config.get("head_dim") or config["hidden_size"] // nq
    pairs_qk = pairs * prompt * (prompt + 1) / 2 + 2 * pairs * (completion * prompt + completion * (completion + 1) / 2)
    return config["num_hidden_layers"] * 4 * nq * d * pairs_qk


def executed_dpo_flops(config, pairs, prompt, completion, impl):
    """FLOPs one DPO step executes in trl-host or the tuned peer: each prompt once (policy and reference),
    the lm_head at the completion positions only, the reference forward, attention over the causal triangle
    (scores and values). Both keep the completion positions' probabilities for the backward pass (trl-host:
    token_stats' keep_probabilities_mb, 131 MB here), so the lm_head is one forward and two backward
    products on either side."""
    H, I, V = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    nq, nkv = config["num_attention_heads"], config["num_key_value_heads"]
    d = config.get("head_dim") or H // nq
    layers = config["num_hidden_layers"]
    weights = layers * (2 * H * nq * d + 2 * H * nkv * d + 3 * H * I)     # matmul weights of the layers
    tokens = pairs * prompt + 2 * pairs * completion                       # through the layers
    labelled = 2 * pairs * completion
    # attention: 4 * nq * d FLOPs per (query, key) pair (QK^T and PV), causal: the prompt's triangle once,
    # each completion row over its prompt plus its own triangle
    attention = dpo_attention_flops(config, pairs, prompt, completion)
    forward = 2 * weights * tokens + attention
    head = 2 * H * V * labelled
    policy = 3 * forward + 3 * head
    return policy + forward + head


def main():
    parser = argparse.ArgumentParser(description="trl-host vs its peers: results table")
    parser.add_argument("--runs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--command", default="make bench")
    parser.add_argument("--load", default="", help="uptime's load averages during the run, recorded as given")
    a = parser.parse_args()

    sgemm_runs = {}
    for path in glob.glob(os.path.join(a.runs, "sgemm", "*.r*.json")):
        impl = os.path.basename(path).split(".r")[0]
        r = load(path)
        sgemm_runs.setdefault(impl, []).append(2 * 1024 ** 3 / statistics.median(r["step_s"]) / 1e9)
    if "trl-host" not in sgemm_runs:
        print(f"compare: no trl-host sgemm run under {a.runs}/sgemm", file=sys.stderr)
        return 1
    gflops = {impl: statistics.median(v) for impl, v in sgemm_runs.items()}
    peak = max(gflops.values()) * 1e9

    rows, failures = [], []
    order = {"tiny": 0, "small": 1, "large": 2}
    presets = sorted((d for d in os.listdir(a.runs) if os.path.isdir(os.path.join(a.runs, d)) and d != "sgemm"),
                     key=lambda p: order.get(p, 9))
    for preset in presets:
        config_path = os.path.join(a.runs, preset, "config.json")
        config = load(config_path) if os.path.exists(config_path) else None
        for workload in WORKLOADS:
            r = {}
            for impl in IMPLS:
                paths = glob.glob(os.path.join(a.runs, preset, f"{impl}_{workload}.r*.json"))
                if paths:
                    r[impl] = pooled(paths)
            if "trl-host" not in r or len(r) < 2:
                continue
            ours = r["trl-host"]
            if workload in DPO:  # the batch's shape: pairs of prompt + completion, half the sequence each
                pairs = len(ours["check"][0]["chosen_logps"])
                seq = ours["tokens_per_step"] // (2 * pairs)
                prompt, completion = seq // 2, seq - seq // 2
            row = {"preset": preset, "workload": workload, "params": ours["params"],
                   "tokens_per_step": ours["tokens_per_step"], "threads": ours["threads"], "impls": list(r),
                   "omp_wait_policy": ours.get("omp_wait_policy", "unset"),
                   "gomp_spincount": ours.get("gomp_spincount", "unset")}
            for impl, res in r.items():
                failures += [f"{preset} {m}" for m in check_precision(workload, impl, res)]
                if impl == "trl":  # what TRL's step ran with: its defaults are bf16 + gradient checkpointing
                    row["trl_bf16"] = res.get("bf16")
                    row["trl_gradient_checkpointing"] = res.get("gradient_checkpointing")
                if impl != "trl-host":
                    failures += [f"{preset} {m}" for m in check_workload(workload, impl, ours["check"], res["check"])]
                    if impl in TUNED_STEPS:
                        for key in ("omp_wait_policy", "gomp_spincount"):
                            if res.get(key, "unset") != ours.get(key, "unset"):
                                failures.append(f"{preset} {workload}: {impl} ran with {key} {res.get(key, 'unset')}, "
                                                f"trl-host with {ours.get(key, 'unset')}")
                    if res["tokens_per_step"] != ours["tokens_per_step"]:
                        failures.append(f"{preset} {workload}: {impl} counts {res['tokens_per_step']} tokens per step, "
                                        f"trl-host {ours['tokens_per_step']}")
                k = KEY[impl]
                median = statistics.median(res["step_s"])
                row[f"{k}_step_s"] = res["step_s"]
                row[f"{k}_median_s"] = median
                row[f"{k}_step_cpu_s"] = res["step_cpu_s"]
                row[f"{k}_median_cpu_s"] = statistics.median(res["step_cpu_s"])
                row[f"{k}_tokens_per_s"] = ours["tokens_per_step"] / median
                row[f"{k}_peak_rss_mb"] = res["peak_rss_mb"]
                row[f"{k}_torch"] = res.get("torch")
                row[f"{k}_check"] = res["check"]
                if workload == "dpo":
                    row[f"{k}_mfu_6nt"] = 6 * ours["params"] * ours["tokens_per_step"] / median / peak
                    if config is not None and impl in ("trl-host",) + TUNED_STEPS:
                        flops = executed_dpo_flops(config, pairs, prompt, completion, impl)
                        row[f"{k}_executed_flops"] = flops
                        row[f"{k}_mfu_executed"] = flops / median / peak
                if impl != "trl-host":
                    row[f"speedup_vs_{k}"] = median / row["trl_host_median_s"]
                    row[f"cpu_speedup_vs_{k}"] = row[f"{k}_median_cpu_s"] / row["trl_host_median_cpu_s"]
                    row[f"rss_ratio_vs_{k}"] = row["trl_host_peak_rss_mb"] / res["peak_rss_mb"]
            floor_paths = glob.glob(os.path.join(a.runs, preset, f"gemm-floor_{workload}.r*.json"))
            if floor_paths:  # the workload's matrix products alone (reference/gemm_floor.py), same rounds
                floor = pooled(floor_paths)
                row["floor_step_s"] = floor["step_s"]
                row["floor_median_s"] = statistics.median(floor["step_s"])
                row["floor_parts_s"] = {k: statistics.median(load(p)["parts_s"][k] for p in floor_paths)
                                        for k in floor["parts_s"]}
                row["trl_host_over_floor"] = row["trl_host_median_s"] / row["floor_median_s"]
                if floor.get("bf16", False) != (workload == "dpo-bf16"):
                    failures.append(f"{preset} {workload}: the floor's products ran in "
                                    f"{'bfloat16' if floor.get('bf16') else 'float32'}")
                if workload in DPO and config is not None and "flops_per_step" in floor:
                    # The floor times the step's products and nothing else: the executed FLOPs less attention
                    # (three times in the policy's forward and backward, once in the reference's).
                    want = (executed_dpo_flops(config, pairs, prompt, completion, "trl-host") -
                            4 * dpo_attention_flops(config, pairs, prompt, completion))
                    if not close(floor["flops_per_step"], want, rtol=1e-9):
                        failures.append(f"{preset} dpo: the floor times {floor['flops_per_step']:.6g} FLOPs, the "
                                        f"step's products are {want:.6g}")
                for impl in r:
                    if impl != "trl-host":  # the largest ratio any implementation of these products could show
                        row[f"reachable_vs_{KEY[impl]}"] = row[f"{KEY[impl]}_median_s"] / row["floor_median_s"]
            rows.append(row)

    results = {"machine": machine(), "command": a.command, "load": a.load,
               "torch": {impl: (load(glob.glob(os.path.join(a.runs, "sgemm", f"{impl}.r*.json"))[0]).get("torch"))
                         for impl in sgemm_runs},
               "sgemm_gflops": gflops, "sgemm_gflops_runs": sgemm_runs, "peak_gflops": peak / 1e9,
               "mfu_flops": {"6nt": "6 x params x tokens (the policy's forward + backward over every token)",
                             "executed": "compare.py executed_dpo_flops: shared prompts, lm_head at completions, "
                                         "reference forward, causal attention (the same count for trl-host and "
                                         "the tuned peer)"},
               "rows": rows, "equal_work": not failures, "failures": failures}
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)

    print("sgemm 1024^3, median GFLOP/s over the runs: " + ", ".join(
        f"{impl} {g:.1f} ({len(sgemm_runs[impl])} runs)" for impl, g in gflops.items()) + f"; peak {peak / 1e9:.1f}")
    header = (f"{'preset':7} {'workload':9} {'trl-host s':>10} " + " ".join(f"{p + ' s':>16}" for p in PEERS) +
              f" {'vs tuned':>8} {'vs trl':>7} {'vs eager':>8} {'vs compiled':>11} {'RSS/tuned':>9} {'MFU 6NT':>7}"
              f" {'MFU exec':>8}")
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = " ".join(f"{row[KEY[p] + '_median_s']:16.3f}" if f"{KEY[p]}_median_s" in row else f"{'-':>16}"
                         for p in PEERS)
        ratios = " ".join(f"{row['speedup_vs_' + k]:{w - 1}.2f}x" if f"speedup_vs_{k}" in row else f"{'-':>{w}}"
                          for k, w in (("tuned", 8), ("trl", 7), ("eager", 8), ("compiled", 11)))
        rss = f"{row['rss_ratio_vs_tuned']:8.2f}x" if "rss_ratio_vs_tuned" in row else f"{'-':>9}"
        mfu = (f" {100 * row['trl_host_mfu_6nt']:6.1f}% {100 * row.get('trl_host_mfu_executed', 0):7.1f}%"
               if "trl_host_mfu_6nt" in row else "")
        print(f"{row['preset']:7} {row['workload']:9} {row['trl_host_median_s']:10.3f} {cells} {ratios} {rss}{mfu}")
    for row in rows:
        if row.get("trl_bf16") is not None:  # TRL's defaults are bf16 + gradient checkpointing (trl_peer.py)
            precision = "under bf16 autocast" if row["trl_bf16"] else "in float32"
            checkpointing = "with" if row["trl_gradient_checkpointing"] else "without"
            print(f"{row['preset']} {row['workload']}: the TRL step ran {precision}, "
                  f"{checkpointing} gradient checkpointing")
    floors = [row for row in rows if "floor_median_s" in row]
    if floors:
        print("\nfloor: the workload's matrix products alone (bench/reference/gemm_floor.py, same rounds); "
              "reachable = the peer's time / the floor, the most any implementation of those products can show")
        print(f"{'preset':7} {'workload':9} {'floor s':>8} {'trl-host/floor':>14} {'reachable vs tuned':>18} "
              f"{'vs trl':>7} {'vs eager':>8} {'vs compiled':>11}")
        for row in floors:
            cells = " ".join(f"{row['reachable_vs_' + k]:{w - 1}.2f}x" if f"reachable_vs_{k}" in row else f"{'-':>{w}}"
                             for k, w in (("tuned", 18), ("trl", 7), ("eager", 8), ("compiled", 11)))
            print(f"{row['preset']:7} {row['workload']:9} {row['floor_median_s']:8.3f} "
                  f"{row['trl_host_over_floor']:13.2f}x {cells}")
    print(f"results: {a.out}")
    if failures:
        print("EQUAL-WORK CHECK FAILED: a peer computed different numbers than trl-host:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("equal-work check passed for every peer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
