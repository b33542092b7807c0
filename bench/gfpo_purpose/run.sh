#!/usr/bin/env bash
# GFPO's purpose, shown (issue 23; docs/gfpo.md "Results"): on a task where GRPO's completions grow, does
# GFPO give shorter completions at equal reward? Three runs per seed, same warmed-up model, same prompts:
#
#   bench/gfpo_purpose/run.sh [BUILD_DIR]        (default: build)
#   environment: SEEDS ("1 2 3": training seeds; the model and the warm-up always use seed 1),
#   RUNS ("grpo gfpo_length gfpo_token_efficiency"), STEPS (100), JOBS (2 trainings at a time),
#   WORK (runs/gfpo-purpose), OUT (bench/gfpo_purpose: where results_seed<N>.json go), PLOT (the SVG:
#   docs/gfpo_purpose_length.svg), PLOT_RUNS (the runs it draws: "grpo gfpo_length gfpo_token_efficiency")
#
# The committed results: `bench/gfpo_purpose/run.sh` (100 steps, the three runs), then
#   RUNS="grpo_g16 gfpo_length_k4 grpo_mask gfpo_length_mask" bench/gfpo_purpose/run.sh   (the controls)
#   STEPS=200 WORK=runs/gfpo-purpose-200 OUT=bench/gfpo_purpose/steps200 PLOT=docs/gfpo_purpose_length_200.svg \
#     RUNS="grpo gfpo_length gfpo_token_efficiency gfpo_length_k4" PLOT_RUNS="$RUNS" bench/gfpo_purpose/run.sh
#   python3 bench/gfpo_purpose/make_data.py --digit-share 0.04 --out runs/gfpo-purpose-share4/data
#   DATA=runs/gfpo-purpose-share4/data WORK=runs/gfpo-purpose-share4 OUT=bench/gfpo_purpose/share4 \
#     PLOT=bench/gfpo_purpose/share4/length.svg RUNS="grpo gfpo_length" PLOT_RUNS="$RUNS" bench/gfpo_purpose/run.sh
# and bench/gfpo_purpose/table.py [FOLDER] prints the tables of docs/gfpo.md from the results files.
#
# 1. `trl-host init-model --preset tiny --seed 1`, then bench/gfpo_purpose/warmup.json: 60 DPO steps with an
#    SFT term (rpo_alpha 1) on pairs whose chosen replies are short (1-6 bytes, 12 % digits), so the model
#    stops early and answers with a number about half the time (make_data.py explains the task).
# 2. bench/gfpo_purpose/number.json for each seed: reward 1.0 when the reply contains a digit anywhere
#    (built-in `format` reward, pattern [0-9], search mode), 4 prompts per step, learning rate 1e-4,
#    max_completion_length 48, dapo loss, beta 0:
#      grpo                    G = 8, no filter, 32 rows trained per step
#      gfpo_length             G = 16, keep the 8 shortest of each group, 32 rows
#      gfpo_token_efficiency   G = 16, keep the 8 with the most reward per token, 32 rows
#    and, when RUNS names them (controls and ablations, not in the default set):
#      grpo_g16                G = 16, no filter, 64 rows: "sampling more" without filtering
#      gfpo_length_k4          G = 16, keep the 4 shortest, 16 rows
#      grpo_mask               grpo with mask_truncated_completions (no loss on replies without EOS)
#      gfpo_length_mask        gfpo_length with mask_truncated_completions
# 3. summarize.py (shared with bench/gfpo_length) writes results_seed<N>.json, and plot.py the SVG: mean
#    completion length (and reward) per step, mean over the seeds, every sampled completion (before filtering).
#
# Each training is single-threaded and seeded: a given build gives the same numbers. 20-60 s a run (100
# steps) on the shared 2-core machine at load average ~16; the default set is 9 runs, about 3 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
HOST="$BUILD/bin/trl-host"
HERE="$ROOT/bench/gfpo_purpose"
WORK=${WORK:-$ROOT/runs/gfpo-purpose}
OUT=${OUT:-$HERE}
STEPS=${STEPS:-100}
JOBS=${JOBS:-2}
SEEDS=${SEEDS:-1 2 3}
RUNS=${RUNS:-grpo gfpo_length gfpo_token_efficiency}
PLOT_RUNS=${PLOT_RUNS:-grpo gfpo_length gfpo_token_efficiency}
PLOT=${PLOT:-$ROOT/docs/gfpo_purpose_length.svg}
DATA=$(cd "${DATA:-$HERE/data}" && pwd)
export OMP_NUM_THREADS=1 TRL_EXPERIMENTAL_SILENCE=gfpo
export LD_LIBRARY_PATH="$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$ROOT"
mkdir -p "$WORK" "$OUT"

if [ ! -f "$WORK/warmup/run_config.json" ] || [ "${REDO_WARMUP:-0}" = 1 ]; then
  "$HOST" init-model --preset tiny --out "$WORK/model0" --seed 1 --force
  "$HOST" train "$HERE/warmup.json" --set model="$WORK/model0" --set args.output_dir="$WORK/warmup" \
    --set train_dataset="$DATA/number_warmup.jsonl" \
    > "$WORK/warmup.log" 2>&1
fi

no_filter=(--set group_filter=null --set args.num_remains_in_group=null)
pids=()
# train SEED NAME ARGS...: one training in the background (at most JOBS at a time), log in WORK/seedN/NAME.log
train() {
  local seed=$1 name=$2
  shift 2
  case " $RUNS " in *" $name "*) ;; *) return 0 ;; esac
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done  # failures are counted below
  mkdir -p "$WORK/seed$seed"
  echo "$(date -u +%H:%M:%S) training seed $seed $name"
  "$HOST" train "$HERE/number.json" --set model="$WORK/warmup" --set train_dataset="$DATA/number_train.jsonl" \
    --set args.max_steps="$STEPS" \
    --set args.seed="$seed" "$@" --set args.output_dir="$WORK/seed$seed/$name" > "$WORK/seed$seed/$name.log" 2>&1 &
  pids+=($!)
}
for seed in $SEEDS; do
  train "$seed" grpo "${no_filter[@]}" --set args.num_generations=8 --set args.per_device_train_batch_size=32
  train "$seed" gfpo_length
  train "$seed" gfpo_token_efficiency --set group_filter.name=token_efficiency
  train "$seed" grpo_g16 "${no_filter[@]}"
  train "$seed" gfpo_length_k4 --set args.num_remains_in_group=4
  train "$seed" grpo_mask "${no_filter[@]}" --set args.num_generations=8 --set args.per_device_train_batch_size=32 \
    --set args.mask_truncated_completions=true
  train "$seed" gfpo_length_mask --set args.mask_truncated_completions=true
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ "$status" -ne 0 ]; then
  echo "a training failed; see $WORK/seed*/*.log" >&2
  exit 1
fi

for seed in $SEEDS; do
  python3 "$ROOT/bench/gfpo_length/summarize.py" "$WORK/seed$seed" \
    --task "number: reward 1.0 when the reply contains a digit anywhere (format reward, [0-9], search); bench/gfpo_purpose/make_data.py" \
    --model "init-model --preset tiny --seed 1, warmed up by bench/gfpo_purpose/warmup.json (DPO + rpo_alpha 1, 60 steps); runs: bench/gfpo_purpose/number.json" \
    > "$OUT/results_seed$seed.json"
done
python3 "$HERE/plot.py" "$WORK" --seeds $SEEDS --runs $PLOT_RUNS --out "$PLOT"
echo "wrote $OUT/results_seed*.json and $PLOT"
