#!/bin/bash
# Where the time of the remote data path goes (issue 23): 3 sheep with
# copies=3, the plugin on TCP to node 0 (no local reads), fio jobs (4k
# random reads and writes at QD1 and QD32, 1 MiB sequential reads at QD8); for
# each job, CPU time and context switches per request of the gateway sheep
# (node 0), one peer sheep (node 1) and nbdkit, from `perf stat -p` over a
# window in the middle of the run; then `perf record` of the gateway during
# 4k random writes at QD32 and of nbdkit during 4k random reads at QD32
# (top kernel and user symbols).
# PROFILE_JOBS="randread:32 read:8:1M ..." picks the jobs (RW:QD[:BS]), PROFILE_RECORD=0 skips perf record.
# PROFILE_PLUGIN_ARGS="direct=false" adds plugin keys, PROFILE_COPIES=1 formats with 1 copy.
# Not part of the test suite; root; about two minutes.
#   scripts/profile-remote.sh [BUILD_DIR]      (default: build/, the release build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
if [ -z "${SD_PROFILE_INNER:-}" ]; then
  [ -x "$BUILD/daemon/sheep" ] || BUILD=$("$ROOT/scripts/build.sh")
  command -v perf >/dev/null || { echo "profile-remote: needs perf (linux-perf)" >&2; exit 1; }
  exec unshare --net --mount --pid --fork --mount-proc env SD_PROFILE_INNER=1 \
    bash -c 'ip link set lo up && exec bash "$0" "$1"' "$0" "$BUILD"
fi
SHEEP=$BUILD/daemon/sheep DOG=$BUILD/cli/dog PLUGIN=$BUILD/nbd-plugin/nbdkit-sheepdog-plugin.so
T=$(mktemp -d /var/tmp/sdprof.XXXXXX)
trap '[ -f "$T/r.pid" ] && kill "$(cat "$T/r.pid")" 2>/dev/null; pkill -f "^$SHEEP $T/" || true; rm -rf "$T"' EXIT
WINDOW=5
wait_for() {  # wait_for SECONDS CMD...
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { echo "profile-remote: timed out waiting for: $*" >&2; exit 1; }
    sleep 0.05
  done
}
nodes_are() { [ "$("$DOG" node list -r -p 7300 | wc -l)" -eq "$1" ]; }
for i in 0 1 2; do "$SHEEP" "$T/s$i" -p $((7300 + i)) -z "$i" -c "local:$T/cl"; done
wait_for 30 nodes_are 3
"$DOG" cluster format -c "${PROFILE_COPIES:-3}" -p 7300 </dev/null >/dev/null
"$DOG" vdi create bench 256M -p 7300
nbdkit -U "$T/r.sock" -P "$T/r.pid" --filter=fua "$PLUGIN" vdi=bench address=127.0.0.1 port=7300 fuamode=force ${PROFILE_PLUGIN_ARGS:-}
wait_for 20 test -S "$T/r.sock"
URI="nbd+unix:///?socket=$T/r.sock"
fio --name=fill --ioengine=nbd --uri="$URI" --rw=write --bs=1M --iodepth=8 --size=256M --output=/dev/null
gw=$(pgrep -f "^$SHEEP $T/s0 ") peer=$(pgrep -f "^$SHEEP $T/s1 ") nbd=$(cat "$T/r.pid")

read -r -a JOBLIST <<<"${PROFILE_JOBS:-randwrite:32 randwrite:1 randread:32 randread:1 read:8:1M}"
for job in "${JOBLIST[@]}"; do
  job=${job//:/ }
  set -- $job
  fio --name=j --ioengine=nbd --uri="$URI" --rw="$1" --iodepth="$2" --bs="${3:-4k}" --size=256M \
    --time_based --runtime=$((WINDOW + 6)) --output-format=json --output="$T/fio.json" >/dev/null &
  fio_pid=$!
  sleep 3  # past fio's start-up: the window measures the steady state
  for who in gw peer nbd; do
    perf stat -x, -e task-clock,context-switches -p "${!who}" -o "$T/$who.stat" -- sleep "$WINDOW" &
  done
  wait "$fio_pid"
  wait
  python3 - "$T" "$1 ${3:-4k} QD$2" "$WINDOW" <<'PY'
import json, sys
T, name, window = sys.argv[1], sys.argv[2], float(sys.argv[3])
j = json.load(open(f"{T}/fio.json"))["jobs"][0]
side = j["write"] if j["write"]["io_bytes"] else j["read"]
pct = side["clat_ns"]["percentile"]
reqs = side["iops"] * window
print(f"{name}: {side['iops']:.0f} IOPS, p50 {pct['50.000000'] / 1e3:.0f} us, p99 {pct['99.000000'] / 1e3:.0f} us")
for who, label in (("gw", "gateway sheep"), ("peer", "peer sheep"), ("nbd", "nbdkit")):
    vals = {}
    for line in open(f"{T}/{who}.stat"):
        f = line.strip().split(",")
        if len(f) > 2 and f[2] in ("task-clock", "context-switches"):
            vals[f[2]] = float(f[0])
    cpu_ms, cs = vals.get("task-clock", 0), vals.get("context-switches", 0)
    print(f"  {label:14} {cpu_ms / window / 10:5.0f} % of a core  {cpu_ms * 1e3 / reqs:7.1f} us CPU/request"
          f"  {cs / reqs:6.2f} context switches/request")
PY
done

record() {  # record PID LABEL RW: perf record of PID during 4k RW at QD32, top symbols
  fio --name=j --ioengine=nbd --uri="$URI" --rw="$3" --iodepth=32 --bs=4k --size=256M \
    --time_based --runtime=$((WINDOW + 3)) --output=/dev/null &
  sleep 2
  perf record -g -p "$1" -o "$T/perf.data" -- sleep "$WINDOW" >/dev/null 2>&1
  wait
  echo "$2, $3 4k QD32, top symbols:"
  perf report -i "$T/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -n 15 | sed 's/  */ /g'  || true
}
[ "${PROFILE_RECORD:-1}" = 0 ] || {
  record "$gw" "gateway sheep" randwrite
  record "$nbd" nbdkit randread
}
