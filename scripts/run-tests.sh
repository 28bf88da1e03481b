#!/bin/bash
# Runs all tests: installs dependencies (Debian packages), builds the test
# build (warnings as errors, address+undefined sanitizers), runs the unit
# tests, the layering check, a minute of every fuzz target
# (scripts/fuzz.sh, FUZZ_SECONDS to change it) and then every functional
# test, each in its own network, mount and pid namespaces so ports and
# processes never collide.
#   scripts/run-tests.sh [--no-deps] [PATTERN]
# The last line is "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ "${1:-}" = "--no-deps" ]; then
  shift
else
  scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
fi
pattern=${1:-}
BUILD=$(scripts/build.sh --test) || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
export BUILD
passed=0
failed=0
failures=()

if [ -z "$pattern" ] || [[ unit == *"$pattern"* ]]; then
  echo "=== unit tests"
  out=$("$BUILD/tests/unit/unit_tests" 2>&1)
  rc=$?
  echo "$out" | tail -n 5
  line=$(echo "$out" | grep -E '^\[doctest\] test cases:' | tail -n 1)
  p=$(echo "$line" | sed -nE 's/.*\| *([0-9]+) passed.*/\1/p')
  f=$(echo "$line" | sed -nE 's/.*\| *([0-9]+) failed.*/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
  [ $rc -ne 0 ] && failures+=("unit")
fi

if [ -z "$pattern" ] || [[ layers == *"$pattern"* ]]; then
  # The daemon's layering: no include runs back up a layer.
  if out=$(scripts/check-layers.sh 2>&1); then
    passed=$((passed + 1))
    echo "PASS layers"
  else
    failed=$((failed + 1))
    failures+=("layers")
    echo "FAIL layers"
    echo "$out" | sed 's/^/    /'
  fi
fi

if [ -z "$pattern" ] || [[ fuzz == *"$pattern"* ]]; then
  # Every libFuzzer target briefly (tests/fuzz/, its own clang build):
  # the regression inputs of the corpus first, then a minute of search.
  echo "=== fuzz (${FUZZ_SECONDS:-60} s)"
  if out=$(FUZZ_BUILDTYPE=${FUZZ_BUILDTYPE:-debug} scripts/fuzz.sh "${FUZZ_SECONDS:-60}" 2>&1); then
    passed=$((passed + 1))
    echo "$out" | grep '^fuzz:' | sed 's/^/    /'
    echo "PASS fuzz"
  else
    failed=$((failed + 1))
    failures+=("fuzz")
    echo "FAIL fuzz"
    echo "$out" | tail -n 80 | sed 's/^/    /'
  fi
fi

# Every functional test on the plain store, then the store tests (object
# creation, kill -9 and recovery, full restarts) again on the tree store.
tree_store_tests=(002 003 012 013 030 032 033 053)
runs=()
for t in tests/functional/[0-9]*.sh; do runs+=("$t:"); done
for n in "${tree_store_tests[@]}"; do runs+=("$(ls tests/functional/"$n"-*.sh):tree"); done
for run in "${runs[@]}"; do
  t=${run%:*}
  store=${run##*:}
  name=$(basename "$t" .sh)${store:+[$store]}
  [ -n "$pattern" ] && [[ $name != *"$pattern"* ]] && continue
  start=$SECONDS
  log=$(mktemp /tmp/sdtest-log.XXXXXX)
  SD_STORE=$store timeout -k 10 600 unshare --net --mount --pid --fork --mount-proc \
    bash -c 'ip link set lo up && exec bash "$0"' "$t" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "PASS $name ($((SECONDS - start))s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name ($((SECONDS - start))s, exit $rc)"
    sed 's/^/    /' "$log" | tail -n 60
  fi
  rm -f "$log"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
