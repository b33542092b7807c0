#!/usr/bin/python3
"""Golden values for DoRA and trained biases (sdk/src/model/lora*.cpp), computed independently of the C++ code.

Reference, transcribed from PEFT's source (huggingface/peft, src/peft/tuners/lora/dora.py DoraLinearLayer and
variants.py DoraLinearVariant, fan_in_fan_out false, eval mode so dropout is the identity):

  lora_weight = B @ A                                               (out, in)
  weight_norm = ||W + scaling * lora_weight.detach()||_2 per output row, detached   (out,)
  mag_norm_scale = magnitude / weight_norm                          (out,)
  result = base(x)                                                  x W^T + b
  result += (mag_norm_scale - 1) * (result - b) + mag_norm_scale * B(A(x)) * scaling

merge (DoraLinearVariant.merge_safe): W' = (magnitude / ||W + scaling B A||_row)[:, None] * (W + scaling B A);
the bias is untouched. With bias="all" PEFT trains every ".bias" of the model in place (BaseTuner.
_mark_only_adapters_as_trainable) and saves them (_get_learnable_bias_state_dict): the bias of an adapted
projection is stored as "<module>.base_layer.bias", of any other module as "<module>.bias". disable_adapter()
runs the base layers, which hold the trained biases: the adapter-off output is the base weights with the
trained biases (PEFT warns "disabling adapter layers with bias configured to be 'all' does not produce the
same output as the base model would without adaption").

Model: the qwen2 golden model of make_model_golden.py (tests/golden/model/qwen2, float32; q/k/v biases), run
with that script's transformers transcription, the DoRA update added inside its F.linear calls.
Adapter: r=4, lora_alpha=8 (scaling 2), use_dora, bias "all", targets q_proj, v_proj, o_proj, down_proj; from a
CPU torch.Generator seeded with SEED: A, B normal(0, 0.2) (B nonzero so the adapter acts); magnitude =
||W + scaling B A||_row * (1 + 0.1 normal) (PEFT's init times noise, so the magnitude also acts); every q/k/v bias
moved by normal(0, 0.05) (the "trained" biases, saved with PEFT's names).

Recorded (float32): logits with the adapter, logits of the merged model, logits with the adapter disabled (base
weights, trained biases), and gradients of loss = mean over real tokens of sum_v logits^2 with respect to layer 0's
q_proj lora_A, lora_B and lora_magnitude_vector and layer 0's k_proj bias (the weight norm detached, as PEFT).
Tolerance used by tests/unit/lora_dora_test.cpp: logits |ours - golden| <= 1e-4 + 1e-4·|golden| at real tokens;
gradients 1e-4 + 1e-3·|golden|.

Run: /usr/bin/python3 tests/golden/make_lora_dora_golden.py   (needs tests/golden/model/qwen2 from
make_model_golden.py; writes tests/golden/lora/qwen2_dora/ and tests/golden/lora_dora_golden.json)
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_model_golden as model_golden  # noqa: E402
from make_lora_golden import read_safetensors_f32, module_of  # noqa: E402

SEED = 20251126
R, ALPHA = 4, 8
TARGETS = ["q_proj", "v_proj", "o_proj", "down_proj"]
OUT_DIR = os.path.join(HERE, "lora", "qwen2_dora")
PREFIX = "base_model.model."


def main():
    torch.set_num_threads(1)
    base_dir = os.path.join(HERE, "model", "qwen2")
    with open(os.path.join(base_dir, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors_f32(os.path.join(base_dir, "model.safetensors"))
    with open(os.path.join(HERE, "model_golden.json")) as f:
        inputs = json.load(f)["models"]["qwen2"]
    input_ids = torch.tensor(inputs["input_ids"])
    attention_mask = torch.tensor(inputs["attention_mask"])
    assert any(n.endswith(".bias") for n in w), "the qwen2 golden model must have q/k/v biases"

    gen = torch.Generator().manual_seed(SEED)
    scaling = ALPHA / R
    adapters = {}  # weight name -> [A (r, in), B (out, r), magnitude (out,)]
    for name in list(w):
        if not name.endswith(".weight") or module_of(name).split(".")[-1] not in TARGETS:
            continue
        out_f, in_f = w[name].shape
        A = torch.empty(R, in_f).normal_(0.0, 0.2, generator=gen)
        B = torch.empty(out_f, R).normal_(0.0, 0.2, generator=gen)
        norm = torch.linalg.norm(w[name] + scaling * (B @ A), dim=1)
        magnitude = norm * (1.0 + 0.1 * torch.empty(out_f).normal_(0.0, 1.0, generator=gen))
        adapters[name] = [A, B, magnitude]
    trained = dict(w)  # base weights with the trained biases
    for name in list(w):
        if name.endswith(".bias"):
            trained[name] = w[name] + torch.empty(w[name].shape).normal_(0.0, 0.05, generator=gen)

    plain_linear = F.linear

    def dora_forward(weights, adapter_of):
        def dora_linear(x, weight, bias=None):
            result = plain_linear(x, weight, bias)
            if id(weight) not in adapter_of:
                return result
            A, B, magnitude = adapter_of[id(weight)]
            lora_weight = B @ A
            weight_norm = torch.linalg.norm(weight + scaling * lora_weight.detach(), dim=1).detach()
            mag_norm_scale = (magnitude / weight_norm).view(1, -1)
            base_result = result - bias if bias is not None else result
            lora_result = plain_linear(plain_linear(x, A), B)
            return result + (mag_norm_scale - 1) * base_result + mag_norm_scale * lora_result * scaling

        F.linear = dora_linear
        try:
            return model_golden.forward(cfg, weights, input_ids, attention_mask)
        finally:
            F.linear = plain_linear

    adapter_of = {id(trained[name]): ab for name, ab in adapters.items()}
    with torch.no_grad():
        logits = dora_forward(trained, adapter_of)
        disabled_logits = model_golden.forward(cfg, trained, input_ids, attention_mask)
        merged = dict(trained)
        for name, (A, B, magnitude) in adapters.items():
            combined = w[name] + scaling * (B @ A)
            merged[name] = (magnitude / torch.linalg.norm(combined, dim=1)).view(-1, 1) * combined
        merged_logits = model_golden.forward(cfg, merged, input_ids, attention_mask)
        base_logits = model_golden.forward(cfg, w, input_ids, attention_mask)

    # Gradients: fresh leaves for layer 0's q_proj adapter and k_proj bias.
    q_name = "model.layers.0.self_attn.q_proj.weight"
    k_bias = "model.layers.0.self_attn.k_proj.bias"
    grad_weights = dict(trained)
    grad_weights[k_bias] = trained[k_bias].clone().requires_grad_(True)
    leaves = {n: [t.clone().requires_grad_(True) for t in ab] for n, ab in adapters.items()}
    grad_adapter_of = {id(grad_weights[n]): ab for n, ab in leaves.items()}
    out = dora_forward(grad_weights, grad_adapter_of)
    real = attention_mask.bool()
    loss = out[real].pow(2).sum(-1).mean()
    loss.backward()
    q_leaves = leaves[q_name]
    q_prefix = PREFIX + module_of(q_name)
    grads = {
        q_prefix + ".lora_A.weight": q_leaves[0].grad,
        q_prefix + ".lora_B.weight": q_leaves[1].grad,
        q_prefix + ".lora_magnitude_vector": q_leaves[2].grad,
        PREFIX + "model.layers.0.self_attn.k_proj.bias": grad_weights[k_bias].grad,
    }

    os.makedirs(OUT_DIR, exist_ok=True)
    tensors = []
    adapted_modules = {module_of(n) for n in adapters}
    for name in w:  # PEFT's state_dict order: base_layer (bias), lora_A, lora_B, lora_magnitude_vector
        module = name.rsplit(".", 1)[0]
        if name.endswith(".bias"):
            saved = module + (".base_layer.bias" if module in adapted_modules else ".bias")
            tensors.append((PREFIX + saved, trained[name]))
        if name in adapters:
            A, B, magnitude = adapters[name]
            tensors.append((PREFIX + module + ".lora_A.weight", A))
            tensors.append((PREFIX + module + ".lora_B.weight", B))
            tensors.append((PREFIX + module + ".lora_magnitude_vector", magnitude))
    model_golden.write_safetensors(os.path.join(OUT_DIR, "adapter_model.safetensors"), tensors)
    config = {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "tests/golden/model/qwen2",
        "bias": "all", "corda_config": None, "eva_config": None, "exclude_modules": None, "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "layer_replication": None, "layers_pattern": None,
        "layers_to_transform": None, "loftq_config": {}, "lora_alpha": ALPHA, "lora_bias": False,
        "lora_dropout": 0.1, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "peft_version": "0.17.0", "r": R, "rank_pattern": {}, "revision": None,
        "target_modules": sorted(TARGETS), "task_type": "CAUSAL_LM", "trainable_token_indices": None,
        "use_dora": True, "use_qalora": False, "use_rslora": False,
    }
    with open(os.path.join(OUT_DIR, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    golden = {
        "reference": "PEFT DoRA (dora.py / variants.py) + bias='all', transcribed; qwen2 golden model",
        "tolerance": {"logits": {"rtol": 1e-4, "atol": 1e-4}, "grads": {"rtol": 1e-3, "atol": 1e-4}},
        "seed": SEED, "dtype": "float32", "r": R, "lora_alpha": ALPHA,
        "input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"],
        "logits": logits.tolist(), "merged_logits": merged_logits.tolist(),
        "disabled_logits": disabled_logits.tolist(), "loss": loss.item(),
        "grads": {name: g.tolist() for name, g in grads.items()},
    }
    with open(os.path.join(HERE, "lora_dora_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("saved", len(tensors), "tensors; max |dora - base| logit", (logits - base_logits).abs().max().item(),
          "max |disabled - base|", (disabled_logits - base_logits).abs().max().item(),
          "max |grad|", {k.rsplit(".", 2)[-2]: g.abs().max().item() for k, g in grads.items()})


if __name__ == "__main__":
    main()
