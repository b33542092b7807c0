#!/usr/bin/env bash
# The tokenizer parity test (README.md): installs the pinned JavaScript reference from the npm registry,
# writes its answers for corpus.json, and compares trl::Tokenizer against them.
#   run_parity.sh SOURCE_DIR WORKDIR PARITY_DRIVER [NPM_CACHE]
# Fails (non-zero) when npm cannot install the packages: an unreachable registry is a failed test, not a
# skipped one.
set -euo pipefail
src=$1 work=$2 driver=$3 cache=${4:-$2/npm-cache}
mkdir -p "$work/models"
# The script runs from WORKDIR so that Node resolves the packages in WORKDIR/node_modules.
cp "$src/package.json" "$src/package-lock.json" "$src/make_reference.mjs" "$work/"
cd "$work"
# The npm cache lives in the build tree (BUILD/npm-cache, which `make parity` shares), so a rebuild does not
# download the packages again. npm ci fails now and then on a fresh cache (ENOENT inside its cache or
# node_modules, npm/cli#694): three tries, each on a fresh node_modules.
for try in 1 2 3; do
  npm ci --cache "$cache" --prefer-offline --no-audit --no-fund --loglevel=error && break
  [ "$try" = 3 ] && { echo "run_parity.sh: npm ci failed three times" >&2; exit 1; }
  rm -rf node_modules; sleep $((5 * try))
done
rm -rf "$work/models/byte"
"$driver" write-byte-tokenizer "$work/models/byte"
node "$work/make_reference.mjs" "$src/corpus.json" "$work"
"$driver" compare "$work"
