#!/bin/bash
# `dog node vnodes set` on a fixed-vnodes cluster, and a gateway joining a
# running cluster, as upstream:
# - before a format it fails ("Failed to execute request", exit 255);
# - after `cluster format -V` each set makes exactly one epoch (also when
#   the number does not change), `node list` and `cluster info` show the
#   node's new vnodes, recovery puts every object on exactly its owners
#   and the data reads back unchanged; 65535 is the largest number;
# - a node restarted with its old -V refuses to start, with the new one
#   it rejoins with that many vnodes;
# - `cluster reweight` on this cluster changes nothing;
# - a gateway (`sheep -g`) joining makes one epoch, is listed with 0
#   vnodes, stores no object while VDIs are created, written and read
#   through it, and refuses `node vnodes set` (exit 255);
# - bad numbers (0, 65536, abc, 12x) print only upstream's message and
#   exit 64; `dog node vnodes` alone prints upstream's usage, exit 64.
source "$(dirname "$0")/lib.sh"

# expect_rc RC OUTPUT WHAT -- CMD...: CMD exits RC printing OUTPUT (stdout and stderr).
expect_rc() {
  local want_rc=$1 want_out=$2 what=$3 rc=0 out
  shift 4
  out=$("$@" 2>&1) || rc=$?
  assert_eq "$rc: $out" "$want_rc: $want_out" "$what"
}
# vnodes_set N VNODES EPOCH LIST: `node vnodes set` on node N succeeds
# silently and makes epoch EPOCH, whose members (and every node list)
# show LIST; recovery then puts every object in place.
vnodes_set() {
  local n=$1 v=$2 e=$3 want=$4 i
  expect_rc 0 "" "vnodes set $v on node $n" -- dogn "$n" node vnodes set "$v"
  assert_eq "$(epoch_of "$n")" "$e" "epoch after vnodes set $v on node $n"
  for i in 0 1 2; do
    wait_for 10 epoch_is "$i" "$e"
    wait_for 10 vnodes_are "$i" "$want"
  done
  assert_eq "$(epoch_list 0 "$e")" "$(list_of "7000 7001 7002" "$want")" "epoch $e"
  wait_recovered 0
}

# Object directories of their own, so that `cluster reweight` measures
# exactly the space each node had (nothing else writes there).
for i in 0 1 2; do
  mkdir -p "$T/$i/obj"
  mount -t tmpfs -o size=1G tmpfs "$T/$i/obj" || fail "cannot mount a tmpfs on $T/$i/obj"
  on_exit "umount -l $T/$i/obj"
done
no_stale() { [ -z "$(find "$T"/[0-9]/obj/.stale -type f 2>/dev/null)" ]; }
start_cluster 3 -V 128
expect_rc 255 "Failed to execute request" "vnodes set before a format" -- dogn 1 node vnodes set 64
dogn 0 cluster format -V -c 2 >/dev/null </dev/null || fail "format"
assert_eq "$(epoch_list 2 1)" "$(list_of "7000 7001 7002" "128 128 128")" "epoch 1"
dogn 0 vdi create disk 96M || fail "create"
head -c 96M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 96M <"$T/d" || fail "write"
ref=$(sum <"$T/d")

vnodes_set 1 64 2 "128 64 128"
for i in 0 1 2; do assert_eq "$(dogn "$i" vdi read disk | sum)" "$ref" "data through node $i after vnodes set 64"; done
vnodes_set 1 64 3 "128 64 128"
vnodes_set 2 300 4 "128 64 300"
vnodes_set 0 65535 5 "65535 64 300"
vnodes_set 0 1 6 "1 64 300"
for i in 0 1 2; do assert_eq "$(dogn "$i" vdi read disk | sum)" "$ref" "data through node $i after vnodes set"; done
wait_for 10 same_history 1 2
assert_eq "$(dogn 0 cluster info -r | awk 'NR > 2' | cut -d' ' -f2-)" "6 [$(list_of "7000 7001 7002" "1 64 300")]
5 [$(list_of "7000 7001 7002" "65535 64 300")]
4 [$(list_of "7000 7001 7002" "128 64 300")]
3 [$(list_of "7000 7001 7002" "128 64 128")]
2 [$(list_of "7000 7001 7002" "128 64 128")]
1 [$(list_of "7000 7001 7002" "128 128 128")]" "epoch history"

# Restarted with the -V it had at first: refused; with its new number: back.
stop_sheep 1
for i in 0 2; do wait_nodes "$i" 2; done
wait_for 10 epoch_is 0 7
"$SHEEP" "$T/1" -p 7001 -z 1 -c "local:$T/cluster" -V 128 || true
wait_for 20 sheep_gone 1
assert_eq "$(epoch_of 0)" "7" "epoch after a refused restart"
start_sheep 1 -V 64
for i in 0 1 2; do wait_nodes "$i" 3; done
for i in 0 1 2; do wait_for 10 epoch_is "$i" 8; done
assert_eq "$(epoch_list 0 8)" "$(list_of "7000 7001 7002" "1 64 300")" "epoch 8: node 1 back with 64"
wait_recovered 0
assert_eq "$(dogn 1 vdi read disk | sum)" "$ref" "data after node 1 rejoined"

# Nothing to reweight in a fixed cluster. (Objects left behind by the
# recoveries take free space without counting as used: wait until they
# are dropped.)
wait_for 60 no_stale
expect_rc 0 "" "reweight of a fixed cluster" -- dogn 0 cluster reweight
assert_eq "$(epoch_of 0)" "8" "epoch after a reweight of a fixed cluster"

# A gateway joins.
"$SHEEP" "$T/3" -p 7003 -z 3 -c "local:$T/cluster" -g || fail "the gateway did not start"
gateway_in_or_gone() { sheep_listed 3 || sheep_gone 3; }
wait_for 20 gateway_in_or_gone
epoch_at_least() { [ "$(epoch_of "$1")" -ge "$2" ]; }
wait_for 10 epoch_at_least 0 9
if sheep_gone 3 || [ "$(epoch_of 0)" != 9 ]; then
  fail "the gateway did not stay in a fixed-vnodes cluster (epoch $(epoch_of 0); its log:" \
    "$(grep ERROR "$T/3/sheep.log" | head -n 2 | tr '\n' ' '))"
fi
for i in 0 1 2 3; do wait_nodes "$i" 4; done
for i in 0 1 2 3; do wait_for 10 epoch_is "$i" 9; done
assert_eq "$(epoch_list 3 9)" "$(list_of "7000 7001 7002 7003" "1 64 300 0")" "epoch 9: a gateway joined"
assert_eq "$(vnodes_of 3)" "1 64 300 0" "node list with a gateway"
expect_rc 255 "Failed to execute request" "vnodes set on a gateway" -- dogn 3 node vnodes set 64
assert_eq "$(epoch_of 0)" "9" "epoch after vnodes set on a gateway"
head -c 16M /dev/urandom >"$T/g"
dogn 3 vdi write disk 40M 16M <"$T/g" || fail "write through the gateway"
assert_eq "$(dogn 3 vdi read disk 40M 16M | sum)" "$(sum <"$T/g")" "read through the gateway"
dd if="$T/g" of="$T/d" bs=1M seek=40 conv=notrunc status=none
ref=$(sum <"$T/d")
dogn 3 vdi create -c 3 gw 32M || fail "create through the gateway"
head -c 32M /dev/urandom >"$T/h"
dogn 3 vdi write gw 0 32M <"$T/h" || fail "write a VDI created through the gateway"
wait_recovered 0
wait_for 60 no_stale
for i in 0 1 2 3; do
  assert_eq "$(dogn "$i" vdi read disk | sum)" "$ref" "disk through node $i"
  assert_eq "$(dogn "$i" vdi read gw | sum)" "$(sum <"$T/h")" "gw through node $i"
done
stored=$(find "$T/3/obj" -type f | grep -E '/[0-9a-f]{16}[^/]*$' || true)
[ -z "$stored" ] || fail "the gateway stores objects: $(echo "$stored" | head -n 3)"
expect_rc 0 "" "reweight with a gateway" -- dogn 3 cluster reweight
assert_eq "$(epoch_of 0)" "9" "epoch after a reweight with a gateway"
wait_for 10 same_history 1 2 3

# Bad numbers: upstream's message alone, exit 64, nothing changes.
for v in 0 65536 abc 12x; do
  rc=0
  dogn 1 node vnodes set "$v" >"$T/out" 2>"$T/err" || rc=$?
  assert_eq "$rc: $(cat "$T/err")" \
    "64: Invalid number of vnodes '$v': must be an integer between 1 and 65535" "vnodes set $v"
  assert_eq "$(cat "$T/out")" "" "standard output of vnodes set $v"
done
assert_eq "$(epoch_of 0)" "9" "epoch after bad vnodes numbers"
rc=0
out=$(dogn 1 node vnodes set 2>&1) || rc=$?
assert_eq "$rc: $(echo "$out" | head -n 1)" \
  "64: Usage: dog node vnodes set [-a address] [-p port] [-h] <num of vnodes>" "vnodes set without a number"
expect_rc 64 "Usage: dog node vnodes set [-a address] [-p port] [-h] <num of vnodes>
Available subcommands:
  set                     set new vnodes
Options:
  -a, --address           specify the daemon address (default: localhost)
  -p, --port              specify the daemon port
  -h, --help              display this help and exit" "dog node vnodes" -- dogn 1 node vnodes
pass
