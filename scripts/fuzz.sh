#!/usr/bin/env bash
# Builds and runs the libFuzzer target over the safetensors header parser (tests/fuzz/). Installs nothing:
# `make fuzz` runs scripts/install-deps.sh build fuzz first (clang, libclang-rt-14-dev).
#
# Usage: scripts/fuzz.sh [SECONDS]      (default 120; FUZZ_SECONDS works too)
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_JOBS (parallel fuzzing processes, default 1),
#              CXX_FUZZ (default clang++).
# New inputs go to $FUZZ_BUILD/corpus/safetensors (the committed seed corpus is only read); a crash is
# written to $FUZZ_BUILD/artifacts/ and makes the script exit non-zero. To keep an interesting input,
# minimize it (the binary with -minimize_crash=1 or -merge=1) and copy it into tests/fuzz/corpus/safetensors/;
# the unit test SafetensorsFuzzCorpus.EveryEntryParsesOrThrowsModelError then runs it on every build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-${FUZZ_SECONDS:-120}}"
build="${FUZZ_BUILD:-$root/build-fuzz}"
jobs="${FUZZ_JOBS:-1}"
cxx="${CXX_FUZZ:-clang++}"

command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (run: scripts/install-deps.sh fuzz)" >&2; exit 1; }

mkdir -p "$build/corpus/safetensors" "$build/artifacts"
exe="$build/safetensors_header_fuzz"
# Only the parser and the error types: the parser is LibTorch-free so this builds in seconds.
sources=("$root/tests/fuzz/safetensors_header_fuzz.cpp" "$root/sdk/src/model/safetensors_header.cpp"
         "$root/sdk/src/core/error.cpp")
echo "fuzz.sh: building $exe"
"$cxx" -std=c++17 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$root/sdk/include" "${sources[@]}" -o "$exe"

echo "fuzz.sh: fuzzing for ${seconds}s with $jobs job(s); seeds: tests/fuzz/corpus/safetensors"
cd "$build"
args=(-max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -dict="$root/tests/fuzz/safetensors.dict" -artifact_prefix="$build/artifacts/")
if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs"); fi
"$exe" "${args[@]}" "$build/corpus/safetensors" "$root/tests/fuzz/corpus/safetensors"
