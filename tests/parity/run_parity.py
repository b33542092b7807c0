#!/usr/bin/python3
"""The `make parity` driver (docs/parity.md): runs every parity case with its reference environment's python,
prints one table (case, quantity, worst difference, tolerance, pass/fail), writes BUILD/parity/report.json
(every row, each environment's versions, `trl-host env --json`) and exits non-zero on any failing row or any
case that could not run. Standard library only; run it with Debian's /usr/bin/python3.

    run_parity.py [--build BUILD] [--host BUILD/bin/trl-host] [--case NAME]...   (scripts/parity.sh runs it)
    run_parity.py --list-envs                                                 (the environments the cases need)
"""
import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time

# case -> the reference environment it runs in (BUILD/venvs/<env>, from tests/parity/requirements-<env>.txt).
CASES = {
    "dpo_training": "trl",        # case 1: DPO, four loss configurations, 20 steps, batch 4
    "bema_ref_model": "trl",      # case 2: DPO + BEMA refreshing the reference every 4 steps
    "chat_tokenization": "trl",   # case 3: conversational rows through Qwen2.5's chat template
    "grpo_replay": "trl",         # case 4: GRPO replayed through TRL's GRPOTrainer
    "gfpo_replay": "trl171",      # case 4: GFPO replayed through TRL 1.7.1's GFPOTrainer
    "ecosystem": "trl",           # case 5: our outputs through transformers, PEFT, TensorBoard, tokenizers
}
CASE_TIMEOUT_S = 1800
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def failed_row(case, why):
    return {"case": case, "quantity": "could not run", "worst": math.inf, "tolerance": 0.0, "pass": False,
            "note": why}


def run_case(case, env, build, host):
    """Runs one case; returns (rows, env versions, seconds). A case that exits non-zero, times out or writes
    no rows gives one failed row naming the last lines of its output."""
    python = os.path.join(build, "venvs", env, "bin", "python")
    script = os.path.join(ROOT, "tests", "parity", "cases", case + ".py")
    out = os.path.join(build, "parity", case + ".json")
    log = os.path.join(build, "parity", case + ".log")
    if os.path.exists(out):
        os.remove(out)
    if not os.path.isfile(script):
        return [failed_row(case, f"no script {script}")], {}, 0.0
    if not os.access(python, os.X_OK):
        return [failed_row(case, f"no environment {python} (scripts/python-env.sh {env} {build})")], {}, 0.0
    cmd = [python, script, "--host", host, "--build", build, "--work", os.path.join(build, "parity", case),
           "--out", out]
    start = time.time()
    print(f"parity: {case} ({env}) ...", flush=True)
    try:
        with open(log, "w") as f:
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=CASE_TIMEOUT_S).returncode
    except subprocess.TimeoutExpired:
        rc = f"timed out after {CASE_TIMEOUT_S} s"
    seconds = time.time() - start
    result = {}
    if os.path.exists(out):
        try:
            with open(out) as f:
                result = json.load(f)
        except ValueError as e:
            result = {"rows": [], "error": f"unreadable {out}: {e}"}
    rows = result.get("rows") or []
    if rc != 0 or not rows:
        with open(log, errors="replace") as f:
            tail = [line.rstrip() for line in f.readlines() if line.strip()][-12:]
        why = f"exit {rc}" if rc != 0 else "wrote no rows"
        rows = rows + [failed_row(case, f"{why}; {log}:\n" + "\n".join(tail))]
    print(f"parity: {case} done in {seconds:.0f} s", flush=True)
    return rows, result.get("env", {}), seconds


def host_env(host):
    try:
        proc = subprocess.run([host, "env", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120)
        return json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr.strip()[-2000:]}
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return {"error": str(e)}


def fmt(v):
    return "inf" if v is None or (isinstance(v, float) and math.isinf(v)) else f"{v:.3g}"


def print_table(rows):
    head = ("case", "quantity", "worst", "tolerance", "result")
    body = [(r["case"], r["quantity"], fmt(r["worst"]), fmt(r["tolerance"]), "pass" if r["pass"] else "FAIL")
            for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format(*head))
    print(line.format(*("-" * w for w in widths)))
    for b in body:
        print(line.format(*b))
    for r in rows:  # why a row failed, after the table
        if not r["pass"] and r.get("note"):
            print(f"\nFAIL {r['case']}: {r['quantity']}: {r['note']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--host", help="the trl-host executable (default BUILD/bin/trl-host)")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="run only these cases")
    parser.add_argument("--list-envs", action="store_true", help="print the environments the cases need")
    args = parser.parse_args()
    if args.list_envs:
        print("\n".join(sorted(set(CASES.values()))))
        return 0
    build = os.path.abspath(args.build)
    host = os.path.abspath(args.host or os.path.join(build, "bin", "trl-host"))
    os.makedirs(os.path.join(build, "parity"), exist_ok=True)

    rows, envs, timings = [], {}, {}
    for case in args.case or list(CASES):
        env = CASES[case]
        case_rows, versions, seconds = run_case(case, env, build, host)
        for r in case_rows:  # every row names its case, whatever the script wrote
            r["case"] = case
            r["worst"] = float(r["worst"]) if r.get("worst") is not None else math.inf
        rows += case_rows
        if versions:
            envs[env] = versions
        timings[case] = round(seconds, 1)

    print()
    print_table(rows)
    failed = [r for r in rows if not r["pass"]]
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "passed": not failed,
        "rows": [dict(r, worst=r["worst"] if math.isfinite(r["worst"]) else "inf") for r in rows],
        "environments": envs,
        "trl_host_env": host_env(host),
        "seconds": timings,
    }
    path = os.path.join(build, "parity", "report.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\n{len(rows) - len(failed)} of {len(rows)} rows pass; report: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
