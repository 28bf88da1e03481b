#!/bin/bash
# Measures the cluster drivers: failure detection time and ordered message
# throughput, for the local driver, for corosync (one host, and three
# hosts in network namespaces) and for ZooKeeper (one server on the host).
# Not part of the test suite.
#   scripts/bench-cluster-driver.sh [BUILD_DIR]      (default build/)
# Runs itself in private namespaces; needs root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
if [ -z "${SD_BENCH_INNER:-}" ]; then
  exec unshare --net --mount --pid --fork --mount-proc \
    env SD_BENCH_INNER=1 bash -c 'ip link set lo up && exec bash "$0" "$1"' "$0" "$BUILD"
fi
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
SHEEP=$BUILD/daemon/sheep
DOG=$BUILD/cli/dog
BENCH=$BUILD/tests/tools/driver-bench
T=$(mktemp -d /tmp/sdbench.XXXXXX)
# (Keeps the script's own status: under set -e a pkill that finds nothing
# would otherwise end it with status 1.)
trap 'rc=$?; set +e; pkill -9 -f "$SHEEP $T/" 2>/dev/null; rm -rf "$T"; exit $rc' EXIT
now_ms() { date +%s%3N; }
wait_count() {  # wait_count DOG_ARGS... -- COUNT
  local want=${*: -1}
  local args=("${@:1:$#-1}")
  for _ in $(seq 1 1000); do
    [ "$("$DOG" node list -r "${args[@]}" 2>/dev/null | wc -l)" -eq "$want" ] && return 0
    sleep 0.01
  done
  return 1
}

run_on_one_host() {  # run_on_one_host LABEL DRIVER
  local label=$1 driver=$2
  for i in 0 1 2; do "$SHEEP" "$T/$label$i" -p $((7100 + i)) -z "$i" -c "$driver"; done
  wait_count -p 7100 3
  "$DOG" cluster format -c 3 -p 7100 >/dev/null
  echo "-- $label driver, 3 sheep on one host"
  "$BENCH" -p 7100 -n 500 -j 1
  "$BENCH" -p 7100 -n 4000 -j 16
  local t0
  t0=$(now_ms)
  pkill -9 -f "$SHEEP $T/${label}2 "
  wait_count -p 7100 2
  echo "kill -9 of a sheep seen after $(($(now_ms) - t0)) ms"
  pkill -f "$SHEEP $T/$label" || true
  sleep 0.5
}

run_on_one_host local "local:$T/localdir"
"$ROOT/scripts/corosync.sh" start "$T/coro" >/dev/null
run_on_one_host corosync corosync
"$ROOT/scripts/corosync.sh" stop "$T/coro" --kill
"$ROOT/scripts/zookeeper.sh" start "$T/zk" --port 2181
run_on_one_host zookeeper zookeeper:127.0.0.1:2181
"$ROOT/scripts/zookeeper.sh" stop "$T/zk" --kill

echo "-- corosync driver, 3 hosts (network namespaces, knet, token 1000 ms)"
"$ROOT/scripts/netns-hosts.sh" up 3 sdb >/dev/null
for i in 1 2 3; do
  "$ROOT/scripts/corosync.sh" conf "$T/c$i" --addrs 10.77.0.1,10.77.0.2,10.77.0.3 --token 1000
  "$ROOT/scripts/corosync.sh" start "$T/c$i" --netns "sdb-$i"
done
for i in 1 2 3; do
  ip netns exec "sdb-$i" "$SHEEP" "$T/h$i" -p 7000 -z "$i" -c corosync -b "10.77.0.$i" -y "10.77.0.$i"
done
ip netns exec sdb-1 bash -c "$(declare -f wait_count); DOG=$DOG; wait_count -a 10.77.0.1 3"
ip netns exec sdb-1 "$DOG" cluster format -c 3 -a 10.77.0.1 >/dev/null
ip netns exec sdb-1 "$BENCH" -a 10.77.0.1 -n 500 -j 1
ip netns exec sdb-1 "$BENCH" -a 10.77.0.1 -n 4000 -j 16
t0=$(now_ms)
ip netns exec sdb-3 pkill -9 -f "$SHEEP $T/h3 "
ip netns exec sdb-1 bash -c "$(declare -f wait_count); DOG=$DOG; wait_count -a 10.77.0.1 2"
echo "kill -9 of a sheep on host 3 seen after $(($(now_ms) - t0)) ms"
ip netns exec sdb-3 "$SHEEP" "$T/h3" -p 7000 -z 3 -c corosync -b 10.77.0.3 -y 10.77.0.3
ip netns exec sdb-1 bash -c "$(declare -f wait_count); DOG=$DOG; wait_count -a 10.77.0.1 3"
t0=$(now_ms)
"$ROOT/scripts/corosync.sh" stop "$T/c3" --kill
ip netns exec sdb-1 bash -c "$(declare -f wait_count); DOG=$DOG; wait_count -a 10.77.0.1 2"
echo "kill -9 of corosync on host 3 seen after $(($(now_ms) - t0)) ms"
