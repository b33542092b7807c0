#!/usr/bin/env bash
# Smoke test of the GFPO purpose study (bench/gfpo_purpose/, docs/gfpo.md "Results"): runs run.sh for 3 steps
# of one seed into a temporary folder (the committed results are not touched), then checks what it wrote:
# results_seed1.json with the three runs, the length filter's kept rows shorter than all rows, the SVG with one
# curve per run and panel, and table.py's tables.
#
#   tests/gfpo_purpose/smoke.sh BUILD_DIR       (ctest -R GfpoPurposeSmoke; needs trl-host, dpo and gfpo built)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: smoke.sh BUILD_DIR}" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

STEPS=3 SEEDS=1 JOBS=1 WORK="$TMP/runs" OUT="$TMP/out" PLOT="$TMP/out/length.svg" \
  "$ROOT/bench/gfpo_purpose/run.sh" "$BUILD"

python3 - "$TMP/out" <<'PY'
import json, re, sys
out = sys.argv[1]
results = json.load(open(f"{out}/results_seed1.json"))
runs = results["runs"]
assert sorted(runs) == ["gfpo_length", "gfpo_token_efficiency", "grpo"], sorted(runs)
for name, run in runs.items():
    assert run["steps"] == 3 and run["seed"] == 1, (name, run["steps"], run["seed"])
    window = run["last_window"]
    expected = 3 * 4 * run["num_generations"]  # steps x prompts x G, every sampled completion
    assert window["completions"] == expected, (name, window["completions"], expected)
    assert 0.0 <= window["reward"] <= 1.0 and window["length"] >= 1.0, (name, window)
assert runs["grpo"]["num_remains_in_group"] is None and runs["grpo"]["group_filter"] is None
assert runs["grpo"]["last_window"]["kept_length"] == runs["grpo"]["last_window"]["length"]
gfpo = runs["gfpo_length"]
assert gfpo["group_filter"] == "length" and gfpo["num_remains_in_group"] == 8, gfpo
assert gfpo["last_window"]["kept_length"] < gfpo["last_window"]["length"], gfpo["last_window"]  # the shortest kept
assert runs["gfpo_token_efficiency"]["group_filter"] == "token_efficiency"
svg = open(f"{out}/length.svg").read()
assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
# one thin line (the seed) and one thick line (the mean) per run and panel
assert len(re.findall(r"<polyline ", svg)) == 3 * 2 * 2, len(re.findall(r"<polyline ", svg))
for name in runs:
    assert f">{name}</text>" in svg, name
print("smoke: results and plot as expected")
PY

python3 "$ROOT/bench/gfpo_purpose/table.py" "$TMP/out" > "$TMP/table.md"
grep -q '^| `gfpo_length` | ' "$TMP/table.md"
grep -q '^| `grpo` | ' "$TMP/table.md"
echo "smoke: table.py ok"
