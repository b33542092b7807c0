#!/usr/bin/python3
"""Golden values for the causal LM (sdk/src/model) and generation (sdk/src/generate), computed independently
of the C++ code.

Reference: transformers' modeling_llama.py / modeling_qwen2.py / modeling_qwen3.py / modeling_mistral.py
(eager attention path), modeling_rope_utils.py (default, linear, llama3 inverse frequencies) and
generation/logits_process.py (RepetitionPenalty, Temperature, TopK, TopP, MinP in _get_logits_processor's
order), transcribed below with plain torch ops. Keys and values are repeated per query head (repeat_kv) and
masked with the dtype's minimum, as transformers does; the C++ code groups heads without repeating and masks
with -inf, so the two share no attention code. transformers itself is not needed; only Debian's
python3-torch 1.13.

Models: four tiny hand-written configs (vocab 64, hidden 32, 2 layers, 4 query / 2 key-value heads):
  qwen2    Qwen2ForCausalLM, q/k/v biases, untied, weights stored as F32
  llama    LlamaForCausalLM, no biases, untied, llama3 RoPE scaling, weights stored as F16
  qwen3    Qwen3ForCausalLM, q/k norm, head_dim 16 (!= hidden / heads), tied embeddings, stored as BF16
  mistral  MistralForCausalLM, linear RoPE scaling, sliding_window 64 (longer than the inputs), F32
Weights are random (seed SEED): projections normal(0, 0.3), norms 1 + normal(0, 0.1), biases normal(0, 0.1);
the script writes them as safetensors by hand (8-byte little-endian header length, JSON header padded with
spaces, raw little-endian bytes). The expected values are computed in float32 from the stored (rounded)
weights, as transformers would run them with torch_dtype=float32.

Inputs: two rows of T=7 tokens, the second right-padded by 2 (attention_mask 0). Positions are 0..T-1, as
transformers uses without position_ids; for the real tokens of a right-padded row these equal trl-host's
default (count of real tokens - 1). Recorded: logits (B, T, V) (compare where attention_mask is 1), the
per-token log-probs of the next token (B, T-1) (compare where both tokens are real), the greedy continuation
of row 0 (8 tokens, full recompute each step), and a sampled continuation of row 0 (8 tokens, the SAMPLING
parameters, torch.multinomial with a CPU torch.Generator seeded with SAMPLING["seed"]).

Tolerance used by tests/unit/model_golden_test.cpp: |ours - golden| <= 1e-4 + 1e-4·|golden| (float32) for
logits and log-probs; generated tokens must be equal.

Run: /usr/bin/python3 tests/golden/make_model_golden.py   (writes tests/golden/model/<name>/ and
tests/golden/model_golden.json)
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

SEED = 20240607
HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "model")
T = 7
NEW_TOKENS = 8
SAMPLING = {"temperature": 0.8, "top_k": 20, "top_p": 0.9, "min_p": 0.05, "repetition_penalty": 1.3,
            "seed": 1234}

BASE = {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "max_position_embeddings": 128,
        "hidden_act": "silu", "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2}

MODELS = {
    "qwen2": dict(BASE, architectures=["Qwen2ForCausalLM"], model_type="qwen2", rope_theta=10000.0,
                  tie_word_embeddings=False, use_sliding_window=False, sliding_window=None,
                  max_window_layers=2, torch_dtype="float32"),
    "llama": dict(BASE, architectures=["LlamaForCausalLM"], model_type="llama", rope_theta=500000.0,
                  attention_bias=False, mlp_bias=False, tie_word_embeddings=False, torch_dtype="float16",
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
    "qwen3": dict(BASE, architectures=["Qwen3ForCausalLM"], model_type="qwen3", rope_theta=1000000.0,
                  head_dim=16, attention_bias=False, tie_word_embeddings=True, use_sliding_window=False,
                  sliding_window=None, max_window_layers=2, torch_dtype="bfloat16"),
    "mistral": dict(BASE, architectures=["MistralForCausalLM"], model_type="mistral", rope_theta=10000.0,
                    sliding_window=64, tie_word_embeddings=False, torch_dtype="float32",
                    rope_scaling={"type": "linear", "factor": 2.0}),
}
STORE_DTYPE = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


# --- safetensors, written by hand --------------------------------------------------------------------------
def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float16:
        return t.numpy().astype("<f2").tobytes()
    return t.numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors:
        data = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


# --- weights ------------------------------------------------------------------------------------------------
def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def make_weights(cfg, gen):
    V, H, I, D = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"], head_dim(cfg)
    q_w, kv_w = cfg["num_attention_heads"] * D, cfg["num_key_value_heads"] * D
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    o_bias = cfg["model_type"] in ("llama", "qwen3") and cfg.get("attention_bias", False)

    def mat(*shape):
        return torch.randn(*shape, generator=gen) * 0.3

    def norm(n):
        return 1 + torch.randn(n, generator=gen) * 0.1

    def bias(n):
        return torch.randn(n, generator=gen) * 0.1

    w = [("model.embed_tokens.weight", mat(V, H))]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.append((p + "self_attn.q_proj.weight", mat(q_w, H)))
        if qkv_bias:
            w.append((p + "self_attn.q_proj.bias", bias(q_w)))
        w.append((p + "self_attn.k_proj.weight", mat(kv_w, H)))
        if qkv_bias:
            w.append((p + "self_attn.k_proj.bias", bias(kv_w)))
        w.append((p + "self_attn.v_proj.weight", mat(kv_w, H)))
        if qkv_bias:
            w.append((p + "self_attn.v_proj.bias", bias(kv_w)))
        w.append((p + "self_attn.o_proj.weight", mat(H, q_w)))
        if o_bias:
            w.append((p + "self_attn.o_proj.bias", bias(H)))
        if cfg["model_type"] == "qwen3":
            w.append((p + "self_attn.q_norm.weight", norm(D)))
            w.append((p + "self_attn.k_norm.weight", norm(D)))
        w.append((p + "mlp.gate_proj.weight", mat(I, H)))
        w.append((p + "mlp.up_proj.weight", mat(I, H)))
        w.append((p + "mlp.down_proj.weight", mat(H, I)))
        w.append((p + "input_layernorm.weight", norm(H)))
        w.append((p + "post_attention_layernorm.weight", norm(H)))
    w.append(("model.norm.weight", norm(H)))
    if not cfg["tie_word_embeddings"]:
        w.append(("lm_head.weight", mat(V, H)))
    return w


# --- modeling_rope_utils.py ---------------------------------------------------------------------------------
def inv_freq_of(cfg):
    base, dim = cfg["rope_theta"], head_dim(cfg)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = cfg.get("rope_scaling")
    if not scaling:
        return inv_freq
    rope_type = scaling.get("rope_type", scaling.get("type"))
    if rope_type == "linear":
        return inv_freq / scaling["factor"]
    assert rope_type == "llama3"
    factor = scaling["factor"]
    low_freq_factor = scaling["low_freq_factor"]
    high_freq_factor = scaling["high_freq_factor"]
    old_context_len = scaling["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


# --- modeling_llama.py and friends (eager path) --------------------------------------------------------------
def rms_norm(x, weight, eps):
    input_dtype = x.dtype
    x = x.to(torch.float32)
    variance = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(variance + eps)
    return weight * x.to(input_dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, hd = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, hd)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, hd)


def forward(cfg, w, input_ids, attention_mask):
    B, L = input_ids.shape
    D, nq, nkv = head_dim(cfg), cfg["num_attention_heads"], cfg["num_key_value_heads"]
    eps = cfg["rms_norm_eps"]
    x = F.embedding(input_ids, w["model.embed_tokens.weight"])
    position_ids = torch.arange(L).unsqueeze(0).expand(B, L)
    inv_freq = inv_freq_of(cfg)
    inv_freq_expanded = inv_freq[None, :, None].float().expand(B, -1, 1)
    freqs = (inv_freq_expanded @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # (B, 1, L, D)
    min_value = torch.finfo(torch.float32).min
    causal = torch.full((L, L), min_value).triu(1)
    mask = causal[None, None].expand(B, 1, L, L).clone()
    mask = mask.masked_fill(attention_mask[:, None, None, :] == 0, min_value)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        residual = x
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = F.linear(h, w[p + "self_attn.q_proj.weight"], w.get(p + "self_attn.q_proj.bias")).view(B, L, -1, D)
        k = F.linear(h, w[p + "self_attn.k_proj.weight"], w.get(p + "self_attn.k_proj.bias")).view(B, L, -1, D)
        v = F.linear(h, w[p + "self_attn.v_proj.weight"], w.get(p + "self_attn.v_proj.bias")).view(B, L, -1, D)
        if cfg["model_type"] == "qwen3":
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q = (q * cos) + (rotate_half(q) * sin)
        k = (k * cos) + (rotate_half(k) * sin)
        k, v = repeat_kv(k, nq // nkv), repeat_kv(v, nq // nkv)
        attn = torch.matmul(q, k.transpose(2, 3)) * D ** -0.5 + mask
        attn = F.softmax(attn, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(B, L, -1)
        x = residual + F.linear(out, w[p + "self_attn.o_proj.weight"], w.get(p + "self_attn.o_proj.bias"))
        residual = x
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        mlp = F.linear(F.silu(F.linear(h, w[p + "mlp.gate_proj.weight"])) * F.linear(h, w[p + "mlp.up_proj.weight"]),
                       w[p + "mlp.down_proj.weight"])
        x = residual + mlp
    x = rms_norm(x, w["model.norm.weight"], eps)
    lm_head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return F.linear(x, lm_head)


# --- generation/logits_process.py, in _get_logits_processor's order --------------------------------------------
def process(scores, input_ids, s):
    if s["repetition_penalty"] != 1.0:  # RepetitionPenaltyLogitsProcessor
        score = torch.gather(scores, 1, input_ids)
        score = torch.where(score < 0, score * s["repetition_penalty"], score / s["repetition_penalty"])
        scores = scores.scatter(1, input_ids, score)
    scores = scores / s["temperature"]  # TemperatureLogitsWarper
    top_k = min(s["top_k"], scores.size(-1))  # TopKLogitsWarper
    indices_to_remove = scores < torch.topk(scores, top_k)[0][..., -1, None]
    scores = scores.masked_fill(indices_to_remove, -float("inf"))
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)  # TopPLogitsWarper
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    sorted_indices_to_remove = cumulative_probs <= (1 - s["top_p"])
    sorted_indices_to_remove[..., -1:] = 0
    indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
    scores = scores.masked_fill(indices_to_remove, -float("inf"))
    probs = torch.softmax(scores, dim=-1)  # MinPLogitsWarper
    top_probs, _ = probs.max(dim=-1, keepdim=True)
    tokens_to_remove = probs < s["min_p"] * top_probs
    sorted_indices = torch.argsort(scores, descending=True, dim=-1)
    sorted_indices_to_remove = torch.gather(tokens_to_remove, dim=-1, index=sorted_indices)
    sorted_indices_to_remove[..., :1] = False
    indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
    return scores.masked_fill(indices_to_remove, -float("inf"))


def continue_row(cfg, w, prompt, sample):
    ids = torch.tensor([prompt])
    gen = torch.Generator().manual_seed(SAMPLING["seed"])
    out = []
    for _ in range(NEW_TOKENS):
        logits = forward(cfg, w, ids, torch.ones_like(ids))[:, -1, :].float()
        if sample:
            probs = F.softmax(process(logits, ids, SAMPLING), dim=-1)
            nxt = torch.multinomial(probs, num_samples=1, generator=gen)
        else:
            nxt = logits.argmax(-1, keepdim=True)
        out.append(int(nxt))
        ids = torch.cat([ids, nxt], dim=1)
    return out


def main():
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    golden = {"tolerance": {"rtol": 1e-4, "atol": 1e-4}, "sampling": SAMPLING, "models": {}}
    for name, cfg in MODELS.items():
        stored = STORE_DTYPE[cfg["torch_dtype"]]
        weights = [(n, t.to(stored)) for n, t in make_weights(cfg, gen)]
        folder = os.path.join(OUT_DIR, name)
        os.makedirs(folder, exist_ok=True)
        write_safetensors(os.path.join(folder, "model.safetensors"), weights)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        w = {n: t.float() for n, t in weights}

        input_ids = torch.randint(3, cfg["vocab_size"], (2, T), generator=gen)
        attention_mask = torch.ones(2, T, dtype=torch.int64)
        attention_mask[1, T - 2:] = 0
        input_ids[1, T - 2:] = 0  # pad id
        with torch.no_grad():
            logits = forward(cfg, w, input_ids, attention_mask)
            logps = torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
            prompt = input_ids[0, :4].tolist()
            greedy = continue_row(cfg, w, prompt, sample=False)
            sampled = continue_row(cfg, w, prompt, sample=True)
        golden["models"][name] = {
            "input_ids": input_ids.tolist(), "attention_mask": attention_mask.tolist(),
            "logits": logits.tolist(), "logps": logps.tolist(),
            "prompt": prompt, "greedy": greedy, "sampled": sampled,
        }
        print(name, "logits", tuple(logits.shape), "greedy", greedy, "sampled", sampled)
    with open(os.path.join(HERE, "model_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
