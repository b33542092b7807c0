#!/usr/bin/python3
"""Golden values for the `bema` plugin's unit tests (tests/unit/bema_*_test.cpp), written to
tests/golden/bema_golden.json.

Independent reference: TRL's BEMACallback (trl/trainer/callbacks.py at HEAD f2cd57710, spec/trl-reference.md
§2.1), transcribed below with transformers removed: the same buffers, the same branch order and the same
tensor operations in the same order, run with Debian's python3-torch (1.13) in float32.

Sections of the JSON:
  schedules  beta_t and alpha_t from TRL's _ema_beta / _bema_alpha (Python floats, i.e. float64 pow).
  toy        a 2-parameter model ("w" (2, 3), "b" (4,)), float32, trained by a deterministic noisy
             descent (seed 0); after every step: the live weights, and TRL's theta_0, EMA and running
             weights. The C++ test feeds it the same live weights and compares. Same ops in the same
             order in float32: expected to agree bit for bit; the test allows rtol 1e-6, atol 1e-7.
  figure1a   the paper's Figure 1(a) regime as spec §2.3 states it: f = 1/2 x^T A x, A = diag(1, 0.05),
             start (3, 3), x <- x - lr * (A x + noise * xi), xi ~ N(0, I) from torch.Generator seeded with
             the seed, float64, lr 0.01, noise 0.3, 50 steps, BEMA every step with TRL's default schedule and
             theta_0 = start; distances to the minimum (0, 0) per seed 0..39 for the raw iterate, the EMA and
             BEMA. at::randn with a CPU generator seeded alike draws the same numbers, so the C++ test may
             compare to 1e-9.

Run: /usr/bin/python3 tests/golden/make_bema_golden.py  (rewrites the JSON next to this script).
"""
import json
import os

import torch


class TrlBemaReference:
    """TRL's BEMACallback (HEAD f2cd57710) without transformers: model is an nn.Module, step is
    state.global_step. Method bodies follow TRL's line for line."""

    def __init__(self, update_freq=400, ema_power=0.5, bias_power=0.2, lag=10, update_after=0,
                 multiplier=1.0, min_ema_multiplier=0.0, device="cpu"):
        self.update_freq = update_freq
        self.ema_power = ema_power
        self.bias_power = bias_power
        self.lag = lag
        self.update_after = update_after
        self.multiplier = multiplier
        self.min_ema_multiplier = min_ema_multiplier
        self.device = device
        self.param_names = []
        self.thetat_params = []
        self.theta0_params = []
        self.ema_params = []
        self.running_model = None
        self.update_calls = []

    @torch.no_grad()
    def on_train_begin(self, model):
        self.running_model = type(model)().to(self.device)
        self.running_model.load_state_dict(model.state_dict())
        for name, param in model.named_parameters():
            if not param.requires_grad:
                continue
            self.param_names.append(name)
            self.thetat_params.append(param)
            theta0 = param.detach().clone().to(self.device)
            self.theta0_params.append(theta0)
            self.ema_params.append(theta0.clone())

    def _ema_beta(self, step):
        beta = (self.lag + self.multiplier * step) ** (-self.ema_power)
        return max(beta, self.min_ema_multiplier)

    def _bema_alpha(self, step):
        return (self.lag + self.multiplier * step) ** (-self.bias_power)

    def _update_bema_weights(self, step):
        self.update_calls.append(step)
        beta = self._ema_beta(step)
        alpha = self._bema_alpha(step)
        for thetat, theta0, ema, run_param in zip(
            self.thetat_params, self.theta0_params, self.ema_params, self.running_model.parameters(), strict=True
        ):
            thetat = thetat.detach().to(self.device)
            ema.mul_(1 - beta).add_(thetat, alpha=beta)
            run_param.copy_(ema + alpha * (thetat - theta0))

    @torch.no_grad()
    def on_step_end(self, step):
        if step < self.update_after:
            return
        if step == self.update_after:
            for thetat_param, theta0_param, ema_param in zip(
                self.thetat_params, self.theta0_params, self.ema_params, strict=True
            ):
                theta0_param.copy_(thetat_param)
                ema_param.copy_(thetat_param)
        elif (step - self.update_after) % self.update_freq == 0:
            self._update_bema_weights(step)


class Toy(torch.nn.Module):
    """Two parameters of different shapes, float32."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2, 3))
        self.b = torch.nn.Parameter(torch.zeros(4))


def flat(tensors):
    return [t.detach().reshape(-1).tolist() for t in tensors]


def toy_case(name, steps, **params):
    torch.manual_seed(0)
    model = Toy()
    with torch.no_grad():
        model.w.copy_(torch.randn(2, 3))
        model.b.copy_(torch.randn(4))
    targets = [torch.randn(2, 3), torch.randn(4)]
    cb = TrlBemaReference(**params)
    initial = flat(model.parameters())
    cb.on_train_begin(model)
    records = []
    for step in range(1, steps + 1):
        # One "optimizer step": noisy descent towards the targets (any deterministic change will do).
        with torch.no_grad():
            for p, target in zip(model.parameters(), targets):
                p.sub_(0.3 * (p - target) + 0.1 * torch.randn(p.shape))
        cb.on_step_end(step)
        records.append({
            "step": step,
            "theta": flat(model.parameters()),
            "theta0": flat(cb.theta0_params),
            "ema": flat(cb.ema_params),
            "running": flat(cb.running_model.parameters()),
        })
    return {
        "name": name,
        "params": params,
        "steps": steps,
        "names": [n for n, _ in model.named_parameters()],
        "shapes": [list(p.shape) for p in model.parameters()],
        "initial": initial,
        "update_calls": cb.update_calls,
        "records": records,
    }


def schedules():
    out = []
    for params in [dict(), dict(lag=0, multiplier=2.0, ema_power=1.0, min_ema_multiplier=0.2),
                   dict(ema_power=0.0, bias_power=0.0), dict(lag=3, multiplier=0.5, ema_power=0.7, bias_power=1.5)]:
        cb = TrlBemaReference(**params)
        steps = [1, 2, 3, 7, 10, 100, 400, 800, 10000]
        out.append({"params": params, "steps": steps,
                    "beta": [cb._ema_beta(s) for s in steps], "alpha": [cb._bema_alpha(s) for s in steps]})
    return out


def figure1a(seed, steps=50, lr=0.01, noise=0.3):
    gen = torch.Generator().manual_seed(seed)
    a = torch.tensor([1.0, 0.05], dtype=torch.float64)
    x = torch.tensor([3.0, 3.0], dtype=torch.float64)
    theta0 = x.clone()
    ema = x.clone()
    running = x.clone()
    for t in range(1, steps + 1):
        xi = torch.randn(2, generator=gen, dtype=torch.float64)
        x = x - lr * (a * x + noise * xi)
        beta = (10 + 1.0 * t) ** (-0.5)
        alpha = (10 + 1.0 * t) ** (-0.2)
        ema.mul_(1 - beta).add_(x, alpha=beta)
        running = ema + alpha * (x - theta0)
    return {"seed": seed, "raw": x.norm().item(), "ema": ema.norm().item(), "bema": running.norm().item()}


def main():
    golden = {
        "reference": "TRL BEMACallback (trl/trainer/callbacks.py, HEAD f2cd57710) transcribed in "
                     "tests/golden/make_bema_golden.py; python3-torch " + torch.__version__,
        "schedules": schedules(),
        "toy": [
            toy_case("every_step", 6, update_freq=1),
            toy_case("burn_in", 9, update_freq=2, update_after=3),
            toy_case("bias_power_0", 6, update_freq=2, bias_power=0.0),
            toy_case("ema_power_0", 4, update_freq=1, ema_power=0.0),
            toy_case("ema_floor", 5, update_freq=1, lag=0, multiplier=2.0, ema_power=1.0, min_ema_multiplier=0.2),
        ],
        "figure1a": {"lr": 0.01, "noise": 0.3, "steps": 50, "start": [3.0, 3.0], "a_diag": [1.0, 0.05],
                     "per_seed": [figure1a(s) for s in range(40)]},
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bema_golden.json")
    with open(path, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    fig = golden["figure1a"]["per_seed"]
    mean = {k: sum(r[k] for r in fig) / len(fig) for k in ("raw", "ema", "bema")}
    print("wrote", path)
    print("figure1a mean distance over 40 seeds:", mean)


if __name__ == "__main__":
    main()
