"""Case 2 (docs/parity.md): DPO + BEMA with update_ref_model, the reference refreshed from the BEMA weights every
4 steps (BEMA updates every 2), trl-host's `bema` callback against TRL's trl.experimental.bema_for_ref_model
(its BEMACallback and the DPOTrainer that hands the callbacks the reference model): batches and every metric
of 20 steps, the final policy weights, and the BEMA weights each side saves to OUTPUT_DIR/bema."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpo_harness  # noqa: E402

pc = dpo_harness.pc
BEMA_ARGS = {"update_ref_model": True, "update_freq": 2, "ref_model_update_freq": 4}


def trl_callbacks():
    from trl.experimental.bema_for_ref_model import BEMACallback

    return [BEMACallback(**BEMA_ARGS)]


def saved_bema(case, label, host_dir, trainer):
    from safetensors.torch import load_file

    theirs = load_file(os.path.join(trainer.args.output_dir, "bema", "model.safetensors"))
    worst, _, note = pc.compare_weights(os.path.join(host_dir, "bema"), theirs)
    return [pc.row(case, f"{label}: saved BEMA weights (OUTPUT_DIR/bema)", worst, pc.STEP_TOL,
                   f"bema/model.safetensors after 20 steps: {note}")]


CONFIGS = [("sigmoid+bema", {"loss_type": ["sigmoid"]}, [{"name": "bema", "args": BEMA_ARGS}], trl_callbacks,
            saved_bema)]

if __name__ == "__main__":
    dpo_harness.run_case("bema_ref_model", CONFIGS)
