#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz/ (clang from Debian, with AddressSanitizer and
# UndefinedBehaviorSanitizer). Installs nothing: `make fuzz` runs scripts/install-deps.sh build fuzz first
# (clang, libclang-rt-14-dev).
#
# Targets (tests/fuzz/<target>_fuzz.cpp; seeds and minimized finds in tests/fuzz/corpus/<target>/):
#   safetensors     the safetensors header parser (safetensors_header_fuzz.cpp)
#   tokenizer_json  the tokenizer.json loader
#   bpe_encode      the byte-level BPE encoder/decoder (round trip) on tests/fuzz/bpe_tokenizer/
#   json_rows       the dataset row reader (JSONL lines, JSON documents)
#   run_config      the run-config reader of `trl-host train` (JSON/YAML, --set overrides)
#
# Usage: scripts/fuzz.sh [SECONDS]   fuzz each target SECONDS (default 60; FUZZ_SECONDS works too)
#        scripts/fuzz.sh --smoke     the test-suite run (ctest label `fuzz`): every committed corpus entry,
#                                    then FUZZ_SMOKE_SECONDS (default 3) of fresh fuzzing per target; new
#                                    inputs are thrown away
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_TARGETS (space-separated subset), FUZZ_JOBS (parallel
#              fuzzing processes per target, default 1), CXX_FUZZ (default clang++).
# New inputs go to $FUZZ_BUILD/corpus/<target> (the committed corpus is only read); a crash is written to
# $FUZZ_BUILD/artifacts/<target>/ and makes the script exit non-zero. To keep an input: minimize it
# ($FUZZ_BUILD/<target>_fuzz -minimize_crash=1 CRASH, or -merge=1 for a corpus) and copy it into
# tests/fuzz/corpus/<target>/, where every later `--smoke` run replays it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
seconds="${1:-${FUZZ_SECONDS:-60}}"
[ "$smoke" = 1 ] && seconds="${FUZZ_SMOKE_SECONDS:-3}"
build="${FUZZ_BUILD:-$root/build-fuzz}"
jobs="${FUZZ_JOBS:-1}"
cxx="${CXX_FUZZ:-clang++}"
targets="${FUZZ_TARGETS:-safetensors tokenizer_json bpe_encode json_rows run_config}"

command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (run: scripts/install-deps.sh fuzz)" >&2; exit 1; }
scratch="$build"
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch=/dev/shm
launcher=""
command -v ccache >/dev/null && launcher=ccache

cflags=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
        -fno-sanitize-recover=all -I"$root/sdk/include" -I"$root/sdk/src" -I"$root/host/src"
        -DSPDLOG_SHARED_LIB -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL)
torch_flags=(-isystem /usr/include/torch/csrc/api/include -D_GLIBCXX_USE_CXX11_ABI=1)

# Sources and libraries of each target, beside its own tests/fuzz/<target>_fuzz.cpp.
sources_of() {
  case "$1" in
    safetensors) echo "sdk/src/model/safetensors_header.cpp sdk/src/core/error.cpp" ;;
    tokenizer_json | bpe_encode)
      echo "$(cd "$root" && find sdk/src/tokenizer -name '*.cpp' | sort | tr '\n' ' ') sdk/src/core/error.cpp sdk/src/core/log.cpp" ;;
    json_rows) echo "sdk/src/data/json_rows.cpp sdk/src/core/error.cpp" ;;
    run_config)
      local s="host/src/run_config.cpp sdk/src/core/params.cpp sdk/src/core/error.cpp sdk/src/core/log.cpp"
      # The YAML reader and the peft block's parser, where this checkout has them.
      for f in host/src/yaml_document.cpp sdk/src/model/lora_config.cpp; do [ -f "$root/$f" ] && s="$s $f"; done
      echo "$s" ;;
    *) echo "fuzz.sh: unknown target '$1'" >&2; return 1 ;;
  esac
}
libs_of() {
  case "$1" in
    tokenizer_json | bpe_encode) echo "-lpcre2-8 -licuuc -licudata -lspdlog -lfmt -pthread" ;;
    run_config) echo "-lyaml-cpp -lspdlog -lfmt -ltorch_cpu -lc10 -pthread" ;;
    *) echo "" ;;
  esac
}
max_len_of() {
  case "$1" in
    bpe_encode) echo 2048 ;;
    *) echo 8192 ;;
  esac
}
dict_of() {
  case "$1" in
    safetensors) echo "$root/tests/fuzz/safetensors.dict" ;;
    *) echo "$root/tests/fuzz/json.dict" ;;
  esac
}

# Objects are shared between targets (same flags) and compiled once per run, in parallel.
declare -A compiled=()
build_jobs="${FUZZ_BUILD_JOBS:-$(nproc)}"
build_target() {
  local t="$1" objs=() src obj extra=() running=0
  mkdir -p "$build/obj"
  [ "$t" = run_config ] && extra=("${torch_flags[@]}")
  local main="tests/fuzz/${t}_fuzz.cpp"
  [ "$t" = safetensors ] && main=tests/fuzz/safetensors_header_fuzz.cpp
  for src in "$main" $(sources_of "$t"); do
    obj="$build/obj/$(echo "$src" | tr '/' '_').o"
    objs+=("$obj")
    [ -n "${compiled[$obj]:-}" ] && continue
    compiled[$obj]=1
    [ "$src" = tests/fuzz/bpe_encode_fuzz.cpp ] && extra=(-DTRL_FUZZ_BPE_TOKENIZER_DIR="\"$root/tests/fuzz/bpe_tokenizer\"")
    rm -f "$obj"
    $launcher "$cxx" "${cflags[@]}" "${extra[@]}" -c "$root/$src" -o "$obj" &
    running=$((running + 1))
    if [ "$running" -ge "$build_jobs" ]; then wait -n || true; running=$((running - 1)); fi
  done
  wait || true
  for obj in "${objs[@]}"; do [ -f "$obj" ] || { echo "fuzz.sh: compiling $obj failed" >&2; return 1; }; done
  # shellcheck disable=SC2046
  "$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" $(libs_of "$t") -o "$build/${t}_fuzz"
}

status=0
summary=()
for t in $targets; do
  echo "fuzz.sh: building $t"
  if ! build_target "$t"; then
    status=1
    summary+=("$t: BUILD FAILED")
    continue
  fi
  mkdir -p "$build/artifacts/$t"
  if [ "$smoke" = 1 ]; then
    out="$build/smoke/$t"
    rm -rf "$out"
  else
    out="$build/corpus/$t"
  fi
  mkdir -p "$out" "$root/tests/fuzz/corpus/$t"
  args=(-max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -dict="$(dict_of "$t")" -artifact_prefix="$build/artifacts/$t/")
  if [ "$jobs" -gt 1 ]; then args+=(-fork="$jobs"); fi
  echo "fuzz.sh: fuzzing $t for ${seconds}s; seeds: tests/fuzz/corpus/$t"
  log="$build/$t.log"
  # TMPDIR: the file-based targets write their scratch file there (memory-backed when /dev/shm exists).
  if (cd "$build" && TMPDIR="$scratch" "$build/${t}_fuzz" "${args[@]}" "$out" "$root/tests/fuzz/corpus/$t") >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
    summary+=("$t: ok, $runs executions in ${seconds}s")
  else
    status=1
    summary+=("$t: FAILED (see $log and $build/artifacts/$t/)")
    tail -40 "$log" >&2
  fi
done
printf 'fuzz.sh: %s\n' "${summary[@]}"
exit "$status"
