#!/usr/bin/env bash
# Installs the Debian 12 packages trl-host needs, only those missing. Usage: install-deps.sh [build|bench|fuzz|test|python]...
# Needs root (or sudo) only when something is missing; nothing is downloaded outside Debian's repositories.
set -euo pipefail

build_pkgs=(g++ cmake make pkg-config libtorch-dev libopenblas0-pthread libboost-dev libboost-filesystem-dev
            nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libcli11-dev libpcre2-dev libicu-dev
            libgloo-dev libelf-dev libyaml-cpp-dev
            libpython3-dev pybind11-dev  # the python plugin embeds Debian's CPython (plugins/python)
            python3-numpy    # the python plugin's tests import numpy from a reward function
            python3       # python3 (standard library only): the tests' independent TensorBoard and SVG readers
            python3-jinja2)  # the chat-template reference (ctest ChatTemplateReference) renders with it
test_pkgs=(nodejs npm)  # the tokenizer parity test (ctest TokenizerParitySlow) runs the npm reference tokenizers
bench_pkgs=(python3 python3-torch python3-numpy time)  # time: GNU time, peak RSS in bench/lora
fuzz_pkgs=(clang libclang-rt-14-dev)
python_pkgs=(python3 python3-venv)  # scripts/python-env.sh: the PyPI reference environments under build/venvs/

want=()
for set in "${@:-build}"; do
  case "$set" in
    build) want+=("${build_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    fuzz)  want+=("${fuzz_pkgs[@]}") ;;
    # A node from elsewhere (e.g. NodeSource's nodejs, which bundles npm) serves as well as Debian's.
    test)  command -v node >/dev/null && command -v npm >/dev/null || want+=("${test_pkgs[@]}") ;;
    python) want+=("${python_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown package set '$set' (expected build, bench, fuzz, test or python)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
