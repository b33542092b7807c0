#!/usr/bin/env python3
"""bench/compare.py on made-up run files: the floor's median, trl-host's distance to it and the reachable
ratio per peer; the DPO floor's FLOPs checked against the step's products (a floor that times other products
fails make bench); a peer with other numbers fails the equal-work check; a tuned peer run with another OpenMP
wait policy than trl-host fails it too; no floor files, no floor fields; the dpo-bf16 row: every side must
have run under bf16 autocast (TRL without gradient checkpointing), its floor in bfloat16, its values compared
at bfloat16's tolerances; TRL's own precision recorded in the float32 row; the torch.compile'd tuned step
(pytorch-compiled): its ratio, MFU and reachable ratio, its equal-work and wait-policy checks."""
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPARE = os.path.join(ROOT, "bench", "compare.py")
spec = importlib.util.spec_from_file_location("compare", COMPARE)
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)

CONFIG = {"hidden_size": 16, "intermediate_size": 40, "vocab_size": 100, "num_attention_heads": 4,
          "num_key_value_heads": 2, "head_dim": 4, "num_hidden_layers": 2}
PAIRS, PROMPT, COMPLETION = 2, 4, 4
CHECK = [{"loss": 0.6931, "grad_norm": 2.5, "chosen_logps": [-10.0, -11.0], "rejected_logps": [-12.0, -13.0]},
         {"loss": 0.61, "grad_norm": 1.5, "chosen_logps": [-9.0, -10.0], "rejected_logps": [-13.0, -14.0]}]


def products_flops():
    """What gemm_floor.py's DPO product list executes for CONFIG: the step's FLOPs less attention."""
    return (compare.executed_dpo_flops(CONFIG, PAIRS, PROMPT, COMPLETION, "trl-host") -
            4 * compare.dpo_attention_flops(CONFIG, PAIRS, PROMPT, COMPLETION))


def write(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f)


def run_file(impl, steps, check=CHECK):
    return {"impl": impl, "params": 1000, "tokens_per_step": 2 * PAIRS * (PROMPT + COMPLETION), "threads": 2,
            "step_s": steps, "step_cpu_s": [2 * s for s in steps], "peak_rss_mb": 100.0, "check": check,
            "torch": "x"}


class CompareFloors(unittest.TestCase):
    def make_runs(self, floor_flops=None, floor=True, tuned_check=CHECK, tuned_policy=None):
        runs = tempfile.mkdtemp(prefix="compare_test.")
        write(f"{runs}/sgemm/trl-host.r1.json", {"step_s": [0.01, 0.01], "torch": "x"})
        write(f"{runs}/small/config.json", CONFIG)
        for r, (ours, tuned) in enumerate((([1.0, 1.2], [2.0, 2.2]), ([1.1, 1.3], [2.1, 2.3])), 1):
            write(f"{runs}/small/trl-host_dpo.r{r}.json", run_file("trl-host", ours))
            write(f"{runs}/small/pytorch-tuned_dpo.r{r}.json",
                  dict(run_file("pytorch-tuned", tuned, tuned_check), **(tuned_policy or {})))
            if floor:
                write(f"{runs}/small/gemm-floor_dpo.r{r}.json", {
                    "impl": "gemm-floor", "step_s": [0.4 + 0.1 * r, 0.45 + 0.1 * r], "step_cpu_s": [1, 1],
                    "peak_rss_mb": 50.0, "check": [], "parts_s": {"policy lm_head forward": 0.1 * r},
                    "flops_per_step": products_flops() if floor_flops is None else floor_flops})
        return runs

    def make_bf16_runs(self, ours_bf16=True, tuned_bf16=True, trl=None, floor_bf16=True, tuned_check=CHECK):
        """A dpo-bf16 row (trl-host, tuned, TRL, floor) beside the float32 dpo row of make_runs()."""
        runs = self.make_runs()
        trl = {"bf16": True, "gradient_checkpointing": False} if trl is None else trl
        trl_check = [{"loss": c["loss"], "grad_norm": c["grad_norm"]} for c in CHECK]
        write(f"{runs}/small/trl_dpo.r1.json", dict(run_file("trl", [5.0]), check=trl_check, bf16=True,
                                                   gradient_checkpointing=True))
        write(f"{runs}/small/trl-host_dpo-bf16.r1.json", dict(run_file("trl-host", [0.5, 0.6]), bf16=ours_bf16))
        write(f"{runs}/small/pytorch-tuned_dpo-bf16.r1.json",
              dict(run_file("pytorch-tuned", [0.9, 1.0], tuned_check), bf16=tuned_bf16))
        write(f"{runs}/small/trl_dpo-bf16.r1.json", dict(run_file("trl", [4.0]), check=trl_check, **trl))
        write(f"{runs}/small/gemm-floor_dpo-bf16.r1.json", {
            "impl": "gemm-floor", "step_s": [0.2], "step_cpu_s": [0.4], "peak_rss_mb": 50.0, "check": [],
            "parts_s": {}, "flops_per_step": products_flops(), "bf16": floor_bf16})
        return runs

    def test_bf16_row(self):
        p, results = self.compare(self.make_bf16_runs())
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = {row["workload"]: row for row in results["rows"]}
        self.assertEqual(rows["dpo"]["trl_bf16"], True)  # TRL's defaults, recorded beside the float32 row
        self.assertEqual(rows["dpo"]["trl_gradient_checkpointing"], True)
        bf16 = rows["dpo-bf16"]
        self.assertAlmostEqual(bf16["speedup_vs_tuned"], 0.95 / 0.55)
        self.assertAlmostEqual(bf16["speedup_vs_trl"], 4.0 / 0.55)
        self.assertAlmostEqual(bf16["reachable_vs_trl"], 4.0 / 0.2)
        self.assertEqual(bf16["trl_gradient_checkpointing"], False)
        self.assertNotIn("trl_host_mfu_6nt", bf16)  # the sgemm peak is float32's

    def test_bf16_row_run_in_float32_fails(self):
        for kwargs, message in ((dict(ours_bf16=False), "trl-host did not run under bf16"),
                                (dict(tuned_bf16=False), "pytorch-tuned did not run under bf16"),
                                (dict(trl={"bf16": True, "gradient_checkpointing": True}), "gradient checkpointing"),
                                (dict(floor_bf16=False), "the floor's products ran in float32")):
            p, results = self.compare(self.make_bf16_runs(**kwargs))
            self.assertEqual(p.returncode, 1, kwargs)
            self.assertIn(message, p.stderr)
            self.assertFalse(results["equal_work"])

    def test_bf16_tolerances(self):
        within = [dict(CHECK[0], chosen_logps=[-10.004, -11.0]), dict(CHECK[1], grad_norm=1.5 * 1.004)]
        p, _ = self.compare(self.make_bf16_runs(tuned_check=within))
        self.assertEqual(p.returncode, 0, p.stderr)
        beyond = [dict(CHECK[0], chosen_logps=[-10.01, -11.0]), CHECK[1]]
        p, _ = self.compare(self.make_bf16_runs(tuned_check=beyond))
        self.assertEqual(p.returncode, 1)
        self.assertIn("dpo-bf16 step 1: chosen_logps[0]", p.stderr)

    def compare(self, runs):
        out = os.path.join(runs, "results.json")
        p = subprocess.run([sys.executable, COMPARE, "--runs", runs, "--out", out], capture_output=True, text=True)
        if not os.path.exists(out):
            return p, None
        with open(out) as f:
            return p, json.load(f)

    def test_floor_and_reachable_ratios(self):
        p, results = self.compare(self.make_runs())
        self.assertEqual(p.returncode, 0, p.stderr)
        row = results["rows"][0]
        floor = statistics.median([0.5, 0.55, 0.6, 0.65])
        self.assertAlmostEqual(row["floor_median_s"], floor)
        self.assertAlmostEqual(row["trl_host_over_floor"], statistics.median([1.0, 1.2, 1.1, 1.3]) / floor)
        self.assertAlmostEqual(row["reachable_vs_tuned"], statistics.median([2.0, 2.2, 2.1, 2.3]) / floor)
        self.assertAlmostEqual(row["floor_parts_s"]["policy lm_head forward"], 0.15)
        self.assertIn("reachable vs tuned", p.stdout)

    def test_floor_of_other_products_fails(self):
        p, results = self.compare(self.make_runs(floor_flops=products_flops() * 1.01))
        self.assertEqual(p.returncode, 1)
        self.assertIn("the floor times", p.stderr)
        self.assertFalse(results["equal_work"])

    def test_peer_with_other_numbers_fails(self):
        other = [dict(CHECK[0], loss=0.7), CHECK[1]]
        p, _ = self.compare(self.make_runs(tuned_check=other))
        self.assertEqual(p.returncode, 1)
        self.assertIn("loss", p.stderr)

    def test_tuned_peer_with_another_wait_policy_fails(self):
        p, results = self.compare(self.make_runs(tuned_policy={"omp_wait_policy": "PASSIVE"}))
        self.assertEqual(p.returncode, 1)
        self.assertIn("omp_wait_policy PASSIVE, trl-host with unset", p.stderr)
        self.assertFalse(results["equal_work"])
        p, results = self.compare(self.make_runs(tuned_policy={"omp_wait_policy": "unset", "gomp_spincount": "unset"}))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(results["rows"][0]["omp_wait_policy"], "unset")

    def add_compiled(self, runs, check=CHECK, policy=None):
        for r, steps in enumerate(([1.6, 1.8], [1.7, 1.9]), 1):
            write(f"{runs}/small/pytorch-compiled_dpo.r{r}.json",
                  dict(run_file("pytorch-compiled", steps, check), compile=True, **(policy or {})))
        return runs

    def test_compiled_peer(self):
        p, results = self.compare(self.add_compiled(self.make_runs()))
        self.assertEqual(p.returncode, 0, p.stderr)
        row = results["rows"][0]
        ours = statistics.median([1.0, 1.2, 1.1, 1.3])
        self.assertAlmostEqual(row["speedup_vs_compiled"], statistics.median([1.6, 1.8, 1.7, 1.9]) / ours)
        self.assertAlmostEqual(row["reachable_vs_compiled"], 1.75 / statistics.median([0.5, 0.55, 0.6, 0.65]))
        self.assertIn("compiled_mfu_executed", row)  # the tuned step's algorithm: the same executed FLOPs
        self.assertIn("vs compiled", p.stdout)

    def test_compiled_peer_checked_as_the_tuned_one(self):
        p, _ = self.compare(self.add_compiled(self.make_runs(), check=[dict(CHECK[0], loss=0.7), CHECK[1]]))
        self.assertEqual(p.returncode, 1)
        self.assertIn("loss[0] trl-host 0.6931 vs pytorch-compiled 0.7", p.stderr)
        p, _ = self.compare(self.add_compiled(self.make_runs(), policy={"omp_wait_policy": "PASSIVE"}))
        self.assertEqual(p.returncode, 1)
        self.assertIn("pytorch-compiled ran with omp_wait_policy PASSIVE", p.stderr)

    def test_without_floor_files_no_floor_fields(self):
        p, results = self.compare(self.make_runs(floor=False))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("floor_median_s", results["rows"][0])
        self.assertNotIn("reachable vs tuned", p.stdout)


if __name__ == "__main__":
    unittest.main()
