#!/bin/bash
# Configures (once) and builds the project.
#   scripts/build.sh              release build in build/ (what the demo and benchmarks use)
#   scripts/build.sh --test       build-test/: warnings as errors, address+undefined sanitizers
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
dir=build
args=(-Dwerror=true --buildtype=release)
if [ "${1:-}" = "--test" ]; then
  dir=build-test
  args=(-Dwerror=true --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false)
fi
cd "$ROOT"
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "${args[@]}" >&2
fi
ninja -C "$dir" -j"$(nproc)" >&2
echo "$ROOT/$dir"
