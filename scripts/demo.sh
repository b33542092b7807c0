#!/usr/bin/env bash
# `make demo`: the main job on the embedded default. Creates the tiny model if missing, lists the plugins,
# trains DPO on the bundled preference data, and shows how rewards/accuracies and rewards/margins moved.
set -euo pipefail
build=${1:-build}
host="$build/bin/trl-host"
model=examples/models/tiny
run=runs/dpo-demo

if [ ! -f "$model/config.json" ]; then
  "$host" init-model --preset tiny --out "$model" --seed 0
fi
"$host" plugins list
rm -rf "$run"
"$host" train examples/dpo.json --set "args.output_dir=$run" --set args.report_to=tensorboard

# First and last logged training values of the two metrics the demo is about (metrics.jsonl, one object
# per log step; evaluation lines carry eval_ names and are skipped).
summary() {
  local key=$1
  grep "\"$key\"" "$run/metrics.jsonl" | grep -v '"eval_' |
    sed -n "1p;\$p" | sed -E "s|.*\"$key\":(-?[0-9.eE+-]+).*\"step\":([0-9]+).*|step \2: \1|" | paste -sd' ' |
    sed "s/ step/  ->  step/"
}
echo
echo "== DPO demo: $run"
echo "rewards/accuracies  $(summary rewards/accuracies)"
echo "rewards/margins     $(summary rewards/margins)"
echo "final model: $run (HF layout); try: $host generate --model $run --prompt 'Can you open the door?'"
echo "TensorBoard: tensorboard --logdir $run/runs"
echo "training curves: $("$host" plot "$run" --out "$run/training_curves.svg")"
