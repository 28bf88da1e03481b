#!/bin/bash
# A whole cluster stopped and started again from its data dirs comes back
# with its VDIs, data and epoch history; until every member of the last
# epoch is back it waits ("Waiting for other nodes to join cluster").
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create a 64M || fail "create a"
dogn 1 vdi create b 64M || fail "create b"
head -c 16M /dev/urandom >"$T/d"
dogn 2 vdi write b 0 16M <"$T/d" || fail "write"
list=$(dogn 0 vdi list)
history=$(dogn 0 cluster info)

dogn 1 cluster shutdown || fail "cluster shutdown"
for i in 0 1 2; do wait_for 20 sheep_gone "$i"; done
start_sheep 0
out=$(dogn 0 cluster info | head -n 1)
assert_eq "$out" "Cluster status: Waiting for other nodes to join cluster" "status with one node back"
out=$(dogn 0 vdi read b 0 1 2>&1 || true)
assert_eq "$out" "Failed to open VDI b (snapshot id: 0 snapshot tag: ): Waiting for other nodes to join cluster" "I/O while waiting"
start_sheep 1
start_sheep 2
for i in 0 1 2; do wait_nodes "$i" 3; done
wait_for 10 sh -c "$DOG_BIN cluster info -p 7001 | head -n 1 | grep -q running"
assert_eq "$(dogn 1 vdi list)" "$list" "vdi list after restart"
assert_eq "$(dogn 2 cluster info)" "$history" "epoch history after restart"
got=$(dogn 1 vdi read b 0 16M | md5sum | cut -d' ' -f1)
assert_eq "$got" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data after restart"
# Every object ends on exactly its owners.
wait_recovered 0
pass
