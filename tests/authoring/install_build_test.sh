#!/usr/bin/env bash
# The plugin-author's path end to end (docs/plugin-authoring.md), as ctest AuthoringSlow.InstallBuildLoadRun:
#   1. `cmake --install` the built tree into a temporary prefix and check its layout (host, SDK with its
#      soname, headers with the generated version.h, the three shipped plugins only, the CMake package);
#   2. `trl-host plugins new` one project per kind, copy examples/plugin-template, and build all of them
#      in one configure against the installed SDK alone (driver/CMakeLists.txt), checking that no compile
#      or link command names the source or build tree and that each plugin exports only trl_plugin_*;
#   3. load them with the installed trl-host (plugins list / check / info), run the template's unit tests,
#      a short gfpo run scored by the template's `keyword` reward, a short dpo run with its `csv_log`
#      callback, and the generated trainer;
#   4. install the projects into an author prefix and load the installed plugin from there;
#   5. a plugin built against the next SDK ABI minor and one of the next major are refused with the
#      documented line (docs/abi-policy.md): `plugins check` exits 3, `plugins list` says "refused";
#   6. install the projects into the host's own plugin folder (-DTRL_PLUGIN_INSTALL_DIR) and find them
#      there with no search path.
#
# Usage: install_build_test.sh <trl-host build dir> <trl-host source dir> <cmake executable>
set -euo pipefail

BUILD_DIR=$(cd "$1" && pwd)
SOURCE_DIR=$(cd "$2" && pwd)
CMAKE=$3
CTEST=$(dirname "$CMAKE")/ctest

WORK=$(mktemp -d "${TMPDIR:-/tmp}/trl-authoring-XXXXXX")
# TRL_AUTHORING_KEEP=1 keeps the folder for a look after a failure.
if [ "${TRL_AUTHORING_KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; fi
PREFIX=$WORK/prefix
# A tree built with -DTRL_SANITIZE installs an instrumented SDK, which only instrumented programs can load
# (the sanitizer runtime must come first): the plugin projects get the same flags, as their author would.
if [ -n "${TRL_SANITIZE:-}" ]; then
  export CXXFLAGS="${CXXFLAGS:-} -fsanitize=$TRL_SANITIZE -fno-omit-frame-pointer"
  export LDFLAGS="${LDFLAGS:-} -fsanitize=$TRL_SANITIZE"
fi
HOST=$PREFIX/bin/trl-host

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# The installed host with no plugin policy from the caller's environment (HOST_ENV=VAR=value sets one), one
# thread.
host() {
  env -u TRL_PLUGIN_PATH -u TRL_PLUGIN_SYSTEM_PATH -u TRL_STABLE_ONLY -u TRL_EXPERIMENTAL_SILENCE \
    OMP_NUM_THREADS=1 ${HOST_ENV:+"$HOST_ENV"} "$HOST" "$@"
}
expect_in() {  # expect_in FILE TEXT
  grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks: $2"; }
}

step "install into $PREFIX"
"$CMAKE" --install "$BUILD_DIR" --prefix "$PREFIX" >"$WORK/install.log"
for f in bin/trl-host lib/libtrl_sdk.so lib/libtrl_sdk.so.1 include/trl/sdk/plugin.h include/trl/sdk/abi.h \
         include/trl/sdk/version.h include/trl/sdk/train/loop.h lib/cmake/TrlSdk/TrlSdkConfig.cmake \
         lib/cmake/TrlSdk/TrlSdkConfigVersion.cmake lib/cmake/TrlSdk/TrlSdkTargets.cmake \
         lib/cmake/TrlSdk/TrlPlugin.cmake lib/cmake/TrlSdk/trl_plugin.map; do
  [ -e "$PREFIX/$f" ] || fail "the install lacks $f"
done
ls "$PREFIX"/lib/cmake/TrlSdk/TrlSdkTargets-*.cmake >/dev/null || fail "the install lacks TrlSdkTargets-<config>.cmake"
plugins=$(cd "$PREFIX/lib/trl/plugins" && ls | tr '\n' ' ')
# python.so is built (and so installed) only where libpython3-dev and pybind11-dev are found.
[ "$plugins" = "bema.so dpo.so gfpo.so " ] || [ "$plugins" = "bema.so dpo.so gfpo.so python.so " ] ||
  fail "lib/trl/plugins holds '$plugins', expected the shipped bema, dpo, gfpo (and python) only"
ABI_MAJOR=$(sed -n 's/^#define TRL_SDK_ABI_MAJOR \([0-9]*\)$/\1/p' "$PREFIX/include/trl/sdk/version.h")
ABI_MINOR=$(sed -n 's/^#define TRL_SDK_ABI_MINOR \([0-9]*\)$/\1/p' "$PREFIX/include/trl/sdk/version.h")
[ -n "$ABI_MAJOR" ] && [ -n "$ABI_MINOR" ] || fail "installed version.h has no TRL_SDK_ABI_MAJOR/MINOR"
readelf -d "$PREFIX/lib/libtrl_sdk.so.$ABI_MAJOR" | grep -q "Library soname: \[libtrl_sdk.so.$ABI_MAJOR\]" ||
  fail "libtrl_sdk's soname does not carry the ABI major $ABI_MAJOR"
# A TORCH=pip build (docs/torch2.md) also records its LibTorch's folder: the wheel's libtorch_cpu.so is
# unversioned, and without it the installed host would load Debian's 1.13 through libtorch-dev's symlink.
torch_dir=$(sed -n 's/^TRL_TORCH_PIP_DIR:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
want_runpath='$ORIGIN/../lib'
[ -z "$torch_dir" ] || want_runpath="$want_runpath:$torch_dir/lib"
readelf -d "$HOST" | grep -qF "Library runpath: [$want_runpath]" || fail "trl-host's RUNPATH is not $want_runpath"
if [ -n "$torch_dir" ]; then
  ldd "$HOST" | grep -qF "libtorch_cpu.so => $torch_dir/lib/libtorch_cpu.so" ||
    fail "the installed trl-host does not load $torch_dir/lib/libtorch_cpu.so: $(ldd "$HOST" | grep libtorch_cpu)"
fi
host plugins list >"$WORK/list0.txt" 2>&1
expect_in "$WORK/list0.txt" "$PREFIX/lib/trl/plugins (default)"
for p in dpo bema gfpo; do expect_in "$WORK/list0.txt" "$PREFIX/lib/trl/plugins/$p.so"; done

step "plugins new (one project per kind) and the template, in $WORK/src"
SRC=$WORK/src
mkdir -p "$SRC"
cp "$SOURCE_DIR/tests/authoring/driver/CMakeLists.txt" "$SRC/"
cp -r "$SOURCE_DIR/examples/plugin-template" "$SRC/template"
rm -rf "$SRC/template/build"
for kind in reward callback group_filter trainer; do
  host plugins new "${kind}_demo" --kind "$kind" --out "$SRC/${kind}_demo" >"$WORK/new_$kind.txt"
done
host plugins new future_minor --kind reward --out "$SRC/future_minor" >/dev/null
host plugins new other_major --kind reward --out "$SRC/other_major" >/dev/null
mkdir -p "$SRC/sdk_next_minor/trl/sdk" "$SRC/sdk_next_major/trl/sdk"
sed "s/^#define TRL_SDK_ABI_MINOR .*/#define TRL_SDK_ABI_MINOR $((ABI_MINOR + 1))/" \
  "$PREFIX/include/trl/sdk/version.h" >"$SRC/sdk_next_minor/trl/sdk/version.h"
sed "s/^#define TRL_SDK_ABI_MAJOR .*/#define TRL_SDK_ABI_MAJOR $((ABI_MAJOR + 1))/" \
  "$PREFIX/include/trl/sdk/version.h" >"$SRC/sdk_next_major/trl/sdk/version.h"

step "configure and build against the installed SDK only"
OUT=$WORK/build
launcher=()
if command -v ccache >/dev/null; then
  # Paths relative to the temporary folder, so a rerun hits the cache although the folder's name changes.
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$WORK
fi
"$CMAKE" -S "$SRC" -B "$OUT" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "${launcher[@]}" >"$WORK/configure.log" 2>&1 ||
  { cat "$WORK/configure.log" >&2; fail "configuring the plugin projects failed"; }
"$CMAKE" --build "$OUT" -j2 >"$WORK/build.log" 2>&1 || { tail -n 60 "$WORK/build.log" >&2; fail "building the plugin projects failed"; }
expect_in "$WORK/configure.log" "TRL_SDK_PLUGIN_DIR=$PREFIX/lib/trl/plugins"
expect_in "$WORK/configure.log" "TRL_SDK_ABI_VERSION=$ABI_MAJOR.$ABI_MINOR."
# Under TRL_SANITIZE the installed libtrl_sdk needs the sanitizer runtime, whose own tmpnam use the linker
# warns about; those lines are the runtime's, not the SDK's, and a plain build has none.
grep -v -E 'lib(a|ub|l|t)san\.so[.0-9]*: warning:' "$WORK/build.log" >"$WORK/build-own.log" || true
grep -q "warning:" "$WORK/build-own.log" && { grep -A3 "warning:" "$WORK/build-own.log" >&2; fail "the build printed warnings"; }
[ -s "$OUT/compile_commands.json" ] || fail "no compile_commands.json"
# A TORCH=pip build's LibTorch (torch_dir, set above) is the torch wheel of build/venvs/trl, inside the source
# tree: the plugins must link that LibTorch (the host's), so its folder is taken out before looking for the trees.
without_torch() { if [ -n "$torch_dir" ]; then sed "s#$torch_dir##g"; else cat; fi; }
for tree in "$SOURCE_DIR" "$BUILD_DIR"; do
  if without_torch <"$OUT/compile_commands.json" | grep -qF "$tree"; then fail "a compile command names $tree"; fi
  if find "$OUT" -name link.txt -exec cat {} + | without_torch | grep -qF "$tree"; then
    fail "a link command names $tree"
  fi
done
grep -qF -- "-I$PREFIX/include" "$OUT/compile_commands.json" ||
  grep -qF -- "-isystem $PREFIX/include" "$OUT/compile_commands.json" || fail "compile commands lack the installed include dir"

TEMPLATE_SO=$OUT/template/my_plugin.so
for so in "$TEMPLATE_SO" "$OUT"/{reward,callback,group_filter,trainer}_demo/*_demo.so; do
  [ -f "$so" ] || fail "missing $so"
  exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
  [ "$exported" = "trl_plugin_descriptor_v1 trl_plugin_init_v1 trl_plugin_shutdown_v1 " ] ||
    fail "$so exports '$exported', expected only the three trl_plugin_* symbols"
  readelf -d "$so" | grep -q "(NEEDED).*\[libtrl_sdk.so.$ABI_MAJOR\]" || fail "$so does not link libtrl_sdk.so.$ABI_MAJOR"
done

step "load with the installed host"
PLUGIN_PATH=$OUT/template:$OUT/reward_demo:$OUT/callback_demo:$OUT/group_filter_demo:$OUT/trainer_demo
HOST_ENV=TRL_PLUGIN_PATH=$PLUGIN_PATH host plugins list >"$WORK/list1.txt" 2>&1 || { cat "$WORK/list1.txt" >&2; fail "plugins list failed"; }
grep -Eq "^my_plugin +0\.1\.0 +experimental +$ABI_MAJOR\.$ABI_MINOR +reward:keyword, callback:csv_log +$OUT/template/my_plugin.so +ok$" \
  "$WORK/list1.txt" || { cat "$WORK/list1.txt" >&2; fail "plugins list lacks the template's row"; }
for kind in reward callback group_filter trainer; do
  grep -Eq "^${kind}_demo +0\.1\.0 +experimental .* $kind:${kind}_demo .* ok$" "$WORK/list1.txt" ||
    { cat "$WORK/list1.txt" >&2; fail "plugins list lacks ${kind}_demo"; }
done
# The shipped plugins (3, or 4 with python) and the 5 built here.
expected_ok=$(( $(echo $plugins | wc -w) + 5 ))
[ "$(grep -c ' ok$' "$WORK/list1.txt")" = "$expected_ok" ] ||
  { cat "$WORK/list1.txt" >&2; fail "expected $expected_ok plugins with status ok"; }
for so in "$TEMPLATE_SO" "$OUT"/{reward,callback,group_filter,trainer}_demo/*_demo.so; do
  host plugins check "$so" >"$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; fail "plugins check $so failed"; }
done
host plugins info "$TEMPLATE_SO" >"$WORK/info.txt" 2>&1
for text in "keyword" "csv_log" "whole_word" "Apache-2.0" "0.1.0"; do expect_in "$WORK/info.txt" "$text"; done

if [ -x "$OUT/template/my_plugin_tests" ]; then
  step "the template's unit tests"
  "$CTEST" --test-dir "$OUT/template" --output-on-failure >"$WORK/ctest.log" 2>&1 || { cat "$WORK/ctest.log" >&2; fail "template unit tests failed"; }
fi

step "short runs: gfpo + keyword reward, dpo + csv_log callback, the generated trainer"
RUN=$SRC/template
host init-model --preset tiny --out "$RUN/model" --seed 3 >/dev/null 2>"$WORK/init.err" || { cat "$WORK/init.err" >&2; fail "init-model failed"; }
(cd "$RUN" && host train configs/gfpo_keyword.json --plugin "$TEMPLATE_SO" --set max_steps=2 >/dev/null 2>"$WORK/gfpo.err") ||
  { cat "$WORK/gfpo.err" >&2; fail "gfpo run with the keyword reward failed"; }
expect_in "$RUN/runs/gfpo-keyword/metrics.jsonl" '"rewards/keyword/mean"'
expect_in "$RUN/runs/gfpo-keyword/completions.jsonl" '"rewards":{"keyword":'
(cd "$RUN" && host train configs/dpo_csv_log.json --plugin "$TEMPLATE_SO" --set max_steps=2 >/dev/null 2>"$WORK/dpo.err") ||
  { cat "$WORK/dpo.err" >&2; fail "dpo run with the csv_log callback failed"; }
CSV=$RUN/runs/dpo-csv-log/metrics.csv
expect_in "$CSV" "step,epoch,loss,rewards/accuracies,rewards/margins"
[ "$(wc -l <"$CSV")" = 3 ] || { cat "$CSV" >&2; fail "metrics.csv should hold a header and 2 rows"; }
grep -q '^2,' "$CSV" || fail "metrics.csv has no row of step 2"
TRAINER=$SRC/trainer_demo
ln -s "$RUN/model" "$TRAINER/model"
(cd "$TRAINER" && host train run.json --plugin "$OUT/trainer_demo/trainer_demo.so" --set max_steps=2 \
   --set logging_steps=1 >/dev/null 2>"$WORK/sft.err") || { cat "$WORK/sft.err" >&2; fail "the generated trainer's run failed"; }
expect_in "$TRAINER/runs/trainer_demo/metrics.jsonl" '"mean_token_accuracy"'
[ "$(grep -c '"loss"' "$TRAINER/runs/trainer_demo/metrics.jsonl")" -ge 2 ] || fail "the generated trainer logged no loss per step"

step "install the projects into an author prefix and load from there"
"$CMAKE" --install "$OUT" --prefix "$WORK/author" >/dev/null
AUTHOR_SO=$WORK/author/lib/trl/plugins/reward_demo.so
[ -f "$AUTHOR_SO" ] || fail "cmake --install did not put reward_demo.so into <prefix>/lib/trl/plugins"
host plugins check "$AUTHOR_SO" >"$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; fail "the installed plugin does not load"; }

step "plugins of the next ABI minor and major are refused"
NEXT_MINOR=$OUT/future_minor/future_minor.so
NEXT_MAJOR=$OUT/other_major/other_major.so
set +e
host plugins check "$NEXT_MINOR" >"$WORK/minor.txt" 2>&1; minor_rc=$?
host plugins check "$NEXT_MAJOR" >"$WORK/major.txt" 2>&1; major_rc=$?
set -e
[ "$minor_rc" = 3 ] || { cat "$WORK/minor.txt" >&2; fail "plugins check of a next-minor plugin exited $minor_rc, expected 3"; }
[ "$major_rc" = 3 ] || { cat "$WORK/major.txt" >&2; fail "plugins check of an other-major plugin exited $major_rc, expected 3"; }
expect_in "$WORK/minor.txt" "SDK ABI minor: plugin built against $ABI_MAJOR.$((ABI_MINOR + 1)), host supports up to $ABI_MAJOR.$ABI_MINOR"
expect_in "$WORK/major.txt" "SDK ABI major: plugin built against SDK ABI $((ABI_MAJOR + 1)).0, host has ABI $ABI_MAJOR.x"
HOST_ENV=TRL_PLUGIN_PATH=$OUT/future_minor:$OUT/other_major host plugins list >"$WORK/list2.txt" 2>&1 || true
grep -E "^future_minor .* refused" "$WORK/list2.txt" >/dev/null || { cat "$WORK/list2.txt" >&2; fail "plugins list does not show future_minor refused"; }
grep -E "^other_major .* refused" "$WORK/list2.txt" >/dev/null || { cat "$WORK/list2.txt" >&2; fail "plugins list does not show other_major refused"; }

step "install into the host's own plugin folder (TRL_SDK_PLUGIN_DIR): found with no search path"
"$CMAKE" -S "$SRC" -B "$OUT" -DTRL_PLUGIN_INSTALL_DIR="$PREFIX/lib/trl/plugins" >"$WORK/configure2.log" 2>&1 ||
  { cat "$WORK/configure2.log" >&2; fail "reconfiguring with TRL_PLUGIN_INSTALL_DIR failed"; }
"$CMAKE" --install "$OUT" >/dev/null
host plugins list >"$WORK/list3.txt" 2>&1 || true
grep -Eq "^my_plugin .* $PREFIX/lib/trl/plugins/my_plugin.so +ok$" "$WORK/list3.txt" ||
  { cat "$WORK/list3.txt" >&2; fail "the host does not find my_plugin installed into its plugin folder"; }

echo "PASS: installed SDK builds, loads and runs out-of-tree plugins; next-minor and other-major plugins refused"
