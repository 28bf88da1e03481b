#!/bin/bash
# Builds the libFuzzer targets of tests/fuzz/ (clang, address and undefined
# sanitizers, in build-fuzz/) and runs them.
#   scripts/fuzz.sh [SECONDS]            every target, SECONDS in all (default 60)
#   scripts/fuzz.sh -t TARGET [SECONDS]  one target for SECONDS (default 60)
#   FUZZ_JOBS=N                          N processes per target (default 1)
#   FUZZ_RUNS=N                          stop a target after N runs (per process)
#                                        even if time is left
#   FUZZ_BUILDTYPE=debug                 an unoptimised build (build-fuzz-debug/)
#   FUZZ_SANITIZE=undefined              the undefined-behaviour sanitizer only
#                                        (build-fuzz-ubsan/): for long runs of the
#                                        targets whose replies are MiBs, which the
#                                        address sanitizer maps afresh every time
# Each target first runs every input of tests/fuzz/corpus/TARGET once (the
# seeds captured from real traffic and every input that ever crashed it,
# kept as regression tests), then searches for new inputs from there; what
# it finds goes to a scratch directory, never into the committed corpus.
# A crash, a leak (single-threaded targets), a hang (one input over 10 s)
# or more than 2 GiB resident
# fails the run; the input is kept in BUILDDIR/crashes/. One line per
# target (runs, runs per second, findings); the last line is
# "fuzz: N targets, N runs, N findings". libFuzzer's output:
# BUILDDIR/logs/TARGET.log (BUILDDIR: build-fuzz, or build-fuzz-debug).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGETS=(fuzz_request_stream fuzz_cluster_records fuzz_client_replies fuzz_startup_files
         fuzz_plugin_config)
only=
if [ "${1:-}" = "-t" ]; then
  only=${2:?scripts/fuzz.sh -t TARGET [SECONDS]}
  shift 2
  TARGETS=("$only")
fi
seconds=${1:-60}
jobs=${FUZZ_JOBS:-1}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "scripts/fuzz.sh: SECONDS must be a positive number, not '$seconds'" >&2
  exit 2
fi
if [ -z "$only" ]; then
  per=$((seconds / ${#TARGETS[@]}))
  [ $per -lt 1 ] && per=1
else
  per=$seconds
fi

# FUZZ_BUILDTYPE=debug (what run-tests.sh uses) builds in build-fuzz-debug/
# a minute faster, for short runs; long runs want the optimised default.
buildtype=${FUZZ_BUILDTYPE:-debugoptimized}
sanitize=${FUZZ_SANITIZE:-address,undefined}
dir=build-fuzz
[ "$buildtype" != debugoptimized ] && dir=build-fuzz-$buildtype
case $sanitize in
  address,undefined) ;;
  undefined) dir=$dir-ubsan ;;
  *) echo "scripts/fuzz.sh: FUZZ_SANITIZE is address,undefined or undefined, not '$sanitize'" >&2; exit 2 ;;
esac
if [ ! -f $dir/build.ninja ]; then
  CC=clang CXX=clang++ meson setup $dir -Dfuzzing=true -Dwerror=true --buildtype="$buildtype" \
    -Db_sanitize="$sanitize" -Db_lundef=false >/dev/null ||
    { echo "fuzz: cannot configure $dir (clang and libclang-rt-14-dev installed?)"; exit 1; }
fi
ninja -C $dir >/dev/null || { ninja -C $dir | tail -n 30; echo "fuzz: build failed"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p $dir/crashes $dir/logs
# The targets' files (a sheep's store, start-up files) in memory when
# there is a tmpfs: runs are several times faster than on a disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
# Fuzzed requests name peers (REPAIR_REPLICA, forwarding): the targets run
# in a network namespace of their own, where only loopback exists, so no
# fuzzed address ever reaches a real network.
isolate=(env)
if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
  isolate=(unshare --net sh -c 'ip link set lo up && exec "$0" "$@"')
else
  echo "fuzz: not root: the targets share this machine's network (fuzzed peer addresses may be dialled)" >&2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sd-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
total_runs=0
findings=0
for t in "${TARGETS[@]}"; do
  bin=$dir/tests/fuzz/$t
  [ -x "$bin" ] || { echo "fuzz: no target $t"; exit 2; }
  seeds=tests/fuzz/corpus/$t
  scratch=$work/$t
  mkdir -p "$scratch"
  args=(-max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -max_len=65536
        -print_final_stats=1 -artifact_prefix="$ROOT/$dir/crashes/$t-")
  [ -f tests/fuzz/$t.dict ] && args+=(-dict=tests/fuzz/$t.dict)
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  # Targets with threads of their own (a whole sheep, a fake sheep) free
  # memory on other threads after a run ends: libFuzzer would take each
  # run for a possible leak and scan the heap after it. Leaks are looked
  # for in the single-threaded targets.
  case $t in
    fuzz_request_stream | fuzz_cluster_records | fuzz_client_replies) args+=(-detect_leaks=0) ;;
  esac
  corpora=("$scratch")
  [ -d "$seeds" ] && corpora+=("$seeds")
  log=$dir/logs/$t.log
  started=$SECONDS
  if [ "$jobs" -gt 1 ]; then
    (cd "$work" && "${isolate[@]}" "$ROOT/$bin" "${args[@]}" -jobs="$jobs" -workers="$jobs" "${corpora[@]}" >"$log" 2>&1)
    rc=$?
    cat "$work"/fuzz-*.log >>"$log" 2>/dev/null
    rm -f "$work"/fuzz-*.log
  else
    "${isolate[@]}" "$ROOT/$bin" "${args[@]}" "${corpora[@]}" >"$log" 2>&1
    rc=$?
  fi
  runs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{s += $2} END {print s + 0}')
  found=0
  if [ $rc -ne 0 ] || grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: ' "$log"; then
    found=1
    findings=$((findings + 1))
  fi
  total_runs=$((total_runs + runs))
  took=$((SECONDS - started))
  [ $took -lt 1 ] && took=1
  printf 'fuzz: %-22s %10d runs in %ds (%d/s per process, %d process(es)), %s\n' "$t" "$runs" \
    "$took" "$((runs / took / jobs))" "$jobs" "$([ $found -eq 0 ] && echo "no finding" || echo "FINDING")"
  if [ $found -ne 0 ]; then
    grep -E -A 30 '^==[0-9]+==ERROR|runtime error:|deadly signal|Test unit written' "$log" | head -n 60 |
      sed 's/^/    /'
  fi
done
echo "fuzz: ${#TARGETS[@]} targets, $total_runs runs, $findings findings"
[ $findings -eq 0 ]
