#!/usr/bin/env bash
# GFPO length demonstration (issue 6, docs/gfpo.md "Results"): does GFPO stop the completion-length inflation
# that GRPO shows on a reward that is easier to reach with longer outputs, and does it keep the reward?
#
#   bench/gfpo_length/run.sh [BUILD_DIR]        (default: build)
#   environment: STEPS (100), JOBS (2 trainings at a time), WORK (runs/gfpo-length), SEED (1: the seed of
#   the GFPO/GRPO runs; the warm-up always uses 1), RUNS (all five below), RESULTS (bench/gfpo_length/results.json)
#
# About 8 minutes of CPU on an idle 2-core machine (each training uses one thread); wall time grows with load.
#
# 1. `trl-host init-model --preset tiny` (random, byte tokenizer), then a short DPO warm-up with an SFT term
#    (examples/gfpo_warmup.json: rpo_alpha 1) on pairs whose chosen replies are short, so the model ends
#    its replies after a few bytes instead of running to max_completion_length.
# 2. Runs of examples/gfpo.json from that model, same seed, same steps, same 4 prompts per step, learning
#    rate 1e-4, on the "digits" task (examples/data/make_gfpo_digits.py): reward 1.0 when the reply contains
#    a digit anywhere (built-in `format` reward, pattern [0-9], search mode).
#      grpo                    G = 8, no filter (plain GRPO), 32 rows trained per step
#      gfpo_length             G = 16, keep the 8 shortest (the paper's "sample more, keep fewer"), 32 rows
#      gfpo_length_k4          G = 16, keep the 4 shortest, 16 rows
#      gfpo_token_efficiency   G = 16, keep the 8 with the most reward per token, 32 rows
#      grpo_g16                G = 16, no filter, 64 rows: a control, so "sampling more" alone is measured too
# 3. summarize.py writes results.json: mean completion length and mean reward over the first and the last
#    10 steps of each run, measured on every sampled completion (completions.jsonl, before filtering).
#
# Every training runs single-threaded with a fixed seed, so the numbers are reproducible on a given build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
HOST="$BUILD/bin/trl-host"
WORK=${WORK:-$ROOT/runs/gfpo-length}
STEPS=${STEPS:-100}
JOBS=${JOBS:-2}
SEED=${SEED:-1}
RUNS=${RUNS:-grpo gfpo_length gfpo_length_k4 gfpo_token_efficiency grpo_g16}
RESULTS=${RESULTS:-$ROOT/bench/gfpo_length/results.json}
# The model is tiny: one thread avoids OpenMP spinning on a shared machine (10x faster here).
export OMP_NUM_THREADS=1 TRL_EXPERIMENTAL_SILENCE=gfpo
# The build's own libtrl_sdk first, so a copied build directory runs its own library.
export LD_LIBRARY_PATH="$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$ROOT"
mkdir -p "$WORK"

"$HOST" init-model --preset tiny --out "$WORK/model0" --seed 1 --force
"$HOST" train examples/gfpo_warmup.json --set model="$WORK/model0" --set args.output_dir="$WORK/warmup" \
  > "$WORK/warmup.log" 2>&1

common=(--set model="$WORK/warmup" --set eval_dataset=null --set args.eval_strategy=no --set args.save_steps=0
        --set args.max_steps="$STEPS" --set args.seed="$SEED")
no_filter=(--set group_filter=null --set args.num_remains_in_group=null)

# train NAME ARGS...: one training in the background (at most JOBS at a time), its log in $WORK/NAME.log.
pids=()
train() {
  local name=$1
  shift
  case " $RUNS " in *" $name "*) ;; *) return 0 ;; esac
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done  # failures are counted below
  echo "training $name"
  "$HOST" train examples/gfpo.json "${common[@]}" "$@" --set args.output_dir="$WORK/$name" > "$WORK/$name.log" 2>&1 &
  pids+=($!)
}
train grpo "${no_filter[@]}" --set args.num_generations=8 --set args.per_device_train_batch_size=32
train gfpo_length
train gfpo_length_k4 --set args.num_remains_in_group=4
train gfpo_token_efficiency --set group_filter.name=token_efficiency
train grpo_g16 "${no_filter[@]}"
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ "$status" -ne 0 ]; then
  echo "a training failed; see $WORK/*.log" >&2
  exit 1
fi

python3 "$ROOT/bench/gfpo_length/summarize.py" "$WORK" > "$RESULTS"
cat "$RESULTS"
