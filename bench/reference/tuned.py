#!/usr/bin/env python3
"""The tuned PyTorch 2.x peer of bench/trl_bench: the same workloads written as well as plain PyTorch allows,
with the same algorithmic shortcuts as trl-host (bench/README.md, "Peers"). Runs on the PyPI torch of
build/venvs/trl (scripts/python-env.sh trl); scripts/bench.sh gives it the process settings trl-host gives
itself (MALLOC_MMAP_THRESHOLD_=268435456, MALLOC_TRIM_THRESHOLD_=536870912, and the OpenMP wait policy trl_bench
runs with: OMP_WAIT_POLICY=PASSIVE on Debian's LibTorch, libgomp's default on the PyPI wheel's).

  tuned.py --model DIR --inputs FILE --workload dpo|grpo|generate|sgemm --steps N --warmup W
           --threads K --out FILE [--bf16] [--compile] [--side-by-side]

dpo       each pair's prompt runs once (its keys/values reused by the chosen and the rejected row), SDPA
          with enable_gqa, RMSNorm as F.rms_norm, the lm_head only at the completion positions, log-probs as
          gather minus logsumexp, the reference the same way under inference_mode, AdamW(fused=True) (LibTorch's
          one-pass CPU kernel: 31 against 109 ms per step for foreach=True on the large preset, 2026-12-07),
          clip_grad_norm_ (foreach). With --bf16 (trl_bench's --bf16, TRL's bf16=True): the policy's and the
          reference's forward under torch.autocast("cpu", bfloat16), float32 weights, gradients and AdamW
          state; the lm_head's logits taken to float32 before the log-softmax, as trl-host keeps it;
          attention in float32 (attention() below), as trl-host runs it under CPU autocast. With --compile
          (the pytorch-compiled peer of make bench): the same step with the policy's and the reference's
          forward, lm_head and log-probs compiled by torch.compile (TorchInductor's fused C++ kernels, forward and
          backward); the compilation runs in the warm-up steps. With --side-by-side (not a make bench peer):
          the reference's forward on a second Python thread beside the policy's, one intra-op thread each, as
          trl-host runs them under bf16; measured at large under --bf16 (2026-12-07, two A/B runs of 4 rounds):
          1.009x and 1.005x the step without it, so the tuned peer keeps the plain order.
grpo      the tuned sampler below, then the loss forward with each prompt run once for its G completions,
          tempered log-probs and entropies from one logsumexp, the dapo loss, backward, clipping, AdamW.
generate  a static KV cache (preallocated for prompt + new tokens, written in place), the lm_head on the
          last position only from its weight transposed once per call (as trl-host), the layers' products
          from their weights transposed once per call as well (q/k/v and gate/up concatenated), softmax +
          torch.multinomial as transformers' sample(); no Python work per token beyond the loop; on
          --generate-threads intra-op threads (default: --threads, the peer's faster choice at both bench
          sizes: 1.40 against 1.48 s small, 2.94 against 4.27 s large, 2 cores).
sgemm     a 1024^3 float32 matmul into a preallocated output.
Writes the JSON schema of peer.py.
"""
import argparse
import contextlib
import json
import math
import os
import resource
import threading
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file


class StepTimes:
    """Wall and process CPU seconds (all threads) of each step past the warm-up."""

    def __init__(self, warmup):
        self.warmup, self.wall, self.cpu, self.step = warmup, [], [], 0

    def start(self):
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def finish(self):
        wall, cpu = time.perf_counter() - self.t0, time.process_time() - self.c0
        if self.step >= self.warmup:
            self.wall.append(wall)
            self.cpu.append(cpu)
        self.step += 1

    def result(self):
        return {"step_s": self.wall, "step_cpu_s": self.cpu}


# ---- the model --------------------------------------------------------------------------------------------

class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.nq, self.nkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.d = c.get("head_dim") or H // self.nq
        self.eps = c["rms_norm_eps"]
        bias = c.get("attention_bias", c.get("model_type") == "qwen2")
        self.q_proj = nn.Linear(H, self.nq * self.d, bias=bias)
        self.k_proj = nn.Linear(H, self.nkv * self.d, bias=bias)
        self.v_proj = nn.Linear(H, self.nkv * self.d, bias=bias)
        self.o_proj = nn.Linear(self.nq * self.d, H, bias=False)
        self.gate_proj = nn.Linear(H, I, bias=False)
        self.up_proj = nn.Linear(H, I, bias=False)
        self.down_proj = nn.Linear(I, H, bias=False)
        self.input_layernorm = nn.Parameter(torch.ones(H))
        self.post_attention_layernorm = nn.Parameter(torch.ones(H))
        self.transposed = None  # while sample() runs: transpose_weights()'s {name: (weight (in, out), bias)}

    def proj(self, name, h):
        """self.<name>(h), or while sample() runs the product `name` of transpose_weights()."""
        if self.transposed is None:
            return getattr(self, name)(h)
        weight, bias = self.transposed[name]
        rows = h.reshape(-1, h.shape[-1])
        out = rows @ weight if bias is None else torch.addmm(bias, rows, weight)
        return out.view(*h.shape[:-1], out.shape[-1])

    def transpose_weights(self):
        """The projections' weights transposed (in, out) and contiguous, for sample(): q/k/v concatenated into one
        product ("qkv") and gate/up into another ("gate_up"), o and down alone."""
        def pack(names):
            lins = [getattr(self, n) for n in names]
            weight = torch.cat([lin.weight for lin in lins]).t().contiguous()
            bias = None if lins[0].bias is None else torch.cat([lin.bias for lin in lins])
            return weight, bias
        self.transposed = {"qkv": pack(["q_proj", "k_proj", "v_proj"]), "o_proj": pack(["o_proj"]),
                           "gate_up": pack(["gate_proj", "up_proj"]), "down_proj": pack(["down_proj"])}

    def forward(self, x, cos, sin, past=None, mask=None, cache=None, at=0):
        """x (B, T, H); cos/sin (T, D) at the new positions. past: (k, v) of earlier positions to attend to
        (B, Nkv, Lp, D); mask: SDPA's bool mask (T, L) or None for causal over [past; new]; cache: a static
        (k, v) buffer written at positions [at, at + T) and attended up to at + T. Returns (x, k, v)."""
        B, T, H = x.shape
        h = F.rms_norm(x, (H,), self.input_layernorm, self.eps)
        if self.transposed is not None:
            q, k, v = self.proj("qkv", h).split([self.nq * self.d, self.nkv * self.d, self.nkv * self.d], -1)
        else:
            q, k, v = self.proj("q_proj", h), self.proj("k_proj", h), self.proj("v_proj", h)
        q = q.reshape(B, T, self.nq, self.d).transpose(1, 2)
        k = k.reshape(B, T, self.nkv, self.d).transpose(1, 2)
        v = v.reshape(B, T, self.nkv, self.d).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache is not None:
            cache[0][:, :, at:at + T].copy_(k)
            cache[1][:, :, at:at + T].copy_(v)
            ka, va = cache[0][:, :, :at + T], cache[1][:, :, :at + T]
            o = attention(q, ka, va, is_causal=T > 1 and at == 0)
        elif past is not None:
            ka, va = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
            o = attention(q, ka, va, attn_mask=mask)
        else:
            o = attention(q, k, v, is_causal=True)
        x = x + self.proj("o_proj", o.transpose(1, 2).reshape(B, T, self.nq * self.d))
        h = F.rms_norm(x, (H,), self.post_attention_layernorm, self.eps)
        if self.transposed is not None:
            gate, up = self.proj("gate_up", h).chunk(2, -1)
        else:
            gate, up = self.proj("gate_proj", h), self.proj("up_proj", h)
        return x + self.proj("down_proj", F.silu(gate) * up), k, v


def attention(q, k, v, **kwargs):
    """SDPA with grouped heads; under CPU autocast (--bf16) in float32, as trl-host runs it there: LibTorch's
    bfloat16 flash-attention backward on the CPU is slower than its float32 one (q and k are float32 already,
    RoPE's float32 cos/sin having promoted them; o_proj's autocast rounds the output to bfloat16)."""
    if torch.is_autocast_enabled("cpu"):
        with torch.autocast("cpu", enabled=False):
            return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), enable_gqa=True, **kwargs)
    return F.scaled_dot_product_attention(q, k, v, enable_gqa=True, **kwargs)


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = nn.Parameter(torch.ones(c["hidden_size"]))
        self.lm_head = None if c.get("tie_word_embeddings", False) else nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        d = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        inv_freq = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        freqs = torch.arange(c["max_position_embeddings"]).float().unsqueeze(-1) * inv_freq
        emb = torch.cat((freqs, freqs), -1)
        self.cos, self.sin = emb.cos(), emb.sin()                              # (max positions, D)

    def head_weight(self):
        return self.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    def hidden(self, ids, start=0, pasts=None, mask=None, caches=None):
        """Final-norm hidden states (B, T, H) of ids at positions [start, start + T), and every layer's (k, v)."""
        T = ids.shape[1]
        cos, sin = self.cos[start:start + T], self.sin[start:start + T]
        x = self.embed_tokens(ids)
        kvs = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, cos, sin, None if pasts is None else pasts[i], mask,
                            None if caches is None else caches[i], start)
            kvs.append((k, v))
        return F.rms_norm(x, (x.shape[-1],), self.norm, self.c["rms_norm_eps"]), kvs


def load_model(model_dir):
    with open(f"{model_dir}/config.json") as f:
        c = json.load(f)
    model = Model(c)
    state = {}
    for name, t in load_file(f"{model_dir}/model.safetensors").items():
        name = name.removeprefix("model.").replace("self_attn.", "").replace("mlp.", "")
        name = name.replace("layernorm.weight", "layernorm").replace("norm.weight", "norm")
        state[name] = t.float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"{model_dir}: missing {missing}, unexpected {unexpected}")
    return model


def shared_prompt_hidden(model, prompts, completions, index):
    """Hidden states predicting every completion token: prompts (B, P) run once, completion row r (of
    completions (N, C)) against the keys/values of prompt index[r]. Returns (N, C, H): the prompt's last
    position, then completion positions 0..C-2."""
    P, C = prompts.shape[1], completions.shape[1]
    hp, kvs = model.hidden(prompts)
    def rows(t):  # prompt rows to completion rows
        return t.index_select(0, index)
    pasts = [(rows(k), rows(v)) for k, v in kvs]
    mask = torch.ones(C, P + C, dtype=torch.bool).tril(P)                   # prompt all, completion causal
    hc, _ = model.hidden(completions, P, pasts, mask)
    return torch.cat([rows(hp[:, -1:]), hc[:, :-1]], 1)


def token_logps(model, hidden, labels, temperature=1.0, entropy=False):
    """Log-probs (and entropies without gradient) of labels (N, C) from hidden (N, C, H): gather - logsumexp."""
    logits = F.linear(hidden, model.head_weight())
    if logits.dtype != torch.float32:  # under autocast: the log-softmax in float32 (module docstring, --bf16)
        logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    lse = torch.logsumexp(logits, -1)
    logps = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - lse
    ent = None
    if entropy:
        with torch.no_grad():
            ent = lse - (torch.softmax(logits, -1) * logits).sum(-1)
    return logps, ent


# ---- DPO ----------------------------------------------------------------------------------------------

def side_by_side(here, there, threads):
    """here() on this thread and there() on a second Python thread at the same time, each with one intra-op
    thread (torch.set_num_threads is per thread for ATen's OpenMP loops; MKL's count is process-wide, 1 for
    both meanwhile), then `threads` again: what trl-host's run_side_by_side does, in plain PyTorch. Returns
    (here(), there())."""
    out = {}
    def run_there():
        torch.set_num_threads(1)
        try:
            out["value"] = there()
        except BaseException as e:  # rethrown on this thread after the join
            out["error"] = e
    torch.set_num_threads(1)
    worker = threading.Thread(target=run_there)
    worker.start()
    try:
        value = here()
    finally:
        worker.join()
        torch.set_num_threads(threads)
    if "error" in out:
        raise out["error"]
    return value, out["value"]


def dpo_workload(model, ref, inputs, args):
    cfg = inputs["dpo"]
    pairs = cfg["pairs"]
    prompts = torch.tensor([p["prompt"] for p in pairs])                     # (B, P)
    completions = torch.tensor([p["chosen"] for p in pairs] + [p["rejected"] for p in pairs])  # (2B, C)
    B = prompts.shape[0]
    index = torch.arange(B).repeat(2)                                       # chosen rows, then rejected
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=cfg["learning_rate"], weight_decay=0.0, fused=True)
    times, checks = StepTimes(args.warmup), []
    def sequence_logps(m):  # the forward passes' autocast (--bf16), the loss and backward outside it as in TRL
        with torch.autocast("cpu", dtype=torch.bfloat16) if args.bf16 else contextlib.nullcontext():
            return token_logps(m, shared_prompt_hidden(m, prompts, completions, index), completions)[0].sum(-1)
    # --compile: one compiled function for the policy (with gradient) and the reference (under no_grad: the
    # function compiles a second graph for it, grad mode being one of its guards).
    forward = torch.compile(sequence_logps) if args.compile else sequence_logps
    def reference_logps():
        with torch.no_grad() if args.compile else torch.inference_mode():
            return forward(ref)
    for step in range(args.warmup + args.steps):
        times.start()
        if args.side_by_side:
            logps, ref_logps = side_by_side(lambda: forward(model), reference_logps, args.threads)
        else:
            logps = forward(model)
            ref_logps = reference_logps()
        chosen, rejected = logps[:B], logps[B:]
        logits_diff = (chosen - ref_logps[:B]) - (rejected - ref_logps[B:])
        loss = -F.logsigmoid(cfg["beta"] * logits_diff).mean()
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg["max_grad_norm"], foreach=True))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.finish()
        if step < 2:
            checks.append({"loss": loss.item(), "grad_norm": grad_norm,
                           "chosen_logps": chosen.detach().tolist(), "rejected_logps": rejected.detach().tolist()})
    tokens = prompts.numel() * 2 + completions.numel()
    return {**times.result(), "tokens_per_step": tokens, "check": checks}


# ---- generation ---------------------------------------------------------------------------------------

@torch.no_grad()  # as transformers' generate(); the tokens then feed the loss forward
def sample(model, prompts, max_new_tokens, temperature, generator, threads):
    """Prefill + one token per row per step into a static cache; unpadded prompts of one length."""
    outer = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ids = torch.tensor(prompts)                                             # (B, P)
        B, P = ids.shape
        c = model.c
        d = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        shape = (B, c["num_key_value_heads"], P + max_new_tokens, d)
        caches = [(torch.empty(shape), torch.empty(shape)) for _ in model.layers]
        # The lm_head weight transposed once per call, as trl-host's sampler does: BLAS streams an (H, V)
        # operand at memory speed and spends 2-2.5x that on F.linear's transposed (V, H) one.
        Wt = model.head_weight().t().contiguous()                              # (H, V)
        # The layers' weights as well, q/k/v and gate/up concatenated (as trl-host runs each group in one parallel
        # region): measured on 2026-12-07, transposing made sampling 3-4% faster at 16 rows (GRPO's) and
        # concatenating another 4-5%, neither changed it at 8 rows (bench/README.md, "Peers").
        for layer in model.layers:
            layer.transpose_weights()
        out = torch.empty(B, max_new_tokens, dtype=torch.long)
        h, _ = model.hidden(ids, 0, caches=caches)
        logits = h[:, -1] @ Wt                                                 # (B, V)
        prefill_lse = torch.logsumexp(logits, -1).tolist()
        for step in range(max_new_tokens):
            probs = torch.softmax(logits / temperature if temperature != 1.0 else logits, -1)
            nxt = torch.multinomial(probs, 1, generator=generator)              # (B, 1)
            out[:, step:step + 1] = nxt
            if step + 1 == max_new_tokens:
                break
            h, _ = model.hidden(nxt, P + step, caches=caches)
            logits = h[:, -1] @ Wt
        return out, prefill_lse
    finally:
        for layer in model.layers:
            layer.transposed = None
        torch.set_num_threads(outer)


def generate_workload(model, inputs, args):
    cfg = inputs["generate"]
    times, check = StepTimes(args.warmup), None
    for step in range(args.warmup + args.steps):
        generator = torch.Generator().manual_seed(cfg["sampling_seed"])
        times.start()
        ids, lse = sample(model, cfg["prompts"], cfg["max_new_tokens"], cfg["temperature"], generator,
                          args.generate_threads)
        times.finish()
        if check is None:
            check = {"prefill_lse": lse, "first_tokens": ids[:, :4].tolist()}
    return {**times.result(), "tokens_per_step": len(cfg["prompts"]) * cfg["max_new_tokens"], "check": [check]}


# ---- GRPO ---------------------------------------------------------------------------------------------

def grpo_loss(model, prompts, completions, cfg):
    """dapo loss with num_iterations 1 and beta 0, each of the prompts (B, P) run once for its G rows."""
    G = cfg["num_generations"]
    rewards = (completions % 2 == 0).float().mean(-1)
    grouped = rewards.view(-1, G)
    advantages = (rewards - grouped.mean(1).repeat_interleave(G)) / (grouped.std(1).repeat_interleave(G) + 1e-4)
    index = torch.arange(prompts.shape[0]).repeat_interleave(G)            # each prompt's G rows in a row
    hidden = shared_prompt_hidden(model, prompts, completions, index)
    logps, entropies = token_logps(model, hidden, completions, cfg["temperature"], entropy=True)
    ratio = torch.exp(logps - logps.detach())
    clipped = torch.clamp(ratio, 1 - cfg["epsilon"], 1 + cfg["epsilon"])
    A = advantages.unsqueeze(1)
    loss = -torch.min(ratio * A, clipped * A).sum() / logps.numel()
    return loss, logps, entropies


def grpo_workload(model, inputs, args):
    cfg = inputs["grpo"]
    G = cfg["num_generations"]
    prompts = torch.tensor(cfg["prompts"])                                   # (B, P), once each
    rows = [p for p in cfg["prompts"] for _ in range(G)]
    params = list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=cfg["learning_rate"], weight_decay=0.0, fused=True)
    loss, logps, entropies = grpo_loss(model, prompts, torch.tensor(cfg["check_completions"]), cfg)
    loss.backward()
    check = {"loss": loss.item(), "grad_norm": float(torch.nn.utils.clip_grad_norm_(params, math.inf)),
             "mean_logp": logps.mean().item(), "mean_entropy": entropies.mean().item()}
    optimizer.zero_grad(set_to_none=True)
    times = StepTimes(args.warmup)
    for step in range(args.warmup + args.steps):
        generator = torch.Generator().manual_seed(cfg["sampling_seed"] + step)
        times.start()
        completions, _ = sample(model, rows, cfg["max_new_tokens"], cfg["temperature"], generator,
                                args.generate_threads)
        loss, _, _ = grpo_loss(model, prompts, completions, cfg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg["max_grad_norm"], foreach=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.finish()
    return {**times.result(), "tokens_per_step": len(rows) * (len(rows[0]) + cfg["max_new_tokens"]), "check": [check]}


# ---- sgemm and main -----------------------------------------------------------------------------------

def sgemm_workload(args):
    a, b, c = torch.randn(1024, 1024), torch.randn(1024, 1024), torch.empty(1024, 1024)
    times = StepTimes(args.warmup)
    for _ in range(args.warmup + max(args.steps, 10)):
        times.start()
        torch.mm(a, b, out=c)
        times.finish()
    return {**times.result(), "flops_per_step": 2 * 1024 ** 3, "check": []}


def main():
    parser = argparse.ArgumentParser(description="tuned PyTorch 2.x peer of trl_bench")
    parser.add_argument("--model")
    parser.add_argument("--inputs")
    parser.add_argument("--workload", required=True, choices=["dpo", "grpo", "generate", "sgemm"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--generate-threads", type=int, default=None, help="default: --threads")
    parser.add_argument("--out", required=True)
    parser.add_argument("--bf16", action="store_true", help="dpo: bf16 mixed precision (autocast)")
    parser.add_argument("--compile", action="store_true", help="dpo: the forward passes compiled by torch.compile")
    parser.add_argument("--side-by-side", action="store_true",
                        help="dpo: the reference's forward on a second thread beside the policy's, one intra-op thread each")
    args = parser.parse_args()
    if args.bf16 and args.workload != "dpo":
        parser.error("--bf16 is a dpo option (as trl_bench's)")
    if args.compile and args.workload != "dpo":
        parser.error("--compile is a dpo option")
    if args.generate_threads is None:
        args.generate_threads = args.threads
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result = {"impl": "pytorch-compiled" if args.compile else "pytorch-tuned", "workload": args.workload,
              "threads": torch.get_num_threads(), "torch": torch.__version__, "bf16": args.bf16,
              "compile": args.compile}
    # As trl_bench records them: bench/compare.py checks that both sides ran with the same wait policy.
    result["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "unset")
    result["gomp_spincount"] = os.environ.get("GOMP_SPINCOUNT", "unset")
    if args.workload == "sgemm":
        result.update(sgemm_workload(args))
    else:
        with open(args.inputs) as f:
            inputs = json.load(f)
        model = load_model(args.model)
        result["params"] = sum(p.numel() for p in model.parameters())
        if args.workload == "dpo":
            ref = load_model(args.model)
            ref.requires_grad_(False)
            result.update(dpo_workload(model, ref, inputs, args))
        elif args.workload == "grpo":
            result.update(grpo_workload(model, inputs, args))
        else:
            result.update(generate_workload(model, inputs, args))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
