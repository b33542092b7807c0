#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment NAME under BUILD/venvs/ from tests/parity/requirements-NAME.txt,
# exactly pinned, and prints its folder. Usage: scripts/python-env.sh NAME [BUILD]   (BUILD defaults to build)
# Wheels are downloaded once into the user's cache (${TRL_WHEEL_CACHE:-~/.cache/trl-host/wheels}) and installed from there,
# so a `make clean` or a fresh clone on the same machine installs without downloading again. Never touches the system
# Python: the venv is made with Debian's python3-venv (scripts/install-deps.sh python).
set -euo pipefail
name=${1:?usage: scripts/python-env.sh NAME [BUILD]}
build=${2:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
req="$root/tests/parity/requirements-$name.txt"
[ -f "$req" ] || { echo "python-env: no requirements file $req" >&2; exit 2; }
"$root/scripts/install-deps.sh" python >&2
venv="$(mkdir -p "$build/venvs" && cd "$build/venvs" && pwd)/$name"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then echo "$venv"; exit 0; fi
cache=${TRL_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trl-host/wheels}
mkdir -p "$cache"
echo "python-env: $name: downloading what is missing from $req into $cache (first time: several GB)" >&2
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" download -q --disable-pip-version-check -r "$req" -d "$cache" >&2
"$venv/bin/pip" install -q --disable-pip-version-check --no-index --find-links "$cache" -r "$req" >&2
echo "$want" > "$stamp"
echo "$venv"
