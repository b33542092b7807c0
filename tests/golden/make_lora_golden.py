#!/usr/bin/python3
"""Golden values for LoRA adapters (sdk/src/model/lora*.cpp), computed independently of the C++ code.

Reference: PEFT's lora.Linear forward (peft/tuners/lora/layer.py): result = base(x) + lora_B(lora_A(dropout(x)))
* scaling, scaling = lora_alpha / r (use_rslora false), dropout off (eval). The base model is the qwen2 golden
model of make_model_golden.py (tests/golden/model/qwen2, float32), run with that script's transformers
transcription; the LoRA update is added inside its F.linear calls for the adapted weights (the unmerged path),
and separately the merged weights W + scaling * (B @ A) (PEFT's merge_and_unload) are run as a plain model.

Adapter: r=4, lora_alpha=8 (scaling 2), target_modules q_proj, v_proj, o_proj, down_proj, A and B drawn
normal(0, 0.2) from a CPU torch.Generator seeded with SEED (B nonzero, so the adapter changes the output).
Written the way PEFT's save_pretrained writes it: tests/golden/lora/qwen2/adapter_model.safetensors (keys
base_model.model.<module>.lora_A.weight / lora_B.weight, metadata format=pt) and adapter_config.json with the
fields of a recent PEFT (0.17, including ones trl-host ignores).

Inputs: the qwen2 golden inputs (two rows of 7 tokens, the second right-padded by 2). Recorded: logits with the
adapter (B, T, V) and logits of the merged model, float32. Tolerance used by tests/unit/lora_test.cpp:
|ours - golden| <= 1e-4 + 1e-4·|golden| where attention_mask is 1 (the model golden's tolerance).

Run: /usr/bin/python3 tests/golden/make_lora_golden.py   (needs tests/golden/model/qwen2 from
make_model_golden.py; writes tests/golden/lora/qwen2/ and tests/golden/lora_golden.json)
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_model_golden as model_golden  # noqa: E402

SEED = 20251125
R, ALPHA = 4, 8
TARGETS = ["q_proj", "v_proj", "o_proj", "down_proj"]
OUT_DIR = os.path.join(HERE, "lora", "qwen2")


def read_safetensors_f32(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", name
        a, b = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e["shape"]).clone()
    return out


def module_of(weight_name):
    return weight_name[: -len(".weight")]


def main():
    base_dir = os.path.join(HERE, "model", "qwen2")
    with open(os.path.join(base_dir, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors_f32(os.path.join(base_dir, "model.safetensors"))
    with open(os.path.join(HERE, "model_golden.json")) as f:
        inputs = json.load(f)["models"]["qwen2"]
    input_ids = torch.tensor(inputs["input_ids"])
    attention_mask = torch.tensor(inputs["attention_mask"])

    gen = torch.Generator().manual_seed(SEED)
    scaling = ALPHA / R
    adapters = {}  # weight name -> (A (r, in), B (out, r))
    for name in sorted(w, key=lambda n: list(w).index(n)):
        if not name.endswith(".weight") or module_of(name).split(".")[-1] not in TARGETS:
            continue
        out_f, in_f = w[name].shape
        A = torch.empty(R, in_f).normal_(0.0, 0.2, generator=gen)
        B = torch.empty(out_f, R).normal_(0.0, 0.2, generator=gen)
        adapters[name] = (A, B)

    # Unmerged: PEFT's lora.Linear, applied inside the reference forward's F.linear calls.
    by_id = {id(w[name]): ab for name, ab in adapters.items()}
    plain_linear = F.linear

    def lora_linear(x, weight, bias=None):
        y = plain_linear(x, weight, bias)
        if id(weight) in by_id:
            A, B = by_id[id(weight)]
            y = y + plain_linear(plain_linear(x, A), B) * scaling
        return y

    with torch.no_grad():
        F.linear = lora_linear
        try:
            logits = model_golden.forward(cfg, w, input_ids, attention_mask)
        finally:
            F.linear = plain_linear
        merged_w = dict(w)
        for name, (A, B) in adapters.items():
            merged_w[name] = w[name] + (B @ A) * scaling
        merged_logits = model_golden.forward(cfg, merged_w, input_ids, attention_mask)

    os.makedirs(OUT_DIR, exist_ok=True)
    tensors = []
    for name, (A, B) in adapters.items():
        prefix = "base_model.model." + module_of(name)
        tensors.append((prefix + ".lora_A.weight", A))
        tensors.append((prefix + ".lora_B.weight", B))
    model_golden.write_safetensors(os.path.join(OUT_DIR, "adapter_model.safetensors"), tensors)
    config = {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "tests/golden/model/qwen2",
        "bias": "none", "corda_config": None, "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
        "layers_to_transform": None, "loftq_config": {}, "lora_alpha": ALPHA, "lora_bias": False,
        "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "peft_version": "0.17.0", "r": R, "rank_pattern": {}, "revision": None,
        "target_modules": sorted(TARGETS), "task_type": "CAUSAL_LM", "trainable_token_indices": None,
        "use_dora": False, "use_qalora": False, "use_rslora": False,
    }
    with open(os.path.join(OUT_DIR, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    golden = {"tolerance": {"rtol": 1e-4, "atol": 1e-4}, "seed": SEED, "dtype": "float32", "r": R,
              "lora_alpha": ALPHA, "input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"],
              "logits": logits.tolist(), "merged_logits": merged_logits.tolist()}
    with open(os.path.join(HERE, "lora_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("adapted", len(adapters), "projections; max |adapter - base| logit change",
          (logits - model_golden.forward(cfg, w, input_ids, attention_mask)).abs().max().item())


if __name__ == "__main__":
    main()
