#!/usr/bin/env bash
# `make demo`: the main job on the embedded default.
set -euo pipefail
build=${1:-build}
host="$build/bin/trl-host"
"$host" plugins list
"$host" env
