#!/usr/bin/env python3
"""Writes the bundled demo preference data (deterministic: the same files on every run).

  prefs_train.jsonl  512 standard pairs {prompt, chosen, rejected} for `make demo`'s DPO run
  prefs_eval.jsonl    48 pairs whose requests (verb + object) never occur in training
  prefs_chat.jsonl    20 conversational pairs (system/user/assistant messages) for the chat path

The preference must be learnable by a tiny byte-level model trained from scratch in a few hundred DPO
steps, so the signal is lexical and consistent: a request ("Can you open the door?") gets a polite
reply as chosen ("Sure, happy to help with the door!") and a rude one as rejected ("No. Open it
yourself."). Both replies come from several templates, some naming the object, so a model cannot win by
length or by copying the prompt; only the polite/rude wording separates them. Every prompt+completion is
under 48 bytes, which keeps DPO steps short on two CPU cores.

Run: python3 examples/data/make_prefs.py   (rewrites the three files next to this script)
"""
import json
import os
import random

SEED = 20240611
MAX_BYTES = 48  # prompt + completion, without the EOS token the trainer appends

VERBS = ["open", "close", "fix", "find", "clean", "check", "bring", "move", "hold", "lock", "paint", "fill"]
OBJECTS = ["door", "box", "map", "book", "lamp", "cup", "key", "bag", "note", "desk", "jar", "pen", "sink", "fan"]
REQUESTS = ["Can you {v} the {o}?", "Please {v} the {o}.", "Could you {v} the {o}?", "Will you {v} the {o}?"]
POLITE = [
    " Sure, happy to help!",
    " Of course, gladly!",
    " Sure, I will {v} the {o}.",
    " Happy to help with the {o}!",
    " Yes, of course. Thanks!",
    " Gladly, one moment please.",
    " Sure thing, my pleasure!",
]
RUDE = [
    " No. Do it yourself.",
    " Ugh, not my problem.",
    " No, {v} the {o} yourself.",
    " Go away, I am busy.",
    " Why should I? No.",
    " Stop asking me that.",
    " Not now. Leave me alone.",
]

# Multi-turn and system-prompt conversations for the chat path: (system or None, [(user, assistant)...], user).
CHAT_SYSTEMS = [None, "You are a helpful assistant.", "Answer in one short sentence."]


def fill(template, verb, obj):
    return template.format(v=verb, o=obj)


def split_requests(rng):
    """All (verb, object) pairs, shuffled, split so that evaluation requests are unseen in training."""
    pairs = [(v, o) for v in VERBS for o in OBJECTS]
    rng.shuffle(pairs)
    return pairs[:24], pairs[24:]


def standard_rows(rng, requests, count):
    rows = []
    while len(rows) < count:
        verb, obj = rng.choice(requests)
        prompt = fill(rng.choice(REQUESTS), verb, obj)
        chosen = fill(rng.choice(POLITE), verb, obj)
        rejected = fill(rng.choice(RUDE), verb, obj)
        if max(len((prompt + chosen).encode()), len((prompt + rejected).encode())) >= MAX_BYTES:
            continue
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return rows


def chat_rows(rng, requests, count):
    rows = []
    for i in range(count):
        verb, obj = requests[i % len(requests)]
        system = CHAT_SYSTEMS[i % len(CHAT_SYSTEMS)]
        prompt = [] if system is None else [{"role": "system", "content": system}]
        if i % 4 == 3:  # a finished exchange before the request
            prompt += [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi, how can I help?"}]
        prompt.append({"role": "user", "content": fill(rng.choice(REQUESTS), verb, obj)})
        chosen = fill(rng.choice(POLITE), verb, obj).strip()
        rejected = fill(rng.choice(RUDE), verb, obj).strip()
        rows.append({
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        })
    return rows


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    rng = random.Random(SEED)
    eval_requests, train_requests = split_requests(rng)
    here = os.path.dirname(os.path.abspath(__file__))
    write_jsonl(os.path.join(here, "prefs_train.jsonl"), standard_rows(rng, train_requests, 512))
    write_jsonl(os.path.join(here, "prefs_eval.jsonl"), standard_rows(rng, eval_requests, 48))
    write_jsonl(os.path.join(here, "prefs_chat.jsonl"), chat_rows(rng, train_requests, 20))


if __name__ == "__main__":
    main()
