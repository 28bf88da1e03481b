#!/bin/bash
# What a hyper volume's B-tree costs a reader: one sheep (copies 1), a
# normal VDI (f) and a hyper volume (h) of the same size side by side,
# each served by its own nbdkit (fua filter, as scripts/bench), filled,
# then 4 KiB random reads at QD1 and QD32 in the order f h h f, ROUNDS
# times; prints each target's mean IOPS and p50 and the ratio h/f.
# Alternating cancels the drift this machine shows over minutes, which a
# single pass of scripts/bench (target h against b) does not.
# Release build; not part of the test suite.
#   scripts/bench-hyper.sh [-r ROUNDS] [-t SECONDS] [BUILD_DIR]   (2 rounds of 12 s)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=2 SECS=12
while getopts "r:t:" o; do
  case $o in r) ROUNDS=$OPTARG ;; t) SECS=$OPTARG ;; *) sed -n '2,11p' "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
BUILD=${1:-$ROOT/build}
PORT=7650 NAME=bench-hyper
source "$ROOT/scripts/bench-one-sheep.sh"
"$DOG" vdi create f 1G -p "$PORT"
"$DOG" vdi create -y h 1G -p "$PORT"
for v in f h; do
  nbdkit -U "$T/$v.sock" -P "$T/$v.pid" --filter=fua "$PLUGIN" vdi=$v socket="$T/s0/sock" fuamode=force
  wait_for 20 test -S "$T/$v.sock"
  fio --name=fill --ioengine=nbd --uri="nbd+unix:///?socket=$T/$v.sock" --rw=write --bs=1M \
    --iodepth=8 --size=1G --output=/dev/null >/dev/null
done
for qd in 1 32; do
  for ((r = 1; r <= ROUNDS; r++)); do
    n=0
    for v in f h h f; do
      n=$((n + 1))
      fio --name=r --ioengine=nbd --uri="nbd+unix:///?socket=$T/$v.sock" --rw=randread --bs=4k \
        --iodepth=$qd --size=1G --time_based --runtime="$SECS" --ramp_time=2 \
        --output-format=json --output="$T/qd$qd-$v-$r-$n.json" >/dev/null
    done
  done
done
python3 - "$T" <<'PY'
import glob, json, os, sys
T = sys.argv[1]
print("4 KiB random reads, one sheep, copies 1; f = normal VDI, h = hyper volume (alternated f h h f)")
for qd in (1, 32):
    res = {}
    for v in "fh":
        runs = [json.load(open(p))["jobs"][0]["read"] for p in glob.glob(os.path.join(T, f"qd{qd}-{v}-*.json"))]
        iops = sum(r["iops"] for r in runs) / len(runs)
        p50 = sum(r["clat_ns"]["percentile"]["50.000000"] for r in runs) / len(runs) / 1e3
        res[v] = (iops, p50, [int(r["iops"]) for r in runs])
    f, h = res["f"], res["h"]
    print(f"QD{qd:<2}  f {f[0]:9.0f} IOPS p50 {f[1]:5.0f} us   h {h[0]:9.0f} IOPS p50 {h[1]:5.0f} us   h/f {h[0] / f[0]:.2f}")
PY
