"""Case 1 (docs/parity.md): DPO, 20 optimizer steps, batch 4, loss types sigmoid, ipo, robust (label_smoothing
0.1), ["sigmoid", "sft"] with weights, and ["ipo", "sigmoid_norm"] under forward_kl, trl-host against TRL's DPOTrainer: the batches of every step, every
metric both log at every step, and the final weights."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpo_harness  # noqa: E402

CONFIGS = [
    # label, DPO arguments, trl-host callbacks, TRL callbacks factory, extra comparison
    ("sigmoid", {"loss_type": ["sigmoid"]}, None, None, None),
    ("ipo", {"loss_type": ["ipo"]}, None, None, None),
    ("robust", {"loss_type": ["robust"], "label_smoothing": 0.1}, None, None, None),
    ("sigmoid+sft", {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}, None, None, None),
    # Beyond the issue's four: TRL 1.16's f-divergence constants, which reach the per-length scores of ipo and
    # sigmoid_norm (docs/parity.md, behaviour changes).
    ("ipo+sigmoid_norm, forward_kl", {"loss_type": ["ipo", "sigmoid_norm"], "f_divergence_type": "forward_kl"}, None,
     None, None),
]

# Configurations TRL 1.16 refuses; trl-host must refuse them too (exit 2 naming the key).
REFUSED = [("ipo+bco_pair, forward_kl", {"loss_type": ["ipo", "bco_pair"], "f_divergence_type": "forward_kl"},
            "f_divergence_type")]

if __name__ == "__main__":
    dpo_harness.run_case("dpo_training", CONFIGS, refused=REFUSED)
