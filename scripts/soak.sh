#!/bin/bash
# Soak test: a verifying workload through the nbdkit plugin while random
# nodes are killed (kill -9) and restarted, for N minutes. Not part of the
# test suite.
#
#   scripts/soak.sh [-m MINUTES] [-n NODES] [-c COPIES] [-k KILL_EVERY_S] [-r] [-b BUILD_DIR]
#   defaults: 10 minutes, 5 nodes, 3 copies, a kill every 20 s, build/
#
# The workload is fio rounds (random 64 KiB writes over 192 MiB with crc32c
# verification of every block after each round) through nbdkit on node 0;
# every KILL_EVERY seconds one of the other nodes is killed with kill -9
# and started again a few seconds later. At the end it waits for recovery,
# re-reads the whole disk through another gateway against fio's final
# pattern, checks every object sits on exactly its owners, and reports
# operations, kills, errors (must be 0) and recovery throughput.
#
# With -r (restarts, for copies 1 where a node down means its objects are
# unavailable) nothing is killed while I/O runs: every KILL_EVERY seconds,
# between two rounds, a node is stopped (SIGTERM and kill -9 in turn) and
# started again; once the cluster has recovered, the last round's data is
# verified again before the next round begins.
# Runs in private namespaces; needs root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MINUTES=10 NODES=5 COPIES=3 EVERY=20 BUILD=$ROOT/build RESTARTS=
while getopts "m:n:c:k:rb:" o; do
  case $o in
    m) MINUTES=$OPTARG ;; n) NODES=$OPTARG ;; c) COPIES=$OPTARG ;;
    k) EVERY=$OPTARG ;; r) RESTARTS=-r ;; b) BUILD=$OPTARG ;; *) sed -n '2,22p' "$0"; exit 2 ;;
  esac
done
if [ -z "${SD_SOAK_INNER:-}" ]; then
  exec unshare --net --mount --pid --fork --mount-proc env SD_SOAK_INNER=1 \
    bash -c 'ip link set lo up && exec bash "$@"' bash "$0" -m "$MINUTES" -n "$NODES" \
    -c "$COPIES" -k "$EVERY" -b "$BUILD" $RESTARTS
fi
SHEEP=$BUILD/daemon/sheep DOG=$BUILD/cli/dog PLUGIN=$BUILD/nbd-plugin/nbdkit-sheepdog-plugin.so
T=$(mktemp -d /tmp/sdsoak.XXXXXX)
# (The cleanup keeps the script's own status: under set -e, a kill with
# nothing left to kill would otherwise end it with status 2.)
cleanup() {
  local rc=$?
  set +e
  kill $(jobs -p) 2>/dev/null
  pkill -9 -f "$SHEEP $T/" 2>/dev/null
  [ -f "$T/nbdkit.pid" ] && kill "$(cat "$T/nbdkit.pid")" 2>/dev/null
  sleep 0.5
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
log() { echo "[$(date +%T)] $*"; }
start() { "$SHEEP" "$T/$1" -p $((7000 + $1)) -z "$1" -c "local:$T/cluster"; }
count() { "$DOG" node list -r -p $((7000 + $1)) 2>/dev/null | wc -l; }
wait_count() {
  for _ in $(seq 1 600); do [ "$(count "$1")" -eq "$2" ] && return 0; sleep 0.05; done
  log "timeout waiting for $2 nodes"; return 1
}

for ((i = 0; i < NODES; i++)); do start "$i"; done
wait_count 0 "$NODES"
"$DOG" cluster format -c "$COPIES" </dev/null >/dev/null
"$DOG" vdi create soak 256M
nbdkit -U "$T/nbd.sock" -P "$T/nbdkit.pid" "$PLUGIN" vdi=soak
for _ in $(seq 1 100); do [ -S "$T/nbd.sock" ] && break; sleep 0.05; done

end=$((SECONDS + MINUTES * 60))
rounds=0 ops=0 errors=0 kills=0
gone() { [ -z "$(ss -Hltn "sport = :$((7000 + $1))")" ] && ! pgrep -f "^$SHEEP $T/$1 " >/dev/null; }
settled() {
  [ "$(count 0)" -eq "$NODES" ] && [ "$("$DOG" node recovery 2>/dev/null | wc -l)" -eq 2 ]
}
# -r: between rounds, stop a node (SIGTERM, then kill -9 the next time),
# start it again, wait until the cluster has recovered.
restart_one() {
  local victim=$((1 + RANDOM % (NODES - 1))) sig=TERM
  [ $((kills % 2)) -eq 1 ] && sig=KILL
  pkill -$sig -f "^$SHEEP $T/$victim " || true
  echo kill >>"$T/kills"
  kills=$((kills + 1))
  log "stopped node $victim (SIG$sig)" >>"$T/soak.log"
  for _ in $(seq 1 600); do gone "$victim" && break; sleep 0.05; done
  start "$victim" || log "restart of node $victim failed" >>"$T/soak.log"
  for _ in $(seq 1 1200); do settled && break; sleep 0.1; done
}
# The killer: every EVERY seconds, kill -9 a random node other than 0 and
# start it again 3 s later.
[ -n "$RESTARTS" ] || (
  while [ $SECONDS -lt $end ]; do
    sleep "$EVERY"
    [ $SECONDS -ge $end ] && break
    victim=$((1 + RANDOM % (NODES - 1)))
    pkill -9 -f "^$SHEEP $T/$victim " || true
    echo kill >>"$T/kills"
    log "killed node $victim" >>"$T/soak.log"
    for _ in $(seq 1 200); do
      [ -z "$(ss -Hltn "sport = :$((7000 + victim))")" ] && ! pgrep -f "^$SHEEP $T/$victim " >/dev/null && break
      sleep 0.05
    done
    sleep 3
    start "$victim" || log "restart of node $victim failed" >>"$T/soak.log"
  done
) &
killer=$!
next_restart=$((SECONDS + EVERY))

while [ $SECONDS -lt $end ]; do
  if [ -n "$RESTARTS" ] && [ $rounds -gt 0 ] && [ $SECONDS -ge $next_restart ]; then
    restart_one
    next_restart=$((SECONDS + EVERY))
    if ! fio --name=soak --ioengine=nbd --uri="nbd+unix:///?socket=$T/nbd.sock" --rw=randwrite \
        --bs=64k --size=192M --verify=crc32c --verify_state_save=0 --verify_only \
        --randseed=$rounds >/dev/null 2>&1; then
      errors=$((errors + 1))
      log "round $rounds did not verify after the restart"
    fi
  fi
  rounds=$((rounds + 1))
  if fio --name=soak --ioengine=nbd --uri="nbd+unix:///?socket=$T/nbd.sock" --rw=randwrite \
      --bs=64k --size=192M --iodepth=8 --verify=crc32c --verify_state_save=0 --do_verify=1 --verify_fatal=0 \
      --randseed=$rounds --output-format=json --output="$T/fio.json" >/dev/null 2>&1; then
    :
  else
    errors=$((errors + 1))
    log "fio round $rounds failed"
  fi
  r=$(python3 -c "import json;j=json.load(open('$T/fio.json'))['jobs'][0];print(j['write']['total_ios']+j['read']['total_ios'], j['error'])" 2>/dev/null || echo "0 1")
  ops=$((ops + ${r% *}))
  [ "${r#* }" = 0 ] || errors=$((errors + 1))
done
[ -n "$RESTARTS" ] || wait "$killer" || true
cat "$T/soak.log" 2>/dev/null || true
kills=$(wc -l <"$T/kills" 2>/dev/null || echo 0)

log "workload done; waiting for the cluster to settle"
wait_count 0 "$NODES" || errors=$((errors + 1))
for _ in $(seq 1 1200); do
  [ "$("$DOG" node recovery 2>/dev/null | wc -l)" -eq 2 ] && "$BUILD/tests/tools/check-placement" >/dev/null 2>&1 && break
  sleep 0.1
done
placement=$("$BUILD/tests/tools/check-placement" | tail -n 1)
"$BUILD/tests/tools/check-placement" >/dev/null || errors=$((errors + 1))
# The last round's data, read through another gateway, must verify too.
if ! fio --name=soak --ioengine=nbd --uri="nbd+unix:///?socket=$T/nbd.sock" --rw=randwrite \
    --bs=64k --size=192M --verify=crc32c --verify_state_save=0 --verify_only --randseed=$rounds >/dev/null 2>&1; then
  errors=$((errors + 1))
  log "final verification failed"
fi

# Recovery throughput from the sheep logs: objects recovered in each pass
# over the pass's duration.
read -r objs secs < <(cat "$T"/*/sheep.log | python3 -c '
import re, sys, datetime
start = {}; objs = 0; secs = 0.0
for line in sys.stdin:
    m = re.match(r"(\w+ +\d+ [\d:]+) .*epoch (\d+): recovering (\d+) objects", line)
    d = re.match(r"(\w+ +\d+ [\d:]+) .*epoch (\d+): recovery done \((\d+) objects\)", line)
    if m: start[(m.group(2), id(line) % 1)] = m.group(1)
    if d:
        t1 = datetime.datetime.strptime(d.group(1), "%b %d %H:%M:%S")
        k = (d.group(2), 0)
        t0 = datetime.datetime.strptime(start.get(k, d.group(1)), "%b %d %H:%M:%S")
        objs += int(d.group(3)); secs += max(1.0, (t1 - t0).total_seconds())
print(objs, secs)')
mbs=$(python3 -c "print(f'{$objs * 4 / max($secs, 1):.1f}')")
if [ -n "$RESTARTS" ]; then
  echo "soak: ${MINUTES} min, $NODES nodes, copies=$COPIES, a restart between rounds every ${EVERY}s"
else
  echo "soak: ${MINUTES} min, $NODES nodes, copies=$COPIES, a kill every ${EVERY}s"
fi
echo "  fio rounds:          $rounds ($ops I/Os, every block verified after each round)"
echo "  nodes killed:        $kills"
echo "  recovered:           $objs objects in ${secs}s of recovery passes, ${mbs} MB/s"
echo "  placement at the end: $placement"
# Blocks whose bytes did not match their checksums (docs/PROTOCOL.md §9.7):
# a kill -9 must leave none (the pending sums cover a write cut short).
bad=$(cat "$T"/*/sheep.log | grep -c "does not match its checksum" || true)
echo "  checksum mismatches: $bad"
echo "  errors:              $errors"
[ "$errors" -eq 0 ] && [ "$bad" -eq 0 ]
