#!/usr/bin/env bash
# The python plugin's cost per call: the same GRPO run (gfpo trainer, no filter) on the small preset, once
# with the C++ `length_penalty` reward and once with the same reward written in Python (trivial_reward.py),
# interleaved REPEATS times. Both rewards give identical values, so both runs train identically and sample
# the same completions (checked: every logged loss equal); the difference is the Python call alone.
# Wall time per step = train_runtime / steps (the interpreter's start and the import happen before training,
# in prepare, and are not counted). CPU time per step = the process's user + system CPU seconds / steps
# (GNU time), which a loaded machine inflates far less than wall time; it includes the process's start-up
# (model load, and for Python the interpreter's start and the import), which only counts against Python.
# Reported: the median of each side and their ratios (python / C++).
#
# Usage: bench/python_reward/run.sh [BUILD_DIR] [STEPS] [THREADS] [REPEATS]   (defaults: build, 6, 2, 3)
# Writes bench/python_reward/results.json and prints one line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
steps="${2:-6}"
threads="${3:-2}"
repeats="${4:-3}"
host="$build/bin/trl-host"
[[ -x "$host" ]] || { echo "no trl-host at $host (build first)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time (/usr/bin/time, Debian package 'time')" >&2; exit 1; }
[[ -f "$build/lib/trl/plugins/python.so" ]] || { echo "no python plugin in $build (needs libpython3-dev, pybind11-dev)" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/trl-python-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS="$threads" VIRTUAL_ENV="" TRL_EXPERIMENTAL_SILENCE=1

# The small preset as `make bench` makes it (vocabulary 32000), reused when bench.sh has written it.
model="$build/bench/models/small"
[[ -f "$model/model.safetensors" ]] || "$host" init-model --preset small --vocab-size 32000 --seed 0 --out "$model" --force >/dev/null

for side in cpp python; do
  if [[ "$side" == cpp ]]; then
    reward='{ "name": "length_penalty", "args": { "max_length": 32 } }'
  else
    reward="{ \"name\": \"python\", \"args\": { \"file\": \"$here/trivial_reward.py\", \"function\": \"length_penalty\" } }"
  fi
  cat >"$work/$side.json" <<JSON
{ "trainer": "gfpo", "model": "$model", "train_dataset": "$root/examples/python/data/arith.jsonl",
  "reward_funcs": [ $reward ],
  "args": { "output_dir": "$work/$side", "num_generations": 4, "per_device_train_batch_size": 8,
            "max_completion_length": 32, "learning_rate": 1e-5, "max_steps": $steps, "logging_steps": 1,
            "save_steps": 0, "num_threads": $threads, "seed": 0 } }
JSON
done

runs=()
for ((r = 0; r < repeats; r++)); do
  for side in cpp python; do
    rm -rf "$work/$side"
    /usr/bin/time -f "%U %S" -o "$work/$side.$r.cpu" "$host" --log-level warn train "$work/$side.json" >/dev/null \
      2>"$work/$side.log" || { cat "$work/$side.log" >&2; exit 1; }
    cp "$work/$side/metrics.jsonl" "$work/$side.$r.jsonl"
    runs+=("$side.$r")
  done
done

python3 - "$work" "$steps" "$threads" "$repeats" "$here/results.json" <<'PY'
import json, statistics, sys
work, steps, threads, repeats, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
per_step, cpu_per_step, losses = {"cpp": [], "python": []}, {"cpp": [], "python": []}, {}
for side in per_step:
    for r in range(repeats):
        rows = [json.loads(l) for l in open(f"{work}/{side}.{r}.jsonl") if l.strip()]
        per_step[side].append(rows[-1]["train_runtime"] / steps)
        user, system = map(float, open(f"{work}/{side}.{r}.cpu").read().split()[-2:])
        cpu_per_step[side].append((user + system) / steps)
        losses.setdefault(side, [row["loss"] for row in rows[:-1]])
if losses["cpp"] != losses["python"]:
    sys.exit(f"python-reward bench: the two runs trained differently: losses {losses['cpp']} vs {losses['python']}")
cpp, py = statistics.median(per_step["cpp"]), statistics.median(per_step["python"])
cpp_cpu, py_cpu = statistics.median(cpu_per_step["cpp"]), statistics.median(cpu_per_step["python"])
result = {"benchmark": "GRPO step (gfpo trainer, no filter), small preset, G 4 x 8 rows, 32 new tokens: "
                       "C++ length_penalty reward vs the same reward in Python",
          "steps": steps, "threads": threads, "repeats": repeats,
          "step_s": {side: [round(v, 4) for v in values] for side, values in per_step.items()},
          "median_step_s": {"cpp": round(cpp, 4), "python": round(py, 4)}, "ratio_python_over_cpp": round(py / cpp, 4),
          "step_cpu_s": {side: [round(v, 4) for v in values] for side, values in cpu_per_step.items()},
          "median_step_cpu_s": {"cpp": round(cpp_cpu, 4), "python": round(py_cpu, 4)},
          "cpu_ratio_python_over_cpp": round(py_cpu / cpp_cpu, 4),
          "losses_equal": True}
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
print(f"python-reward bench: median step {cpp:.3f} s (C++ reward) vs {py:.3f} s (Python reward): ratio "
      f"{py / cpp:.3f}; CPU {cpp_cpu:.3f} s vs {py_cpu:.3f} s: ratio {py_cpu / cpp_cpu:.3f} "
      f"({repeats} interleaved runs of {steps} steps, {threads} threads)")
PY
