#!/usr/bin/env python3
"""The real-TRL peer of bench/trl_bench: TRL's own DPOTrainer and GRPOTrainer training steps on the same model
(transformers' Qwen2ForCausalLM from the model dir), batch and data, with TRL's and transformers' defaults for
everything that does not change the numbers (attention implementation, optimizer, logging, ...). Runs on the
PyPI environment build/venvs/trl (scripts/python-env.sh trl: trl 1.16.0, transformers 5.25.0, torch 2.15.0).

  trl_peer.py --model DIR --inputs FILE --workload dpo|grpo --steps N --warmup W --threads K --out FILE [--bf16]

Precision: TRL's defaults include bf16=True and gradient_checkpointing=True for both trainers (DPOConfig and
GRPOConfig), so without --bf16 the step runs as a TRL user's does: the model's forward under
torch.autocast("cpu", bfloat16) (accelerate wraps it) and every decoder layer's forward run again in the
backward pass. --bf16 (dpo only: trl_bench's and tuned.py's --bf16) keeps bf16=True and turns gradient
checkpointing off: the same work as trl-host's bf16 step, which keeps its activations. The output records
both settings ("bf16", "gradient_checkpointing"); bench/compare.py prints them beside the ratios.

Set to match the other sides: learning rate, beta, max_grad_norm, batch size (4 pairs; 4 prompts x G 4),
max_completion_length, temperature, epsilon, loss_type dapo and beta 0 (already TRL's defaults), no EOS
during generation (generation_kwargs eos_token_id None, as trl_bench passes none).
Token ids go in as they are: a word-level tokenizer with one token "<i>" per id (so the prompt text of GRPO
tokenizes back to exactly the benchmark's ids), and DPOTrainer's dataset preparation is given the ids
directly (`_prepare_dataset` returns prompt_ids / chosen_ids / rejected_ids) instead of tokenizing text, which
would append an EOS to every completion. Nothing inside the timed step is changed.
Time per optimizer step: from the callback's on_step_begin to its on_step_end (the batch, the forward and
backward passes, clipping, the optimizer, the scheduler), warm-up steps excluded.
Equal work: DPO the loss and grad norm of the first two steps (the loss as compute_loss returned it);
GRPO, before training, TRL's own _compute_loss and _get_per_token_logps_and_entropies on the inputs file's
fixed completions (the other sides' check), plus every timed step's completion length (all rows full).
"""
import argparse
import json
import math
import os
import resource
import time

import torch


def word_tokenizer(vocab_size, eos_id):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({f"<{i}>": i for i in range(vocab_size)}, unk_token=f"<{eos_id}>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"<\d+>"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    eos = f"<{eos_id}>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos, pad_token=eos)


def text(ids):
    return "".join(f"<{i}>" for i in ids)


class StepTimer:
    """A TrainerCallback that times each optimizer step (wall and process CPU seconds)."""

    def __init__(self, warmup):
        from transformers import TrainerCallback

        timer = self
        self.warmup, self.wall, self.cpu = warmup, [], []

        class Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                timer.t0, timer.c0 = time.perf_counter(), time.process_time()

            def on_step_end(self, args, state, control, **kwargs):
                wall, cpu = time.perf_counter() - timer.t0, time.process_time() - timer.c0
                if state.global_step > timer.warmup:
                    timer.wall.append(wall)
                    timer.cpu.append(cpu)

        self.callback = Callback()


def common_args(cfg, args, out_dir, batch):
    extra = dict(bf16=True, gradient_checkpointing=False) if args.bf16 else {}  # module docstring, "Precision"
    return dict(output_dir=out_dir, per_device_train_batch_size=batch, max_steps=args.warmup + args.steps,
                learning_rate=cfg["learning_rate"], max_grad_norm=cfg["max_grad_norm"], logging_steps=1,
                report_to="none", save_strategy="no", seed=0, use_cpu=True, dataloader_num_workers=0, **extra)


def precision(config):
    """What the step ran with: TRL's mixed precision and gradient checkpointing (module docstring)."""
    return {"bf16": bool(config.bf16), "gradient_checkpointing": bool(config.gradient_checkpointing)}


def load_policy(model_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)


def dpo_workload(args, inputs, out_dir):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    cfg = inputs["dpo"]
    pairs = cfg["pairs"]
    rows = {"prompt_ids": [p["prompt"] for p in pairs], "chosen_ids": [p["chosen"] for p in pairs],
            "rejected_ids": [p["rejected"] for p in pairs]}
    losses = []

    class Trainer(DPOTrainer):
        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            return Dataset.from_dict(rows)  # the ids as they are (module docstring)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if len(losses) < 2:
                losses.append((loss[0] if return_outputs else loss).detach().item())
            return loss

    model = load_policy(args.model)
    timer = StepTimer(args.warmup)
    config = DPOConfig(**common_args(cfg, args, out_dir, len(pairs)), beta=cfg["beta"])
    trainer = Trainer(model=model, args=config, train_dataset=Dataset.from_dict({"prompt": [""], "chosen": [""],
                      "rejected": [""]}), processing_class=word_tokenizer(inputs["vocab_size"], model.config.eos_token_id),
                      callbacks=[timer.callback])
    trainer.train()
    logs = [h for h in trainer.state.log_history if "grad_norm" in h]
    checks = [{"loss": losses[i], "grad_norm": float(logs[i]["grad_norm"])} for i in range(min(2, len(losses)))]
    tokens = sum(2 * len(p["prompt"]) + len(p["chosen"]) + len(p["rejected"]) for p in pairs)
    return {"step_s": timer.wall, "step_cpu_s": timer.cpu, "tokens_per_step": tokens, "check": checks,
            **precision(config), "config": {"optim": str(config.optim), "lr_scheduler": str(config.lr_scheduler_type),
                       "loss_type": str(config.loss_type)}}


def grpo_workload(args, inputs, out_dir):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    cfg = inputs["grpo"]
    G, C = cfg["num_generations"], cfg["max_new_tokens"]
    lengths = []

    def even_fraction(prompts, completions, completion_ids, **kwargs):
        lengths.extend(len(c) for c in completion_ids)
        return [sum(1 for t in c if t % 2 == 0) / len(c) for c in completion_ids]

    model = load_policy(args.model)
    tokenizer = word_tokenizer(inputs["vocab_size"], model.config.eos_token_id)
    timer = StepTimer(args.warmup)
    config = GRPOConfig(**common_args(cfg, args, out_dir, len(cfg["prompts"]) * G), num_generations=G,
                        max_completion_length=C, temperature=cfg["temperature"], epsilon=cfg["epsilon"],
                        loss_type="dapo", beta=0.0, generation_kwargs={"eos_token_id": None})
    dataset = Dataset.from_dict({"prompt": [text(p) for p in cfg["prompts"]]})
    trainer = GRPOTrainer(model=model, reward_funcs=even_fraction, args=config, train_dataset=dataset,
                          processing_class=tokenizer, callbacks=[timer.callback])

    # Equal-work check before training: TRL's own loss and statistics on the fixed completions.
    prompt_ids = torch.tensor([p for p in cfg["prompts"] for _ in range(G)])
    completion_ids = torch.tensor(cfg["check_completions"])
    N = completion_ids.shape[0]
    rewards = (completion_ids % 2 == 0).float().mean(-1).view(-1, G)
    advantages = ((rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + 1e-4)).view(-1)
    batch = {"prompt_ids": prompt_ids, "prompt_mask": torch.ones_like(prompt_ids), "completion_ids": completion_ids,
             "completion_mask": torch.ones_like(completion_ids), "advantages": advantages,
             "num_items_in_batch": torch.tensor(float(N * C))}
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop; one step, no accumulation
    input_ids = torch.cat([prompt_ids, completion_ids], 1)
    with torch.no_grad():
        logps, entropies, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, input_ids, torch.ones_like(input_ids), C, compute_entropy=True)
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    grad_norm = float(torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), math.inf))
    trainer.model.zero_grad(set_to_none=True)
    trainer._metrics = {"train": type(trainer._metrics["train"])(list), "eval": type(trainer._metrics["eval"])(list)}
    check = {"loss": loss.item(), "grad_norm": grad_norm, "mean_logp": logps.mean().item(),
             "mean_entropy": entropies.mean().item()}

    trainer.train()
    if any(n != C for n in lengths):
        raise RuntimeError(f"GRPO: completions of {sorted(set(lengths))} tokens, expected all {C}")
    tokens = N * (len(cfg["prompts"][0]) + C)
    return {"step_s": timer.wall, "step_cpu_s": timer.cpu, "tokens_per_step": tokens, "check": [check],
            "completion_tokens": len(lengths) * C, **precision(config)}


def main():
    parser = argparse.ArgumentParser(description="real-TRL peer of trl_bench")
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--workload", required=True, choices=["dpo", "grpo"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--bf16", action="store_true",
                        help="dpo: bf16=True with gradient checkpointing off (module docstring, \"Precision\")")
    args = parser.parse_args()
    if args.bf16 and args.workload != "dpo":
        parser.error("--bf16 is a dpo option (as trl_bench's)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.inputs) as f:
        inputs = json.load(f)
    out_dir = os.path.join(os.path.dirname(os.path.abspath(args.out)), f"trl_{args.workload}_output")
    result = {"impl": "trl", "workload": args.workload, "threads": torch.get_num_threads(), "torch": torch.__version__}
    import transformers
    import trl
    result["versions"] = {"trl": trl.__version__, "transformers": transformers.__version__}
    result.update(dpo_workload(args, inputs, out_dir) if args.workload == "dpo" else grpo_workload(args, inputs, out_dir))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
