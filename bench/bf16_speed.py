#!/usr/bin/env python3
"""bf16 mixed precision against float32, our own DPO step (docs/torch2.md): for each preset in RUNS, trl_bench's
float32 runs (trl-host_dpo_fp32.rN.json) and its --bf16 runs (trl-host_dpo_bf16.rN.json), interleaved by
scripts/bench.sh, all on the same model and inputs; the steps of every round are pooled.

  bf16_speed.py RUNS [--out FILE]

Prints per preset: median wall and CPU seconds per step of each, the speed-up (float32 / bf16) and the largest
loss and log-prob differences of the two checked steps (bf16 keeps float32 weights, so they differ only by
the bfloat16 rounding of matmul inputs and outputs: 8-bit mantissa, about 4e-3 relative per rounding).
"""
import glob
import json
import os
import statistics
import sys


def main():
    runs = sys.argv[1]
    out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
    rows = []
    for preset in sorted(os.listdir(runs)):
        found = {name: sorted(glob.glob(os.path.join(runs, preset, f"trl-host_dpo_{name}.r*.json")))
                 for name in ("fp32", "bf16")}
        if not (found["fp32"] and found["bf16"]):
            continue
        pooled = {}
        for name, paths in found.items():
            loaded = [json.load(open(p)) for p in paths]
            pooled[name] = {"step_s": [s for r in loaded for s in r["step_s"]],
                            "step_cpu_s": [s for r in loaded for s in r["step_cpu_s"]],
                            "check": loaded[0]["check"], "torch": loaded[0]["torch"], "threads": loaded[0]["threads"],
                            "rounds": len(loaded)}
        fp32, bf16 = pooled["fp32"], pooled["bf16"]
        row = {"preset": preset, "torch": bf16["torch"], "threads": bf16["threads"], "rounds": bf16["rounds"]}
        for name, run in (("fp32", fp32), ("bf16", bf16)):
            row[name + "_step_s"] = statistics.median(run["step_s"])
            row[name + "_cpu_s"] = statistics.median(run["step_cpu_s"])
        row["speedup"] = row["fp32_step_s"] / row["bf16_step_s"]
        row["cpu_speedup"] = row["fp32_cpu_s"] / row["bf16_cpu_s"]
        row["max_loss_diff"] = max(abs(a["loss"] - b["loss"]) for a, b in zip(fp32["check"], bf16["check"]))
        row["max_logp_rel_diff"] = max(abs(x - y) / max(abs(x), abs(y), 1e-12)
                                       for a, b in zip(fp32["check"], bf16["check"])
                                       for key in ("chosen_logps", "rejected_logps") for x, y in zip(a[key], b[key]))
        rows.append(row)
    if not rows:
        sys.exit(f"bf16_speed: no preset in {runs} has both trl-host_dpo_fp32.r*.json and trl-host_dpo_bf16.r*.json")
    for r in rows:
        print(f"bf16 {r['preset']:6s} LibTorch {r['torch']}, {r['threads']} threads, {r['rounds']} rounds: float32 {r['fp32_step_s']:.3f} s/step "
              f"(CPU {r['fp32_cpu_s']:.3f}), bf16 {r['bf16_step_s']:.3f} s/step (CPU {r['bf16_cpu_s']:.3f}): "
              f"{r['speedup']:.2f}x wall, {r['cpu_speedup']:.2f}x CPU; loss diff {r['max_loss_diff']:.2e}, "
              f"log-prob rel diff {r['max_logp_rel_diff']:.2e}")
    if out:
        with open(out, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
