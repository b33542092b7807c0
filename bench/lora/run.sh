#!/usr/bin/env bash
# LoRA vs full fine-tuning, one DPO configuration: peak RSS (GNU time's maximum resident set size) and
# tokens/s (TRL's num_tokens, the attention-mask total with prompts counted twice, over train_runtime) of
# the same DPO run on the large preset (Qwen2, hidden 512, 8 layers, 8 heads / 4 KV heads, intermediate
# 1376, byte tokenizer: vocab 320), full fine-tuning (reference = a frozen copy of the policy) vs LoRA
# r=16, alpha 32, all-linear (reference = the policy with its adapters off).
#
# Usage: bench/lora/run.sh [BUILD_DIR] [STEPS] [THREADS]   (defaults: build, 8, 2)
# Writes bench/lora/results.json and prints one line per mode.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build}"
steps="${2:-8}"
threads="${3:-2}"
host="$build/bin/trl-host"
[[ -x "$host" ]] || { echo "no trl-host at $host (build first)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time (/usr/bin/time, Debian package 'time')" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/trl-lora-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$host" init-model --preset large --out "$work/model" --seed 0 >/dev/null
results="[]"
for mode in full lora; do
  peft='null'
  [[ "$mode" == lora ]] && peft='{"r": 16, "lora_alpha": 32, "target_modules": "all-linear"}'
  cat >"$work/$mode.json" <<JSON
{ "trainer": "dpo", "model": "$work/model", "train_dataset": "$root/examples/data/prefs_train.jsonl",
  "peft": $peft,
  "args": { "output_dir": "$work/$mode", "max_steps": $steps, "per_device_train_batch_size": 8,
            "max_length": 256, "learning_rate": 1e-5, "logging_steps": 1, "save_steps": 0,
            "num_threads": $threads, "seed": 0 } }
JSON
  /usr/bin/time -v "$host" --log-level warn train "$work/$mode.json" 2>"$work/$mode.time" >/dev/null || {
    cat "$work/$mode.time" >&2; exit 1; }
  rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$mode.time")"
  results="$(python3 - "$work/$mode/metrics.jsonl" "$mode" "$rss_kb" "$steps" "$threads" "$results" <<'PY'
import json, sys
path, mode, rss_kb, steps, threads, results = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if l.strip()]
summary = rows[-1]
tokens = max(r.get("num_tokens", 0) for r in rows)
out = json.loads(results)
out.append({"mode": mode, "steps": int(steps), "threads": int(threads), "peak_rss_mib": round(int(rss_kb) / 1024, 1),
            "train_runtime_s": round(summary["train_runtime"], 3), "num_tokens": tokens,
            "tokens_per_s": round(tokens / summary["train_runtime"], 1), "final_loss": rows[-2].get("loss")})
print(json.dumps(out))
PY
)"
done
python3 - "$results" "$here/results.json" <<'PY'
import json, sys
rows = json.loads(sys.argv[1])
with open(sys.argv[2], "w") as f:
    json.dump({"benchmark": "dpo step, large preset (hidden 512, 8 layers), full vs LoRA r=16 all-linear",
               "results": rows}, f, indent=2)
    f.write("\n")
for r in rows:
    print(f"lora-bench {r['mode']:>4}: peak RSS {r['peak_rss_mib']:8.1f} MiB  {r['tokens_per_s']:9.1f} tokens/s  "
          f"({r['steps']} steps, {r['threads']} threads, {r['train_runtime_s']} s)")
PY
