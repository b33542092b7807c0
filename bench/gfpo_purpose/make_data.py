#!/usr/bin/env python3
"""Writes the data of the GFPO purpose study (bench/gfpo_purpose/run.sh; deterministic: same files every run).

  data/number_train.jsonl     96 prompt-only rows {prompt, target} for the GRPO/GFPO runs
  data/number_warmup.jsonl   512 preference pairs {prompt, chosen, rejected} for the DPO+SFT warm-up

The task ("number"): answer a request with a reply that contains a number. The built-in `format` reward
(pattern [0-9], search mode) gives 1.0 when a digit appears anywhere, so rambling is tolerated and every
extra byte is one more chance to score: under GRPO the long replies that happen to score get the positive
advantages, so length can grow with the reward. A short reply can score just as well ("7"), which is the
GFPO paper's setting: equal accuracy is reachable with short completions.

Unlike the earlier "digits" study (examples/data/make_gfpo_digits.py: 4 % digits in the warm-up replies, a
starting hit rate of about 12 %), the warm-up here makes a model that already answers: its short chosen
replies carry digits at 12 % a byte, so at the start a reply scores about half the time (0.42-0.49 over the
first 10 steps of the runs) and GFPO's kept (short) rows carry a learning signal from the first step. The
rejected replies are long (18-32 bytes) and drawn from the same byte mix, so DPO learns "stop early", not
which bytes to use.

Run: python3 bench/gfpo_purpose/make_data.py   (rewrites the files under bench/gfpo_purpose/data/)
     python3 bench/gfpo_purpose/make_data.py --digit-share 0.04 --out DIR   (the check in docs/gfpo.md:
     the same task with the earlier study's 4 % warm-up replies)
"""
import argparse
import json
import os
import random

SEED = 20251206
LETTERS = "abcdefghijklmnopqrstuvwxyz "
DIGITS = "0123456789"
DIGIT_SHARE = 0.12  # of the bytes in warm-up replies (--digit-share)

SUBJECTS = ["the lamp", "a red box", "the garden", "my bike", "the old map", "a blue cup", "the river",
            "our kitchen", "the small key"]
ASKS = ["How many is {s} worth?", "Give a number for {s}.", "Count {s}.", "Rate {s}."]


def reply(rng, lo, hi, share):
    n = rng.randint(lo, hi)
    return "".join(rng.choice(DIGITS) if rng.random() < share else rng.choice(LETTERS) for _ in range(n))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--digit-share", type=float, default=DIGIT_SHARE)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))
    opts = parser.parse_args()
    if not 0.0 <= opts.digit_share <= 1.0:
        parser.error(f"--digit-share must be in [0, 1], got {opts.digit_share}")
    here = opts.out
    os.makedirs(here, exist_ok=True)
    rng = random.Random(SEED)
    train = []
    for i in range(96):
        s = SUBJECTS[i % len(SUBJECTS)]
        train.append({"prompt": ASKS[rng.randrange(len(ASKS))].format(s=s) + " ", "target": "a number"})
    rng.shuffle(train)
    warmup = []
    for _ in range(512):
        s = SUBJECTS[rng.randrange(len(SUBJECTS))]
        ask = ASKS[rng.randrange(len(ASKS))].format(s=s) + " "
        warmup.append({"prompt": ask, "chosen": reply(rng, 1, 6, opts.digit_share),
                       "rejected": reply(rng, 18, 32, opts.digit_share)})
    for name, rows in {"number_train.jsonl": train, "number_warmup.jsonl": warmup}.items():
        with open(os.path.join(here, name), "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
        print(f"wrote {len(rows)} rows to {os.path.join(here, name)}")


if __name__ == "__main__":
    main()
