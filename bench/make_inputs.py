#!/usr/bin/env python3
"""Writes the token ids every benchmark workload reads, so trl-host and the PyTorch-eager peer do the
same work on the same data. Usage: make_inputs.py --vocab-size V --out FILE [--seed S].

Workloads (sizes are the issue's, bench/README.md):
  dpo       4 pairs; each row is a 128-token prompt + a 128-token completion (256 tokens, no padding)
  grpo      4 prompts x 4 generations; 64-token prompts, 64 new tokens each; `check_completions` are
            fixed completions on which both sides compute the loss of the equal-work check
  generate  8 prompts of 64 tokens, 128 new tokens each
Ids are drawn uniformly from [1, V) with numpy's PCG64 (seed 1234 by default); no EOS is ever passed,
so every row generates exactly max_new_tokens.
"""
import argparse
import json

import numpy as np


def ids(rng, n, vocab):
    return rng.integers(1, vocab, size=n).tolist()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=1234)
    a = parser.parse_args()
    rng = np.random.Generator(np.random.PCG64(a.seed))
    V = a.vocab_size

    dpo_pairs = []
    for _ in range(4):
        dpo_pairs.append({"prompt": ids(rng, 128, V), "chosen": ids(rng, 128, V), "rejected": ids(rng, 128, V)})
    grpo_prompts = [ids(rng, 64, V) for _ in range(4)]
    grpo_check = [ids(rng, 64, V) for _ in range(16)]
    gen_prompts = [ids(rng, 64, V) for _ in range(8)]

    inputs = {
        "seed": a.seed,
        "vocab_size": V,
        "dpo": {"beta": 0.1, "learning_rate": 1e-4, "max_grad_norm": 1.0, "pairs": dpo_pairs},
        "grpo": {"num_generations": 4, "max_new_tokens": 64, "temperature": 1.0, "epsilon": 0.2,
                 "learning_rate": 1e-4, "max_grad_norm": 1.0, "sampling_seed": 7,
                 "prompts": grpo_prompts, "check_completions": grpo_check},
        "generate": {"max_new_tokens": 128, "temperature": 1.0, "sampling_seed": 7, "prompts": gen_prompts},
    }
    with open(a.out, "w") as f:
        json.dump(inputs, f)


if __name__ == "__main__":
    main()
