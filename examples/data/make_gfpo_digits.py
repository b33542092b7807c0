#!/usr/bin/env python3
"""Writes the bundled GFPO demonstration data (deterministic: the same files on every run).

  gfpo_digits_train.jsonl   96 prompt-only rows {prompt, target} for the gfpo runs
  gfpo_digits_eval.jsonl    16 rows whose notes never occur in training
  gfpo_warmup_prefs.jsonl  512 preference pairs {prompt, chosen, rejected} for the DPO warm-up

The task ("digits"): reply to a note with anything that contains a digit. The `format` reward checks it
with the pattern [0-9] in search mode, so a reply scores 1.0 as soon as one digit appears anywhere. That
makes the reward easier to reach with longer replies: each extra byte is one more chance to sample a
digit. This is the situation GFPO was made for (arXiv 2508.09726): under GRPO the long replies that happen
to hit earn the positive advantages, so length can grow with the reward; GFPO trains only on the shortest
(or the most reward per token) completions of each group. bench/gfpo_length/run.sh measures both, and
docs/gfpo.md reports what came out.

A model from `trl-host init-model` samples uniformly-ish from 320 ids and almost never ends a reply, so
every completion runs to max_completion_length and there is no length left to inflate. The warm-up pairs
teach it to stop: both replies are drawn from the same byte mix (lowercase letters, spaces, a few
digits), the chosen one short (1-6 bytes), the rejected one long (18-32 bytes), so DPO mainly learns "end
early", not which bytes to use. The `target` column documents the task for readers and for reward
functions that want it; the built-in format reward does not read it.

Run: python3 examples/data/make_gfpo_digits.py   (rewrites the three files next to this script)
"""
import json
import os
import random

SEED = 20250821
LETTERS = "abcdefghijklmnopqrstuvwxyz "
DIGITS = "0123456789"
DIGIT_SHARE = 0.04  # of the bytes in warm-up replies: digits stay possible but rare

SUBJECTS = ["the lamp", "a red box", "the garden", "my bike", "the old map", "a blue cup", "the river",
            "our kitchen", "the small key", "a paper boat", "the north road", "the bakery"]
ASKS = ["Reply to the note about {s}.", "Answer the note on {s}.", "Write back about {s}.", "Say something about {s}."]


def reply(rng, lo, hi):
    n = rng.randint(lo, hi)
    return "".join(rng.choice(DIGITS) if rng.random() < DIGIT_SHARE else rng.choice(LETTERS) for _ in range(n))


def prompts(rng, count, subjects):
    rows = []
    for i in range(count):
        s = subjects[i % len(subjects)]
        ask = ASKS[rng.randrange(len(ASKS))].format(s=s)
        rows.append({"prompt": ask + " ", "target": "a digit"})
    rng.shuffle(rows)
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(SEED)
    train_subjects, eval_subjects = SUBJECTS[:9], SUBJECTS[9:]
    files = {
        "gfpo_digits_train.jsonl": prompts(rng, 96, train_subjects),
        "gfpo_digits_eval.jsonl": prompts(rng, 16, eval_subjects),
        "gfpo_warmup_prefs.jsonl": [],
    }
    for _ in range(512):
        s = train_subjects[rng.randrange(len(train_subjects))]
        ask = ASKS[rng.randrange(len(ASKS))].format(s=s) + " "
        files["gfpo_warmup_prefs.jsonl"].append(
            {"prompt": ask, "chosen": reply(rng, 1, 6), "rejected": reply(rng, 18, 32)})
    for name, rows in files.items():
        with open(os.path.join(here, name), "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
        print(f"wrote {len(rows)} rows to {name}")


if __name__ == "__main__":
    main()
