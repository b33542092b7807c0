"""The PyTorch-eager peer's model: transformers' Llama / Qwen2 decoder (modeling_qwen2.py, eager
attention) written out in plain torch so it runs on Debian's python3-torch 1.13 without transformers.

Same semantics as transformers: RMSNorm in float32, RoPE with rotate_half, repeat_kv for grouped-query
attention, an additive causal + padding mask, softmax in float32, SwiGLU MLP, tied or untied lm_head,
and a key/value cache that grows by torch.cat each step (transformers' DynamicCache).
Letters: B rows, T new tokens, L attended positions, H hidden, D head_dim, V vocab.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def load_safetensors(path):
    """{name: float32 tensor} from a .safetensors file (8-byte header size, JSON header, raw data)."""
    with open(path, "rb") as f:
        data = f.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_size])
    base = 8 + header_size
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=_DTYPES[info["dtype"]], count=(end - begin) // np.dtype(_DTYPES[info["dtype"]]).itemsize,
                              offset=base + begin).reshape(info["shape"])
        out[name] = torch.from_numpy(array.astype(np.float32))
    return out


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, self.nq, self.nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.d = c.get("head_dim") or H // self.nq
        bias = c.get("attention_bias", c.get("model_type") == "qwen2")
        self.q_proj = nn.Linear(H, self.nq * self.d, bias=bias)
        self.k_proj = nn.Linear(H, self.nkv * self.d, bias=bias)
        self.v_proj = nn.Linear(H, self.nkv * self.d, bias=bias)
        self.o_proj = nn.Linear(self.nq * self.d, H, bias=False)

    def forward(self, x, cos, sin, mask, cache):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nq, self.d).transpose(1, 2)   # (B, Nq, T, D)
        k = self.k_proj(x).view(B, T, self.nkv, self.d).transpose(1, 2)  # (B, Nkv, T, D)
        v = self.v_proj(x).view(B, T, self.nkv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:  # DynamicCache.update: concatenate along the sequence
            if cache[0] is not None:
                k = torch.cat([cache[0], k], dim=-2)
                v = torch.cat([cache[1], v], dim=-2)
            cache[0], cache[1] = k, v
        groups = self.nq // self.nkv
        k = k.repeat_interleave(groups, dim=1)  # repeat_kv
        v = v.repeat_interleave(groups, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d) + mask   # (B, Nq, T, L)
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, self.nq * self.d)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(H, I, bias=False)
        self.up_proj = nn.Linear(H, I, bias=False)
        self.down_proj = nn.Linear(I, H, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask, cache):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class CausalLM(nn.Module):
    """model(input_ids, attention_mask, cache=None, logits_to_keep=0) -> logits, as LlamaForCausalLM."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Model(c)
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        d = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        inv_freq = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def lm_head_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def forward(self, input_ids, attention_mask, cache=None, logits_to_keep=0):
        B, T = input_ids.shape
        past = 0 if cache is None or cache[0][0] is None else cache[0][0].shape[-2]
        L = past + T
        # transformers' default position ids follow cache_position; the benchmark's rows are unpadded, so
        # this equals the left-padding-aware positions generate() would pass.
        positions = torch.arange(past, L).unsqueeze(0).expand(B, T)
        freqs = positions.float().unsqueeze(-1) * self.inv_freq                 # (B, T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)               # (B, 1, T, D)
        neg = torch.finfo(torch.float32).min
        causal = torch.full((T, L), neg).triu(past + 1)                          # (T, L)
        mask = causal[None, None] + (1.0 - attention_mask[:, None, None, :].float()) * neg  # (B, 1, T, L)
        mask = mask.clamp_min(neg)
        x = self.model.embed_tokens(input_ids)
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, mask, None if cache is None else cache[i])
        x = self.model.norm(x)
        if logits_to_keep:
            x = x[:, -logits_to_keep:]
        return F.linear(x, self.lm_head_weight())


def load_model(model_dir):
    """The model of a HF directory (config.json + model.safetensors), float32, in train mode."""
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    model = CausalLM(config)
    weights = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [m for m in missing if not (m == "lm_head.weight" and model.tied)]
    if missing or unexpected:
        raise RuntimeError(f"{model_dir}: missing {missing}, unexpected {unexpected}")
    return model


def num_parameters(model):
    return sum(p.numel() for p in model.parameters())
