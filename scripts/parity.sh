#!/usr/bin/env bash
# `make parity` (docs/parity.md): trl-host side by side with TRL, transformers and PEFT. Usage: parity.sh [BUILD]
# Installs what is missing (Debian's python3-venv, node/npm), builds trl-host and its plugins, creates the
# pinned reference environments under BUILD/venvs/ (scripts/python-env.sh: several GB of wheels the first
# time, cached in ~/.cache/trl-host/wheels), then runs tests/parity/run_parity.py: one table, and
# BUILD/parity/report.json. Exits non-zero on any difference beyond tolerance or any case that could not run.
# PARITY_CASES="a b" runs only those cases; PARITY_BUILD=0 uses the binaries already in BUILD.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build}"
cd "$root"
scripts/install-deps.sh build python
if [ "${PARITY_BUILD:-1}" != 0 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  targets=(trl-host dpo bema gfpo)
  # case 5 runs tests/tokenizer-parity's driver, which exists when the tests are configured (the default)
  grep -q '^TRL_BUILD_TESTS:BOOL=ON' "$build/CMakeCache.txt" && targets+=(tokenizer_parity_driver)
  cmake --build "$build" --target "${targets[@]}" -j "$(nproc)"
fi
build="$(cd "$build" && pwd)"
# An environment that cannot be made is reported by the driver as "could not run" for its cases.
for env in $(/usr/bin/python3 tests/parity/run_parity.py --list-envs); do
  scripts/python-env.sh "$env" "$build" >/dev/null || echo "parity: could not make the environment $env" >&2
done
cases=()
for c in ${PARITY_CASES:-}; do cases+=(--case "$c"); done
exec /usr/bin/python3 tests/parity/run_parity.py --build "$build" "${cases[@]}"
