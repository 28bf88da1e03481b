#!/bin/bash
# Copies 1: a node's objects are the only copies. When that node is killed
# and started again, it keeps serving them (they may pass through .stale,
# but recovery takes them back): the preallocated VDI and its data survive.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create -P test 40M || fail "create -P"
head -c 40M /dev/urandom >"$T/d"
dogn 0 vdi write test 0 40M <"$T/d" || fail "write"
want=$(md5sum <"$T/d" | cut -d' ' -f1)
list=$(dogn 0 vdi list -r)
held=$(ls "$T/2/obj" | grep -c '^[0-9a-f]\{16\}$' || true)
[ "$held" -gt 0 ] || fail "node 2 holds no object; the test needs it to"

kill9_sheep 2
for i in 0 1; do wait_nodes "$i" 2; done
start_sheep 2
for i in 0 1 2; do wait_nodes "$i" 3; done
wait_recovered 0
for i in 0 1 2; do
  assert_eq "$(dogn "$i" vdi list -r)" "$list" "vdi list on node $i after the restart"
  got=$(dogn "$i" vdi read test 0 40M | md5sum | cut -d' ' -f1)
  assert_eq "$got" "$want" "data through node $i after the restart"
done
# A clean stop and start keeps them too.
stop_sheep 1
for i in 0 2; do wait_nodes "$i" 2; done
start_sheep 1
for i in 0 1 2; do wait_nodes "$i" 3; done
wait_recovered 0
got=$(dogn 1 vdi read test 0 40M | md5sum | cut -d' ' -f1)
assert_eq "$got" "$want" "data after a clean restart of node 1"
pass
