#!/bin/bash
# Copies 1, ten preallocated VDIs; nodes 2, 1 and 0 are killed one after the
# other (recovery finishes before each kill), then started again one at a
# time in the order 0, 1, 2, each time waiting while the cluster is still
# incomplete. Every object is the only copy of itself: all of them are
# found again and `dog vdi check` is clean for every VDI (upstream's 074).
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 1 >/dev/null || fail "format"
for i in $(seq 0 9); do dogn 0 vdi create -P "test$i" 16M || fail "create test$i"; done
for n in 2 1 0; do
  wait_for 60 no_recovery 0
  kill9_sheep "$n"
done
for n in 0 1 2; do
  start_sheep "$n"
  wait_nodes 0 $((n + 1))
  wait_for 60 no_recovery 0
done
for i in 0 1 2; do
  wait_for 20 sh -c "$DOG_BIN cluster info -p $((7000 + i)) | head -n 1 | grep -q running"
done
for i in $(seq 0 9); do
  out=$(dogn 0 vdi check "test$i" 2>&1) || fail "vdi check test$i: $out"
  assert_eq "$out" "finish check&repair test$i" "vdi check test$i"
done
wait_recovered 0
pass
