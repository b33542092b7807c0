#!/usr/bin/env bash
# The tokenizer parity test (README.md): installs the pinned JavaScript reference from the npm registry,
# writes its answers for corpus.json, and compares trl::Tokenizer against them.
#   run_parity.sh SOURCE_DIR WORKDIR PARITY_DRIVER
# Fails (non-zero) when npm cannot install the packages: an unreachable registry is a failed test, not a
# skipped one.
set -euo pipefail
src=$1 work=$2 driver=$3
mkdir -p "$work/models"
# The script runs from WORKDIR so that Node resolves the packages in WORKDIR/node_modules.
cp "$src/package.json" "$src/package-lock.json" "$src/make_reference.mjs" "$work/"
cd "$work"
# The npm cache lives in the build tree, so a rebuild does not download the ~250 MB of packages again.
npm ci --cache "$work/npm-cache" --no-audit --no-fund --loglevel=error
rm -rf "$work/models/byte"
"$driver" write-byte-tokenizer "$work/models/byte"
node "$work/make_reference.mjs" "$src/corpus.json" "$work"
"$driver" compare "$work"
