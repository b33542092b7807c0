"""Helpers of the parity cases 4 and 5 (docs/parity.md): the command line every case takes, the shared model,
running trl-host, the relative-difference comparison, the result rows, and the replay of trl-host's sampled
completions inside TRL's GRPO/GFPO trainers.

A case script is run with a reference virtual environment's python:
    <venv>/bin/python tests/parity/cases/<case>.py --host BUILD/bin/trl-host --build BUILD \
        --work BUILD/parity/<case> --out BUILD/parity/<case>.json
and writes {"case", "env", "rows": [...]} to --out; it exits 0 when it ran (failing rows included) and
non-zero when it could not run. The model, the npm tokenizer packages, the thread settings and the
comparison rule are the same as parity_common.py's (cases 1-3), so every row of the table means the same.
Only the standard library is imported at module level.
"""
import json
import math
import os
import subprocess
import sys

# The pieces every case shares with cases 1-3, so every row of the table means the same.
import parity_common as common  # noqa: E402
from parity_common import (FORWARD_TOL, ROOT, STEP_TOL, TOKENIZER_PACKAGE, env_versions,  # noqa: E402,F401
                           host_env, make_model, npm_dir, read_jsonl, row, run_host_train, tokenizer_dir)


def parse_args(case, description):
    """parity_common's command line with --only (the sub-cases to run)."""
    return common.parse_args(case, description, subcases=True)


def single_thread():
    """parity_common's threads and deterministic kernels, with no GPU at all, TRL's experimental warning
    silenced and no tokenizer threads; call before anything imports torch."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return common.single_thread()


# ---- running things ---------------------------------------------------------------------------------------


def run(cmd, what, cwd=None, env=None, log=None):
    """Runs cmd; on failure raises RuntimeError with `what` and the last lines of its output. Returns the
    output (stdout and stderr together)."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if log:
        with open(log, "w") as f:
            f.write(proc.stdout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc.stdout



def step_logs(entries):
    """The per-step training entries of a metrics.jsonl or a Trainer log_history (those with a `loss` and no
    train_/eval_ summary keys), as {step: entry}."""
    out = {}
    for e in entries:
        if "loss" in e and "train_loss" not in e and not any(k.startswith("eval_") for k in e):
            out[int(e["step"])] = e
    return out


# ---- comparison -------------------------------------------------------------------------------------------

def rel_series(ours, theirs):
    """Worst difference of two equal-length number series relative to the series' scale: max_t |a_t - b_t| /
    max_t |b_t| (a quantity that crosses zero is not judged by its smallest values). Equal series, zeros
    included, give 0; NaN or None anywhere (unless equal) or different lengths give inf."""
    ours, theirs = list(ours), list(theirs)
    if len(ours) != len(theirs) or not ours:
        return math.inf
    if any(v is None or not math.isfinite(v) for v in ours + theirs):
        same = all((a is None and b is None) or (a is not None and b is not None and (a == b or (math.isnan(a) and math.isnan(b))))
                   for a, b in zip(ours, theirs))
        return 0.0 if same else math.inf
    worst = max(abs(a - b) for a, b in zip(ours, theirs))
    if worst == 0.0:
        return 0.0
    scale = max(abs(b) for b in theirs)
    return worst / scale if scale > 0 else math.inf


def rel_tensor(ours, theirs):
    """max |a - b| / max |b| over one tensor pair (float64); inf on a shape mismatch."""
    if tuple(ours.shape) != tuple(theirs.shape):
        return math.inf
    a, b = ours.double(), theirs.double()
    worst = (a - b).abs().max().item() if a.numel() else 0.0
    if worst == 0.0:
        return 0.0
    scale = b.abs().max().item()
    return worst / scale if scale > 0 else math.inf


def check_row(case, quantity, ok, note=""):
    """A yes/no row (an exact check: equal ids, an expected refusal): worst 0 when it holds, inf otherwise."""
    return row(case, quantity, 0.0 if ok else math.inf, 0.0, note)


def write_result(args, case, rows, extra=None):
    out = {"case": case, "env": env_versions(), "rows": rows}
    out.update(extra or {})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    for r in rows:
        print(f"{'PASS' if r['pass'] else 'FAIL'}  {r['quantity']}: worst {r['worst']:.3g} (tol {r['tolerance']:g})"
              + (f"  [{r['note']}]" if r["note"] and not r["pass"] else ""))


def main_guard(case, body):
    """Runs body(); a case that could not run prints why and exits 1 (the driver turns it into a failed row)."""
    try:
        body()
    except Exception as e:  # noqa: BLE001 - any failure means "could not run", with its message
        import traceback

        traceback.print_exc()
        sys.exit(f"{case}: could not run: {e}")


# ---- replay: TRL's GRPO/GFPO trainer trains on trl-host's sampled completions ----------------------------

def host_generations(completions_jsonl):
    """trl-host's replay log (gfpo's completions.jsonl with log_completion_ids): the rows of each generation
    batch, in generation order, as a list of lists of dicts with prompt_ids, completion_ids, advantage, ..."""
    by_generation = {}
    for r in read_jsonl(completions_jsonl):
        if "completion_ids" not in r:
            raise RuntimeError(f"{completions_jsonl}: rows carry no completion_ids (log_completion_ids is off)")
        by_generation.setdefault(int(r["generation"]), []).append(r)
    return [by_generation[g] for g in sorted(by_generation)]


class Replay:
    """Patches one TRL GRPOTrainer (or GFPOTrainer) instance, never TRL's code, so that:
    - its sampling step (`_generate_single_turn`, whose signature differs between TRL releases) returns
      trl-host's completion ids of the same generation batch, after checking that the prompts TRL tokenized
      are trl-host's, row for row (the prompt order comes from each side's own RepeatSampler);
    - the output of `_generate_and_score_completions` (advantages, the kept rows' order) is recorded."""

    def __init__(self, trainer, generations):
        self.generations = generations
        self.calls = 0
        self.prompt_mismatches = []  # (generation, row) where TRL's prompt ids differ from trl-host's
        self.advantages = []  # per generation: TRL's advantages in its output order
        self.kept = []  # per generation: the rows TRL kept, in its output order (GFPO; else all rows)
        self._trainer = trainer
        inner_generate = trainer._generate_single_turn
        inner_score = trainer._generate_and_score_completions

        def replay_generate(prompt_ids, *args, **kwargs):
            g = self.calls
            self.calls += 1
            if g >= len(self.generations):
                raise RuntimeError(f"TRL asked for generation {g} but trl-host logged {len(self.generations)}")
            rows = self.generations[g]
            if len(prompt_ids) != len(rows):
                raise RuntimeError(f"generation {g}: TRL has {len(prompt_ids)} rows, trl-host {len(rows)}")
            for i, (theirs, ours) in enumerate(zip(prompt_ids, rows)):
                if list(theirs) != list(ours["prompt_ids"]):
                    self.prompt_mismatches.append((g, i))
            return [list(r["completion_ids"]) for r in rows], None

        def recording_score(inputs):
            out = inner_score(inputs)
            self.advantages.append([float(a) for a in out["advantages"].reshape(-1).tolist()])
            return out

        self._inner_generate = inner_generate
        trainer._generate_single_turn = replay_generate
        trainer._generate_and_score_completions = recording_score


def length_penalty_chars(max_length):
    """trl-host's built-in `length_penalty` reward with unit "characters", mode "linear", as a TRL reward
    function: -min(L, max_length) / max_length with L the completion's length in code points (Python's len of
    the decoded text). Named like the trl-host component so both log rewards/length_penalty/*. Every call's
    rewards are kept in `.calls` (one list per generation batch)."""

    def length_penalty(completions, **kwargs):
        texts = [c if isinstance(c, str) else c[0]["content"] for c in completions]
        out = [-min(len(t), max_length) / max_length for t in texts]
        length_penalty.calls.append(out)
        return out

    length_penalty.calls = []
    return length_penalty


CLIP_KEYS = ("clip_ratio/low_mean", "clip_ratio/low_min", "clip_ratio/high_mean", "clip_ratio/high_max",
             "clip_ratio/region_mean")


def compare_logs(case, label, host_metrics, trl_history, host_gens, replay, reward_calls, skip=(), clip_keys=CLIP_KEYS):
    """The rows of one replayed run: per quantity, the worst relative difference over the logged steps
    (STEP_TOL), plus one row for step 1, before any optimizer step (FORWARD_TOL), and the exact checks of the
    replay itself (prompts row for row). host_metrics/trl_history: the two logs as {step: entry}; `skip`: metric
    names left out (an exception the caller checks in its own row); `clip_keys`: the clip metrics the loss type
    logs (TRL: clip_ratio/* for the clipped types, cispo_clip_ratio, vespo/phi_seq_mean, none for sapo)."""
    rows = []
    steps = sorted(set(host_metrics) & set(trl_history))
    lost = sorted(set(host_metrics) ^ set(trl_history))
    rows.append(check_row(case, f"{label}: prompts replayed row for row", not replay.prompt_mismatches and
                          replay.calls == len(host_gens) and not lost,
                          f"{replay.calls} generation batches of {len(host_gens[0])} rows; steps {steps}"
                          + (f"; differing prompt ids at (generation, row) {replay.prompt_mismatches[:5]}"
                             if replay.prompt_mismatches else "") + (f"; steps logged by one side only {lost}" if lost else "")))
    # With every completion equally long the loss types cannot be told apart (the same sum over the same count).
    lengths = sorted({len(r["completion_ids"]) for g in host_gens for r in g})
    rows.append(check_row(case, f"{label}: completion lengths vary", len(lengths) > 1,
                          f"lengths sampled by trl-host: {lengths}"))
    named = [("loss", ["loss"]), ("grad_norm", ["grad_norm"]), ("entropy", ["entropy"]), ("kl", ["kl"])]
    if clip_keys:
        named.append(("clip ratios", [k for k in clip_keys if k not in skip]))
        if tuple(clip_keys) == CLIP_KEYS:  # what the second passes are there for: the clip must act somewhere
            region = [trl_history[s].get("clip_ratio/region_mean") or 0.0 for s in steps]
            rows.append(check_row(case, f"{label}: some ratios clipped (the clip is exercised)", max(region, default=0.0) > 0,
                                  f"TRL's clip_ratio/region_mean per step: {[round(r, 4) for r in region]}"))
    else:  # a loss type without clip metrics: neither side may log one
        logged = sorted({k for log in (host_metrics, trl_history) for e in log.values() for k in e if k in CLIP_KEYS})
        rows.append(check_row(case, f"{label}: no clip ratios logged (as TRL)", not logged,
                              f"logged: {logged}" if logged else "neither side logs clip_ratio/*"))
    used = {k for _, keys in named for k in keys} | {"step", "epoch"} | set(skip)
    first = steps[0] if steps else None
    step1 = []  # (worst, what) at the first step

    def series(keys):
        worst, what, count = 0.0, "", 0
        for k in keys:
            for s in steps:
                a, b = host_metrics[s].get(k), trl_history[s].get(k)
                if a is None and b is None:
                    continue
                d = rel_series([a], [b]) if (a is not None and b is not None) else math.inf
                # Relative to the quantity's scale over all steps, not one step's value (a ratio that is 0 at
                # one step and 0.1 at another is judged against 0.1).
                scale = max([abs(trl_history[t][k]) for t in steps if isinstance(trl_history[t].get(k), (int, float))] or [0.0])
                if a is not None and b is not None and math.isfinite(a) and math.isfinite(b) and scale > 0:
                    d = abs(a - b) / scale
                count += 1
                if s == first:
                    step1.append((d, k))
                if d > worst or not what:
                    worst, what = max(worst, d), f"{k} at step {s}: trl-host {a}, TRL {b}"
        return worst, what, count

    for name, keys in named:
        worst, what, count = series(keys)
        if count == 0:
            rows.append(row(case, f"{label}: {name}", math.inf, STEP_TOL, f"logged by neither side ({keys})"))
            continue
        rows.append(row(case, f"{label}: {name}", worst, STEP_TOL, f"steps {steps[0]}-{steps[-1]}; worst {what}"))
    others = sorted({k for s in steps for k in set(host_metrics[s]) & set(trl_history[s])
                     if isinstance(trl_history[s][k], (int, float)) and k not in used})
    worst, what, count = series(others)
    only_one = sorted({k for s in steps for k in set(host_metrics[s]) ^ set(trl_history[s])} - used)
    rows.append(row(case, f"{label}: every other metric logged by both", worst, STEP_TOL,
                    f"{len(others)} metrics; worst {what}" + (f"; logged by one side only: {only_one}" if only_one else "")))

    # Advantages and rewards, per generation batch, row for row (TRL's output order is replay.kept's).
    adv_worst, adv_what, rew_worst = 0.0, "", 0.0
    for g, rows_g in enumerate(host_gens[:len(replay.advantages)]):
        kept = replay.kept[g] if g < len(replay.kept) else list(range(len(rows_g)))
        ours = [rows_g[i]["advantage"] for i in kept]
        d = rel_series([float("nan") if v is None else v for v in ours], replay.advantages[g])
        if g == 0:
            step1.append((d, "advantages"))
        if d >= adv_worst:
            adv_worst, adv_what = d, f"generation {g}: trl-host {ours}, TRL {replay.advantages[g]}"
        if g < len(reward_calls):
            r = rel_series([x["reward"] for x in rows_g], reward_calls[g])
            rew_worst = max(rew_worst, r)
            if g == 0:
                step1.append((r, "rewards"))
    rows.append(row(case, f"{label}: advantages (every row)", adv_worst if replay.advantages else math.inf, STEP_TOL,
                    f"{len(replay.advantages)} generation batches; worst {adv_what}"))
    rows.append(row(case, f"{label}: rewards (every row)", rew_worst if reward_calls else math.inf, FORWARD_TOL,
                    f"{len(reward_calls)} generation batches, trl-host's length_penalty vs its Python transcription"))
    w1 = max(step1) if step1 else (math.inf, "nothing")
    rows.append(row(case, f"{label}: step 1 (before any update), every quantity", w1[0], FORWARD_TOL,
                    f"worst: {w1[1]}"))
    return rows


def make_eos_likely(model_dir, scale, seed):
    """Makes the model end completions at varied lengths: the embedding row of its EOS token (tied to the
    output layer) becomes `scale` x a seeded random unit vector, so EOS's logit is about N(0, scale^2) where
    every other logit is near 0. A fresh 151k-token model otherwise never ends within a few tokens, and with
    every completion equally long the loss types cannot be told apart (grpo, bnpo, dr_grpo and dapo divide
    the same sum by the same count). Both sides load the edited folder."""
    import torch
    from safetensors.torch import load_file, save_file

    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    eos = config["eos_token_id"]
    eos = eos[0] if isinstance(eos, list) else eos
    path = os.path.join(model_dir, "model.safetensors")
    tensors = load_file(path)
    embed = tensors["model.embed_tokens.weight"]
    direction = torch.randn(embed.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    embed[eos] = (scale * direction / direction.norm()).to(embed.dtype)
    save_file(tensors, path, metadata={"format": "pt"})
    return eos
