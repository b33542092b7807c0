"""The DPO runs of cases 1 and 2 (docs/parity.md): the same model dir, data and hyper-parameters through
trl-host (`trl-host train`, with TRL_DPO_DUMP_BATCHES) and through TRL's DPOTrainer, and their comparison.
Not a case itself: dpo_training.py and bema_ref_model.py import it."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import parity_common as pc  # noqa: E402

DATA = os.path.join(pc.ROOT, "examples", "data", "prefs_train.jsonl")

# The shared hyper-parameters, TRL names; both sides get exactly these (the rest are both sides' defaults,
# which agree: AdamW betas 0.9/0.999, eps 1e-8, no weight decay, linear schedule, max_grad_norm 1).
COMMON = {
    "max_steps": 20,
    "per_device_train_batch_size": 4,
    "learning_rate": 5e-4,
    "lr_scheduler_type": "linear",
    "warmup_steps": 0,
    "weight_decay": 0.0,
    "max_grad_norm": 1.0,
    "logging_steps": 1,
    "seed": pc.SEED,
    "beta": 0.1,
    "max_length": 64,
}


def host_dpo(args, model_dir, work, name, dpo_args, callbacks=None, data=DATA):
    """Runs trl-host's dpo trainer; returns (per-step logs {step: entry}, output dir, dumped batches)."""
    out_dir = os.path.join(work, name + "-host")
    dump = os.path.join(work, name + "-host-batches.jsonl")
    config = {"trainer": "dpo", "model": model_dir, "train_dataset": data,
              "args": dict(COMMON, **dpo_args, output_dir=out_dir, save_steps=0, report_to="none",
                           num_threads=1, eval_strategy="no")}
    if callbacks:
        config["callbacks"] = callbacks
    pc.run_host_train(args.host, config, work, name + "-host", env={"TRL_DPO_DUMP_BATCHES": dump})
    logs = pc.train_logs(pc.read_jsonl(os.path.join(out_dir, "metrics.jsonl")))
    return logs, out_dir, pc.read_jsonl(dump) if os.path.exists(dump) else []  # no dump: the batch row fails


def trl_dpo(model_dir, work, name, dpo_args, callbacks=None, data=DATA, bema=False):
    """Runs TRL's DPOTrainer (bema: trl.experimental.bema_for_ref_model's) on CPU, float32, one thread.
    Returns (per-step logs, final state dict, the collated batches it trained on, the trainer)."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trl import DPOConfig
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    if bema:
        from trl.experimental.bema_for_ref_model import DPOTrainer
    else:
        from trl import DPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    rows = pc.read_jsonl(data)
    config = DPOConfig(output_dir=os.path.join(work, name + "-trl"), **COMMON, **dpo_args, use_cpu=True,
                       bf16=False, fp16=False, gradient_checkpointing=False, report_to=[], save_strategy="no",
                       dataloader_num_workers=0, optim="adamw_torch", disable_dropout=True)
    # TRL's own collator, recording what it returns (accelerate fetches one batch ahead, so it sees one more).
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token is not None else tokenizer.eos_token_id
    collator = DataCollatorForPreference(pad_token_id=pad_id, max_length=config.max_length,
                                         truncation_mode=config.truncation_mode)
    batches = []

    def recording(examples):
        batch = collator(examples)
        batches.append({k: batch[k].tolist() for k in ("input_ids", "attention_mask", "completion_mask")})
        return batch

    trainer = DPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer, data_collator=recording, callbacks=callbacks)
    trainer.train()
    logs = pc.train_logs(trainer.state.log_history)
    state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    return logs, state, batches[:len(logs)], trainer


def compare_batches(case, label, host_batches, trl_batches):
    """One row: the share of steps whose collated batch (input_ids, attention_mask, completion_mask) differs.
    Equal batches at every step prove the same data order (trl-host's sampler is accelerate's) and the same
    tokenization and collation."""
    n = max(len(host_batches), len(trl_batches))
    bad = [i + 1 for i in range(n)
           if i >= len(host_batches) or i >= len(trl_batches)
           or any(host_batches[i][k] != trl_batches[i][k] for k in ("input_ids", "attention_mask", "completion_mask"))]
    note = f"{n} steps, exact; " + (f"first differing step {bad[0]}" if bad else "every batch identical")
    return pc.row(case, f"{label}: batches (data order, ids, masks)", len(bad) / max(n, 1), 0.0, note)


def compare_logs(case, label, ours, theirs):
    """Rows for every metric both sides log: step 1 (before any update: forward quantities, 1e-5) and
    steps 2.. (after optimizer steps, 1e-4), each relative to the series' scale. A missing step is inf."""
    rows = []
    steps = sorted(set(ours) | set(theirs))
    common = sorted(set.intersection(*[set(e) for e in ours.values()], *[set(e) for e in theirs.values()])
                    - {"step"}) if ours and theirs else []
    if not common or set(ours) != set(theirs):
        rows.append(pc.row(case, f"{label}: logged steps", math.inf, 0.0,
                           f"trl-host steps {sorted(ours)}, TRL steps {sorted(theirs)}"))
        return rows, [], []
    worst1, name1 = -1.0, ""
    for key in common:
        # step 1 against the scale of the whole series (e.g. logits/* start near 0 and grow)
        scale = max(abs(theirs[s][key]) for s in steps)
        d = abs(ours[steps[0]][key] - theirs[steps[0]][key])
        d = 0.0 if d == 0.0 else (d / scale if scale > 0 else math.inf)
        if d > worst1:
            worst1, name1 = d, key
    rows.append(pc.row(case, f"{label}: step 1, every metric", worst1, pc.FORWARD_TOL,
                       f"{len(common)} metrics before any update, relative to each series' scale; worst: {name1}"))
    for key in common:
        a = [ours[s][key] for s in steps[1:]]
        b = [theirs[s][key] for s in steps[1:]]
        rows.append(pc.row(case, f"{label}: {key}, steps 2-{steps[-1]}", pc.rel_series(a, b), pc.STEP_TOL))
    only_ours = sorted(set(ours[steps[0]]) - set(theirs[steps[0]]))
    only_theirs = sorted(set(theirs[steps[0]]) - set(ours[steps[0]]))
    return rows, only_ours, only_theirs


def refusal_row(case, args, model_dir, label, dpo_args, key):
    """Both sides must refuse the configuration: TRL's DPOTrainer raises ValueError, trl-host exits 2 naming `key`."""
    import subprocess

    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trl import DPOConfig, DPOTrainer

    config = {"trainer": "dpo", "model": model_dir, "train_dataset": DATA,
              "args": dict(COMMON, **dpo_args, output_dir=os.path.join(args.work, label + "-refused"),
                           report_to="none", num_threads=1)}
    path = os.path.join(args.work, label + "-refused.json")
    with open(path, "w") as f:
        json.dump(config, f)
    proc = subprocess.run([args.host, "train", path], env=pc.host_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    host_refused = proc.returncode == 2 and key in proc.stdout
    try:
        DPOTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir), processing_class=AutoTokenizer.from_pretrained(model_dir),
                   args=DPOConfig(output_dir=os.path.join(args.work, label + "-refused-trl"), **COMMON, **dpo_args,
                                  use_cpu=True, bf16=False, report_to=[]),
                   train_dataset=Dataset.from_list(pc.read_jsonl(DATA)[:8]))
        trl_refused, trl_message = False, "TRL accepted it"
    except ValueError as e:
        trl_refused, trl_message = True, str(e)
    note = (f"trl-host exit {proc.returncode}: {proc.stdout.strip().splitlines()[-1][:300] if proc.stdout.strip() else ''}"
            f" | TRL: {trl_message[:300]}")
    return pc.row(case, f"{label}: refused by both", 0.0 if host_refused and trl_refused else math.inf, 0.0, note)


def run_case(case, configs, refused=()):
    """The body of a DPO case: for each (label, dpo_args[, host callbacks]) run both sides and compare
    batches, metrics and final weights. A configuration that fails becomes a failing row."""
    args = pc.parse_args(case)
    torch = pc.single_thread()
    torch.manual_seed(pc.SEED)
    model_dir = pc.make_model(args.host, args.build, args.work)
    rows, one_sided = [], {}
    for label, dpo_args, host_callbacks, trl_callbacks, extra in configs:
        try:
            ours, host_dir, host_batches = host_dpo(args, model_dir, args.work, label, dpo_args, host_callbacks)
            theirs, state, trl_batches, trainer = trl_dpo(model_dir, args.work, label, dpo_args,
                                                          trl_callbacks() if trl_callbacks else None,
                                                          bema=bool(trl_callbacks))
        except Exception as e:  # noqa: BLE001 - reported as a failing row, the other configurations still run
            rows.append(pc.row(case, f"{label}: could not run", math.inf, 0.0, str(e)[-2000:]))
            continue
        rows.append(compare_batches(case, label, host_batches, trl_batches))
        metric_rows, only_ours, only_theirs = compare_logs(case, label, ours, theirs)
        rows += metric_rows
        one_sided[label] = {"only_trl_host": only_ours, "only_trl": only_theirs}
        worst, _, note = pc.compare_weights(host_dir, state)
        rows.append(pc.row(case, f"{label}: final weights", worst, pc.STEP_TOL,
                           f"model.safetensors after {COMMON['max_steps']} steps: {note}"))
        if extra:
            rows += extra(case, label, host_dir, trainer)
    for label, dpo_args, key in refused:
        try:
            rows.append(refusal_row(case, args, model_dir, label, dpo_args, key))
        except Exception as e:  # noqa: BLE001
            rows.append(pc.row(case, f"{label}: could not run", math.inf, 0.0, str(e)[-2000:]))
    pc.write_result(args, case, rows, {"one_sided_metrics": one_sided})
    print(json.dumps(one_sided))
