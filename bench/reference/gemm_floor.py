#!/usr/bin/env python3
"""The matrix products of each bench workload alone, timed back to back with the PyPI torch's MKL: a lower
bound on the step of any implementation that executes the same products with that library (bench/README.md,
"Floors"). Nothing but torch.mm into preallocated outputs, so no allocation, no elementwise op, no attention,
no optimizer and no Python per token beyond the loop over the products; each product in the layout that runs
it fastest and with the fewest rows the workload allows:

dpo       each prompt once through the layers (B·P + 2B·C rows), policy forward, backward (input and weight
          gradient of every linear) and reference forward; the lm_head at the 2B·C completion positions:
          policy and reference forward, the two backward products.
grpo      sampling: each prompt's prefill once (B·P rows), then max_new_tokens - 1 decode steps of the B·G rows
          and one lm_head product per new token; the loss: each prompt once plus the B·G completions through
          the layers forward and backward, the lm_head at the B·G·new positions (beta 0: no reference).
generate  prefill of the prompts (B·P rows), max_new_tokens - 1 decode steps of B rows, one lm_head product
          per new token.

Decode products (a few rows) read every weight once per step; each weight is then timed in both layouts, (out,
in) as F.linear reads it and a transposed (in, out) copy, and the faster one is used.

  gemm_floor.py --model DIR --inputs FILE --workload dpo|grpo|generate --steps N --warmup W --threads K --out F
                [--bf16]

--bf16 (dpo only, the floor of the bf16 DPO step: trl_bench's --bf16) runs the same products with bfloat16
operands and outputs, as autocast runs them (oneDNN's bf16 kernels, AMX where the CPU has it): the
conversions to and from bfloat16 that autocast adds are not products and are not timed.

Writes the JSON schema of the peers (step_s, step_cpu_s, peak_rss_mb) plus the median seconds of each part and
the products' FLOPs (bench/compare.py checks the DPO floor's against the step's executed FLOPs less attention).
"""
import argparse
import json
import resource
import time

import torch


def linear_shapes(c):
    """(out, in) of one decoder layer's matmul weights: q, k, v, o, gate, up, down."""
    H, I = c["hidden_size"], c["intermediate_size"]
    nq, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim") or H // nq
    return [(nq * d, H), (nkv * d, H), (nkv * d, H), (H, nq * d), (I, H), (I, H), (H, I)]


class Products:
    """A list of products, each a closure over preallocated tensors, grouped into named parts."""

    def __init__(self, config, dtype):
        self.parts, self.buffers, self.flops, self.dtype = {}, {}, 0, dtype
        self.V, self.H = config["vocab_size"], config["hidden_size"]

    def buffer(self, key, *shape):
        """One buffer per (key, shape): the products of every layer reuse their activations' buffers."""
        name = (key,) + shape
        if name not in self.buffers:
            self.buffers[name] = (torch.randn(*shape) * 0.1).to(self.dtype)
        return self.buffers[name]

    def add(self, part, fn, m, k, n):
        """One (m, k) x (k, n) product."""
        self.parts.setdefault(part, []).append(fn)
        self.flops += 2 * m * k * n

    def layers(self, rows, weights, part, backward):
        """Forward (and backward) products of every layer's linears over `rows` rows."""
        for layer in weights:
            for W in layer:
                out, inp = W.shape
                X, Y = self.buffer("x", rows, inp), self.buffer("y", rows, out)
                self.add(part + " forward", lambda X=X, W=W, Y=Y: torch.mm(X, W.t(), out=Y), rows, inp, out)
                if backward:
                    dX, dW = self.buffer("dx", rows, inp), self.buffer("dw", out, inp)
                    self.add(part + " backward", lambda Y=Y, W=W, dX=dX: torch.mm(Y, W, out=dX), rows, out, inp)
                    self.add(part + " backward", lambda Y=Y, X=X, dW=dW: torch.mm(Y.t(), X, out=dW), out, rows, inp)

    def head(self, rows, W, part, backward):
        """The lm_head over `rows` labelled positions: forward, and the two backward products."""
        Hs, Z = self.buffer("head h", rows, self.H), self.buffer("head z", rows, self.V)
        self.add(part + " forward", lambda: torch.mm(Hs, W.t(), out=Z), rows, self.H, self.V)
        if backward:
            dH, dW = self.buffer("head dh", rows, self.H), self.buffer("head dw", self.V, self.H)
            self.add(part + " backward", lambda: torch.mm(Z, W, out=dH), rows, self.V, self.H)
            self.add(part + " backward", lambda: torch.mm(Z.t(), Hs, out=dW), self.V, rows, self.H)

    def decode(self, rows, steps, weights, head_t):
        """The first token's lm_head product, then `steps` decode steps of `rows` rows, each the layers'
        products (each weight in its faster layout) followed by the lm_head product from the transposed
        (H, V) head, in that order, so that the weights go through the caches as in a real decode."""
        layer_fns, layer_flops = [], 0
        for layer in weights:
            for W in layer:
                out, inp = W.shape
                X, Y, Wt = self.buffer("dec x", rows, inp), self.buffer("dec y", rows, out), W.t().contiguous()
                layer_fns.append(min((lambda X=X, W=W, Y=Y: torch.mm(X, W.t(), out=Y)),
                                     (lambda X=X, Wt=Wt, Y=Y: torch.mm(X, Wt, out=Y)), key=seconds))
                layer_flops += 2 * rows * inp * out
        Hs, Z = self.buffer("dec h", rows, self.H), self.buffer("dec z", rows, self.V)
        head = lambda: torch.mm(Hs, head_t, out=Z)  # noqa: E731
        self.add("decode", head, rows, self.H, self.V)
        for _ in range(steps):
            self.parts["decode"].extend(layer_fns)
            self.flops += layer_flops
            self.add("decode", head, rows, self.H, self.V)

    def run(self):
        """Seconds of each part, run in order."""
        times = {}
        for part, fns in self.parts.items():
            t0 = time.perf_counter()
            for fn in fns:
                fn()
            times[part] = time.perf_counter() - t0
        return times


def seconds(fn, reps=20):
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def model_weights(c, dtype):
    return [[(torch.randn(o, i) * 0.02).to(dtype) for o, i in linear_shapes(c)] for _ in range(c["num_hidden_layers"])]


def build(workload, c, inputs, dtype=torch.float32):
    p = Products(c, dtype)
    head = (torch.randn(c["vocab_size"], c["hidden_size"]) * 0.02).to(dtype)
    policy = model_weights(c, dtype)
    if workload == "dpo":
        pairs = inputs["dpo"]["pairs"]
        B, P, C = len(pairs), len(pairs[0]["prompt"]), len(pairs[0]["chosen"])
        rows, labelled = B * P + 2 * B * C, 2 * B * C
        reference = model_weights(c, dtype)
        p.layers(rows, policy, "policy layers", backward=True)
        p.head(labelled, head, "policy lm_head", backward=True)
        p.layers(rows, reference, "reference layers", backward=False)
        p.head(labelled, head.clone(), "reference lm_head", backward=False)
    elif workload == "grpo":
        g = inputs["grpo"]
        B, P, G, new = len(g["prompts"]), len(g["prompts"][0]), g["num_generations"], g["max_new_tokens"]
        p.layers(B * P, policy, "prefill layers", backward=False)
        p.decode(B * G, new - 1, policy, head.t().contiguous())
        p.layers(B * P + B * G * new, policy, "loss layers", backward=True)
        p.head(B * G * new, head, "loss lm_head", backward=True)
    else:
        g = inputs["generate"]
        B, P, new = len(g["prompts"]), len(g["prompts"][0]), g["max_new_tokens"]
        p.layers(B * P, policy, "prefill layers", backward=False)
        p.decode(B, new - 1, policy, head.t().contiguous())
    return p


def main():
    parser = argparse.ArgumentParser(description="the bench workloads' matrix products alone: a lower bound")
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--workload", required=True, choices=["dpo", "grpo", "generate"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    parser.add_argument("--bf16", action="store_true", help="dpo: the products in bfloat16 (module docstring)")
    a = parser.parse_args()
    if a.bf16 and a.workload != "dpo":
        parser.error("--bf16 is a dpo option (as trl_bench's)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(f"{a.model}/config.json") as f:
        config = json.load(f)
    with open(a.inputs) as f:
        inputs = json.load(f)
    products = build(a.workload, config, inputs, torch.bfloat16 if a.bf16 else torch.float32)
    wall, cpu, parts = [], [], {}
    for step in range(a.warmup + a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        times = products.run()
        if step >= a.warmup:
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            for k, v in times.items():
                parts.setdefault(k, []).append(v)
    result = {"impl": "gemm-floor", "workload": a.workload, "threads": torch.get_num_threads(),
              "torch": torch.__version__, "bf16": a.bf16, "step_s": wall, "step_cpu_s": cpu,
              "parts_s": {k: sorted(v)[len(v) // 2] for k, v in parts.items()},
              "products": sum(len(v) for v in products.parts.values()), "flops_per_step": products.flops,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "check": []}
    with open(a.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
