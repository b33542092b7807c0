"""Parity case 5 (docs/parity.md, "Case 5: our outputs in the real libraries"): what trl-host writes, read by
the libraries a user would load it with (env `trl`).

- transformers: AutoModelForCausalLM.from_pretrained loads a trl-host run's output dir, one of its checkpoints
  and its BEMA dir, and gives the logits `trl-host logits` gives on the same ids.
- peft: PeftModel.from_pretrained loads a trl-host LoRA (and DoRA) output: its logits equal trl-host's with the
  adapter, its merge_and_unload() weights equal `trl-host merge-adapter`'s, and transformers on that merged
  folder gives peft's merged logits.
- TensorBoard: its own reader (EventAccumulator) returns the scalars of the run's event file, equal to
  metrics.jsonl, tag for tag and step for step.
- Rust tokenizers (the `tokenizers` package): encodes tests/tokenizer-parity/corpus.json exactly as trl-host
  does; tests/tokenizer-parity's driver compares trl::Tokenizer against a reference file written here by the
  Rust library (instead of the npm reference that test uses), for every tokenizer that test covers.

Run: <venv trl>/bin/python tests/parity/cases/ecosystem.py --host BUILD/bin/trl-host --build BUILD \
         --work BUILD/parity/ecosystem --out BUILD/parity/ecosystem.json [--only transformers,peft,...]
"""
import glob
import json
import math
import os
import random
import re
import subprocess
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import replay_common as rc  # noqa: E402

CASE = "ecosystem"
SEED = 7
# float32 event values against metrics.jsonl's float64: the only difference is float32 rounding, 2^-24
# relative (6e-8); 1e-7 leaves room for nothing else.
EVENT_TOL = 1e-7

# The DPO run whose outputs are loaded: 4 steps, a checkpoint at step 2, BEMA every step, TensorBoard events.
DPO_ARGS = {"max_steps": 4, "per_device_train_batch_size": 4, "learning_rate": 1e-3, "logging_steps": 1,
            "save_steps": 2, "max_length": 48, "seed": SEED, "report_to": "tensorboard"}
BEMA_ARGS = {"update_freq": 1, "lag": 2}
# One line per adapter run: (label, peft block).
LORA_RUNS = [
    ("lora", {"r": 4, "lora_alpha": 8, "target_modules": "all-linear"}),
    ("dora", {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj", "up_proj"], "use_dora": True}),
]
LORA_ARGS = {"max_steps": 3, "per_device_train_batch_size": 4, "learning_rate": 1e-2, "logging_steps": 1,
             "save_steps": 0, "max_length": 48, "seed": SEED, "report_to": "none"}


def logit_ids(vocab_size, rows=3, length=12):
    """Fixed token ids: seeded, spread over the whole vocabulary (special tokens included)."""
    rng = random.Random(SEED)
    return [[rng.randrange(vocab_size) for _ in range(length)] for _ in range(rows)]


def host_logits(args, model_dir, ids, name, adapter=None):
    """trl-host logits on `ids`, as a float32 tensor (B, T, V)."""
    from safetensors.torch import load_file

    out = os.path.join(args.work, f"logits-{name}.safetensors")
    cmd = [args.host, "logits", "--model", model_dir, "--out", out]
    if adapter:
        cmd += ["--adapter", adapter]
    for r in ids:
        cmd += ["--ids", ",".join(str(i) for i in r)]
    rc.run(cmd, what=f"trl-host logits ({name})", env=rc.host_env())
    tensors = load_file(out)
    if tensors["input_ids"].tolist() != ids:
        raise RuntimeError(f"{out}: input_ids differ from the ids asked for")
    return tensors["logits"]


def hf_logits(model, ids):
    import torch

    with torch.no_grad():
        return model(input_ids=torch.tensor(ids)).logits.float()


def dpo_run(args, model):
    data = os.path.join(rc.ROOT, "examples", "data", "prefs_train.jsonl")
    out = os.path.join(args.work, "dpo")
    config = {"trainer": "dpo", "model": model, "train_dataset": data,
              "args": dict(DPO_ARGS, output_dir=out),
              "callbacks": [{"name": "bema", "args": BEMA_ARGS}]}
    rc.run_host_train(args.host, config, args.work, "dpo")
    return out


def transformers_rows(args, base, run_dir):
    import torch
    from transformers import AutoModelForCausalLM

    rows = []
    folders = [("output dir", run_dir), ("checkpoint-2", os.path.join(run_dir, "checkpoint-2")),
               ("BEMA dir", os.path.join(run_dir, "bema")), ("init-model dir", base)]
    for label, folder in folders:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        model.eval()
        ids = logit_ids(model.config.vocab_size)
        theirs = hf_logits(model, ids)
        ours = host_logits(args, folder, ids, label.replace(" ", "_"))
        rows.append(rc.row(CASE, f"transformers: {label} logits", rc.rel_tensor(ours, theirs), rc.FORWARD_TOL,
                           f"AutoModelForCausalLM.from_pretrained({os.path.relpath(folder, args.work)}) vs trl-host "
                           f"logits, {len(ids)}x{len(ids[0])} ids, {model.config.architectures[0]}"))
    # The BEMA dir is not the output dir: the check above would pass on a copy of the final weights.
    from safetensors.torch import load_file

    final, bema = load_file(os.path.join(run_dir, "model.safetensors")), load_file(os.path.join(run_dir, "bema", "model.safetensors"))
    differs = any(not torch.equal(final[k], bema[k]) for k in final)
    rows.append(rc.check_row(CASE, "transformers: BEMA dir holds its own weights", differs,
                             "bema/model.safetensors differs from the final model's"))
    return rows


def peft_rows(args, base):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    data = os.path.join(rc.ROOT, "examples", "data", "prefs_train.jsonl")
    rows = []
    for label, peft_block in LORA_RUNS:
        out = os.path.join(args.work, label)
        config = {"trainer": "dpo", "model": base, "train_dataset": data, "peft": peft_block,
                  "args": dict(LORA_ARGS, output_dir=out)}
        rc.run_host_train(args.host, config, args.work, label)
        merged_dir = os.path.join(args.work, label + "-merged")
        rc.run([args.host, "merge-adapter", "--model", base, "--adapter", out, "--out", merged_dir],
               what="trl-host merge-adapter", env=rc.host_env())

        base_model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
        peft_model = PeftModel.from_pretrained(base_model, out)
        peft_model.eval()
        ids = logit_ids(base_model.config.vocab_size)
        theirs = hf_logits(peft_model, ids)
        ours = host_logits(args, base, ids, label, adapter=out)
        rows.append(rc.row(CASE, f"peft: {label} adapter logits", rc.rel_tensor(ours, theirs), rc.FORWARD_TOL,
                           f"PeftModel.from_pretrained(base, {label}) vs trl-host logits --adapter; {peft_block}"))
        # The adapter must have trained (B != 0), else the comparison above is the base model's.
        trained = any(k.endswith("lora_B.weight") and v.abs().max().item() > 0
                      for k, v in load_file(os.path.join(out, "adapter_model.safetensors")).items())
        rows.append(rc.check_row(CASE, f"peft: {label} adapter trained (some lora_B != 0)", trained))

        merged = peft_model.merge_and_unload()
        merged_state = {k: v for k, v in merged.state_dict().items()}
        ours_state = load_file(os.path.join(merged_dir, "model.safetensors"))
        worst, worst_name = 0.0, ""
        for name in sorted(set(ours_state) | set(merged_state)):
            if name == "lm_head.weight" and name not in ours_state:
                continue  # tied to model.embed_tokens.weight
            d = rc.rel_tensor(ours_state[name], merged_state[name]) if name in ours_state and name in merged_state else math.inf
            if d >= worst:
                worst, worst_name = d, name
        rows.append(rc.row(CASE, f"peft: {label} merge_and_unload weights = trl-host merge-adapter", worst,
                           rc.FORWARD_TOL, f"{len(ours_state)} tensors; worst {worst_name}"))
        merged_hf = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
        rows.append(rc.row(CASE, f"peft: {label} merged logits (transformers on trl-host's merged dir)",
                           rc.rel_tensor(hf_logits(merged_hf, ids), hf_logits(merged, ids)), rc.FORWARD_TOL,
                           "vs peft's merge_and_unload() model"))
    return rows


def tensorboard_rows(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted(glob.glob(os.path.join(run_dir, "runs", "*", "events.out.tfevents.*")))
    if len(files) != 1:
        return [rc.check_row(CASE, "tensorboard: one event file", False, f"found {files}")]
    acc = EventAccumulator(files[0], size_guidance={"scalars": 0})
    acc.Reload()
    events = {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}

    # metrics.jsonl through transformers' rewrite_logs: "loss" -> "train/loss", "eval_x" -> "eval/x".
    expected = {}
    for entry in rc.read_jsonl(os.path.join(run_dir, "metrics.jsonl")):
        step = int(entry["step"])
        for key, value in entry.items():
            if key == "step" or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            tag = "eval/" + key[5:] if key.startswith("eval_") else "train/" + key
            expected.setdefault(tag, {})[step] = float(value)
    missing = sorted(set(expected) - set(events))
    extra = sorted(set(events) - set(expected))
    worst, what, count = 0.0, "", 0
    for tag in sorted(set(expected) & set(events)):
        if set(expected[tag]) != set(events[tag]):
            worst, what = math.inf, f"{tag}: steps {sorted(expected[tag])} in metrics.jsonl, {sorted(events[tag])} in events"
            continue
        for step, value in expected[tag].items():
            count += 1
            got = events[tag][step]
            d = 0.0 if got == value else abs(got - value) / max(abs(value), 1e-30)
            if d > worst:
                worst, what = d, f"{tag} step {step}: events {got}, metrics.jsonl {value}"
    return [
        rc.check_row(CASE, "tensorboard: tags = metrics.jsonl keys", not missing and not extra and bool(events),
                     f"{len(events)} tags" + (f"; only in metrics.jsonl {missing}" if missing else "")
                     + (f"; only in events {extra}" if extra else "")),
        rc.row(CASE, "tensorboard: scalar values", worst, EVENT_TOL,
               f"{count} scalars read by EventAccumulator; float32 in events (2^-24 rounding)"
               + (f"; worst {what}" if what else "")),
    ]


# ---- Rust tokenizers -------------------------------------------------------------------------------------

def llama3_with_bos(npm, work):
    """The Llama-3 tokenizer as tests/tokenizer-parity/make_reference.mjs makes it (the BOS post-processor of
    Meta's current files), so both references test the same file."""
    src = os.path.join(npm, "node_modules", "@lenml", "tokenizer-llama3", "models")
    folder = os.path.join(work, "models", "llama3")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(src, "tokenizer.json")) as f:
        data = json.load(f)
    bos = {"id": "<|begin_of_text|>", "type_id": 0}
    data["post_processor"] = {
        "type": "Sequence",
        "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": bos}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": bos}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000],
                                                      "tokens": ["<|begin_of_text|>"]}}},
        ],
    }
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(data, f)
    with open(os.path.join(src, "tokenizer_config.json")) as f:
        config = f.read()
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        f.write(config)
    return folder


def rust_reference(models, corpus):
    """reference.json in tests/tokenizer-parity's format, written with the Rust library: ids with and without
    special tokens (tokenizers.Tokenizer.encode) and decodes (tokenizers.Tokenizer.decode), followed, where the
    tokenizer_config says clean_up_tokenization_spaces, by transformers' own clean_up_tokenization (the rule
    transformers 4.x and tokenizers.js apply, and trl-host; transformers 5 skips it for BPE models, an exception
    of docs/parity.md with its own row)."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    out = {"tokenizers": [], "chat": []}
    for name, folder in models:
        rust = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        fast = AutoTokenizer.from_pretrained(folder)
        with open(os.path.join(folder, "tokenizer_config.json")) as f:
            config = json.load(f)
        with open(os.path.join(folder, "tokenizer.json")) as f:
            normalizer = (json.load(f).get("normalizer") or {}).get("type")
        cleanup = config.get("clean_up_tokenization_spaces", False)

        def decode(ids, skip=False):
            text = rust.decode(ids, skip_special_tokens=skip) if ids else ""
            return fast.clean_up_tokenization(text) if cleanup else text

        cases, decode_cases, non_ascii = [], [], 0
        for text in corpus["strings"]:
            ids = rust.encode(text).ids
            ids_plain = rust.encode(text, add_special_tokens=False).ids
            entry = {"text": text, "ids": ids, "ids_plain": ids_plain, "decoded": decode(ids),
                     "decoded_skip": decode(ids, True)}
            if not cleanup:
                entry["round_trip"] = unicodedata.normalize(normalizer, text) if normalizer in ("NFC", "NFD", "NFKC", "NFKD") else text
            cases.append(entry)
            if re.search(r"[^\x00-\x7f]", text) and non_ascii < 150:
                non_ascii += 1
                for i in ids_plain[:30]:
                    decode_cases.append({"ids": [i], "text": decode([i])})
                half = ids_plain[:len(ids_plain) // 2]
                if half:
                    decode_cases.append({"ids": half, "text": decode(half)})
        out["tokenizers"].append({"name": name, "dir": folder, "cases": cases, "decode_cases": decode_cases})
    return out


def rust_tokenizer_rows(args):
    driver = os.path.join(args.build, "tests", "tokenizer-parity", "tokenizer_parity_driver")
    if not os.access(driver, os.X_OK):
        raise RuntimeError(f"{driver}: missing (build the target tokenizer_parity_driver, TRL_BUILD_TESTS=ON)")
    npm = rc.npm_dir(args.build)
    work = os.path.join(args.work, "tokenizers")
    byte_dir = os.path.join(work, "models", "byte")
    os.makedirs(os.path.dirname(byte_dir), exist_ok=True)
    rc.run([driver, "write-byte-tokenizer", byte_dir], what="tokenizer_parity_driver write-byte-tokenizer")
    lenml = lambda name: os.path.join(npm, "node_modules", "@lenml", name, "models")  # noqa: E731
    models = [("qwen3", lenml("tokenizer-qwen3")), ("qwen2_5", lenml("tokenizer-qwen2_5")),
              ("llama3", llama3_with_bos(npm, work)), ("gpt2", lenml("tokenizer-gpt2")), ("byte", byte_dir)]
    with open(os.path.join(rc.ROOT, "tests", "tokenizer-parity", "corpus.json")) as f:
        corpus = json.load(f)
    with open(os.path.join(work, "reference.json"), "w") as f:
        json.dump(rust_reference(models, corpus), f)
    proc = subprocess.run([driver, "compare", work], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(os.path.join(work, "compare.log"), "w") as f:
        f.write(proc.stdout)
    total = re.search(r"tokenizer parity: (\d+) passed, (\d+) failed", proc.stdout)
    if not total:
        raise RuntimeError(f"tokenizer_parity_driver compare gave no total (exit {proc.returncode}):\n{proc.stdout[-2000:]}")
    rows = []
    for name, _ in models:
        mismatches = [line for line in proc.stdout.splitlines() if line.startswith(f"MISMATCH [{name}]")]
        strings = re.search(rf"^{re.escape(name)}: loaded in .*?; (\d+) strings", proc.stdout, re.M)
        rows.append(rc.row(CASE, f"rust tokenizers: {name} encode/decode", len(mismatches), 0,
                           f"{strings.group(1) if strings else '?'} corpus strings, ids with and without special "
                           f"tokens, decodes, partial decodes; mismatches counted (25 shown at most) in "
                           f"{os.path.relpath(work, args.work)}/compare.log"
                           + (f"; first: {mismatches[0][:300]}" if mismatches else "")))
    rows.append(rc.row(CASE, "rust tokenizers: every check of the driver", int(total.group(2)), 0,
                       f"{total.group(1)} passed, {total.group(2)} failed (tokenizer_parity_driver compare, exit "
                       f"{proc.returncode})"))
    rows.append(cleanup_exception_row(models))
    return rows


def cleanup_exception_row(models):
    """transformers 5 ignores clean_up_tokenization_spaces=True for BPE tokenizers (it warns and decodes without
    it); trl-host applies it, as transformers 4.x and tokenizers.js do. Holds while transformers does what
    docs/parity.md lists: for every BPE tokenizer whose config sets the flag, its decode of " a , b ." keeps the
    space before the comma, and clean_up_tokenization removes it."""
    from transformers import AutoTokenizer

    checked = []
    for name, folder in models:
        with open(os.path.join(folder, "tokenizer_config.json")) as f:
            if not json.load(f).get("clean_up_tokenization_spaces", False):
                continue
        fast = AutoTokenizer.from_pretrained(folder)
        ids = fast.encode(" a , b .", add_special_tokens=False)
        checked.append((name, fast.decode(ids) == " a , b ." and fast.clean_up_tokenization(fast.decode(ids)) == " a, b."))
    return rc.check_row(CASE, "rust tokenizers: exception: transformers 5 skips clean-up for BPE, trl-host does not",
                        bool(checked) and all(ok for _, ok in checked),
                        f"checked on {[n for n, _ in checked]}: AutoTokenizer.decode keeps ' ,'; the rows above compare "
                        "with the clean-up applied")


PARTS = ["transformers", "tensorboard", "peft", "tokenizers"]


def main():
    args = rc.parse_args(CASE, "trl-host's outputs in transformers, peft, TensorBoard and Rust tokenizers")
    rc.single_thread()
    parts = args.only or PARTS
    base = rc.make_model(args.host, args.build, args.work, seed=SEED)
    rows = []
    if "transformers" in parts or "tensorboard" in parts:
        run_dir = dpo_run(args, base)
        if "transformers" in parts:
            rows += transformers_rows(args, base, run_dir)
        if "tensorboard" in parts:
            rows += tensorboard_rows(run_dir)
    if "peft" in parts:
        rows += peft_rows(args, base)
    if "tokenizers" in parts:
        rows += rust_tokenizer_rows(args)
    rc.write_result(args, CASE, rows)


if __name__ == "__main__":
    rc.main_guard(CASE, main)
