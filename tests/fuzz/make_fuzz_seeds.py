#!/usr/bin/python3
"""Writes the fuzzers' fixed tokenizer and the seed corpora of the tokenizer_json, bpe_encode, json_rows and
run_config targets (scripts/fuzz.sh). The safetensors seeds have their own script (make_seed_corpus.py).

- bpe_tokenizer/tokenizer.json: a byte-level BPE whose 300 merges are learned here from the bundled
  preference data (examples/data/prefs_train.jsonl), with the Qwen2 Split pre-tokenizer, a ByteLevel
  decoder and three special added tokens; bpe_encode_fuzz checks decode(encode(text)) == text on it.
- corpus/<target>/seed-*: hand-written starting points (valid and broken) in each target's input layout
  (see the comment at the top of each tests/fuzz/<target>_fuzz.cpp).
Deterministic (no randomness). Run from anywhere: /usr/bin/python3 tests/fuzz/make_fuzz_seeds.py
"""
import collections
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def byte_symbols():
    """GPT-2's bytes_to_unicode: byte -> one-character string."""
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


SYM = byte_symbols()
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
              r"\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def learn_merges(texts, count):
    """Plain BPE on words split roughly as the Qwen2 regex does (only the merge list matters here)."""
    words = collections.Counter()
    for t in texts:
        for w in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+|[0-9]| ?[^\sA-Za-z0-9]+|\s+", t):
            words[tuple(SYM[b] for b in w.encode())] += 1
    merges = []
    for _ in range(count):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        merged = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    return merges


def tokenizer_json(merges, pre_tokenizer, added=True, pair_form=False, normalizer=None, post_processor=None):
    vocab = {SYM[b]: b for b in range(256)}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    added_tokens = []
    if added:
        for i, s in enumerate(SPECIALS):
            added_tokens.append({"id": len(vocab) + i, "content": s, "single_word": False, "lstrip": False,
                                 "rstrip": False, "normalized": False, "special": True})
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": vocab,
                      "merges": [[a, b] for a, b in merges] if pair_form else [a + " " + b for a, b in merges]}}


QWEN_PRE = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": QWEN_SPLIT}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
GPT2_PRE = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    rows = [json.loads(line) for line in open(os.path.join(ROOT, "examples", "data", "prefs_train.jsonl"))]
    texts = [r[k] for r in rows for k in ("prompt", "chosen", "rejected") if isinstance(r.get(k), str)]
    merges = learn_merges(texts, 300)
    tok = tokenizer_json(merges, QWEN_PRE)
    write(os.path.join(HERE, "bpe_tokenizer", "tokenizer.json"), json.dumps(tok, ensure_ascii=False, indent=1))
    write(os.path.join(HERE, "bpe_tokenizer", "tokenizer_config.json"),
          json.dumps({"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                      "clean_up_tokenization_spaces": False}, indent=1))

    small = merges[:40]
    tj = os.path.join(HERE, "corpus", "tokenizer_json")
    seeds = {
        "seed-qwen-split.json": tokenizer_json(small, QWEN_PRE),
        "seed-gpt2-regex-pair-merges.json": tokenizer_json(small, GPT2_PRE, pair_form=True),
        "seed-no-added.json": tokenizer_json(small, GPT2_PRE, added=False),
        "seed-nfc-template.json": tokenizer_json(small, QWEN_PRE, normalizer={"type": "NFC"}, post_processor={
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [256 + len(small)],
                                                 "tokens": ["<|endoftext|>"]}}}),
        "seed-split-removed-sequence-post.json": tokenizer_json(small, {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": False}]},
            normalizer={"type": "Sequence", "normalizers": [{"type": "NFKC"}]},
            post_processor={"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}]}),
    }
    for name, doc in seeds.items():
        write(os.path.join(tj, name), json.dumps(doc, ensure_ascii=False))
    write(os.path.join(tj, "seed-truncated.json"), json.dumps(seeds["seed-qwen-split.json"])[:300])
    write(os.path.join(tj, "seed-unigram.json"), json.dumps({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}))

    be = os.path.join(HERE, "corpus", "bpe_encode")
    for i, text in enumerate([
            "Hello world! The quick brown fox jumps over the lazy dog.",
            "<|im_start|>user\nWhat's 12+30?<|im_end|>\n<|im_start|>assistant\n42<|endoftext|>",
            "  leading and trailing spaces   \r\n\tand tabs\n\n",
            "caf\u00e9 na\u00efve \u4f60\u597d \u0645\u0631\u062d\u0628\u0627 \U0001F600 I'm you'll they'd",
            "<|endoftext|<|im_end|>>x<|im_start|",
            "1234567890 3.14159 -2e10",
            texts[0]]):
        write(os.path.join(be, "seed-%d.txt" % i), text)
    write(os.path.join(be, "seed-invalid-utf8.txt"), b"abc\xc3(\xed\xa0\x80\xf4\x90\x80\x80\xff")

    jr = os.path.join(HERE, "corpus", "json_rows")
    jsonl = b"\x00"  # first byte even: .jsonl
    jsn = b"\x01"    # odd: .json
    write(os.path.join(jr, "seed-jsonl.bin"), jsonl + open(os.path.join(ROOT, "examples", "data", "prefs_train.jsonl"),
                                                            "rb").read()[:2000])
    write(os.path.join(jr, "seed-jsonl-bom-crlf-blank.bin"),
          jsonl + b'\xef\xbb\xbf{"prompt": "a", "chosen": "b", "rejected": "c"}\r\n\r\n{"prompt": "d"}\r\n')
    write(os.path.join(jr, "seed-jsonl-bad-line.bin"), jsonl + b'{"a": 1}\n{"a": \n[1, 2]\n')
    write(os.path.join(jr, "seed-json-array.bin"),
          jsn + b'[\n  {"prompt": "a", "chosen": "b"},\n  {"prompt": "c",\n   "chosen": "d"}\n]\n')
    write(os.path.join(jr, "seed-json-train-split.bin"), jsn + b'{"train": [{"x": 1}, {"y": [1, {"z": null}]}]}')
    write(os.path.join(jr, "seed-json-not-rows.bin"), jsn + b'{"test": 3}')
    write(os.path.join(jr, "seed-empty.bin"), jsonl)

    rc = os.path.join(HERE, "corpus", "run_config")
    dpo = open(os.path.join(ROOT, "examples", "dpo.json"), "rb").read()
    write(os.path.join(rc, "seed-dpo-example.bin"), b"\x00" + dpo)
    write(os.path.join(rc, "seed-dpo-overrides.bin"), b"\x00" + dpo + b"\x00args.max_steps=3\nbeta=0.2\nmodel=\"m\"\n"
          b"callbacks=[{\"name\": \"bema\"}]\nargs.a.b.c=1")
    write(os.path.join(rc, "seed-full.bin"), b"\x00" + json.dumps({
        "trainer": "gfpo", "model": "m", "ref_model": None, "train_dataset": "d.jsonl", "eval_dataset": "e.jsonl",
        "reward_funcs": [{"name": "accuracy", "args": {"column": "answer"}}], "group_filter": {"name": "length"},
        "callbacks": [], "peft": {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]},
        "args": {"max_steps": 3}}, indent=1).encode())
    write(os.path.join(rc, "seed-yaml.bin"), b"\x01trainer: dpo\nmodel: m\ntrain_dataset: d.jsonl\nargs:\n"
          b"  beta: 0.1\n  max_steps: 3\ncallbacks:\n  - name: bema\n    args: {update_freq: 2}\n")
    write(os.path.join(rc, "seed-bad-json.bin"), b"\x00{\"trainer\": \"dpo\",\n \"model\": }\n")
    write(os.path.join(rc, "seed-unknown-key.bin"), b"\x00{\"trainr\": \"dpo\"}")


if __name__ == "__main__":
    main()
