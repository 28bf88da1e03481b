#!/bin/bash
# Split brain: host 3 is cut off by an nftables drop rule. The majority
# (hosts 1 and 2, quorate) keeps serving and writing; the minority refuses
# I/O. After the heal host 3 rejoins by itself, and every host reads the
# data the majority wrote.
source "$(dirname "$0")/lib.sh"
start_corosync_hosts 3
host_dog 1 cluster format -c 3 >/dev/null || fail "format"
host_dog 1 vdi create v 32M || fail "create"
head -c 16M /dev/urandom >"$T/a"
host_dog 1 vdi write v 0 16M <"$T/a" || fail "first write"

"$NETNS" partition 3 sdh || fail "partition"
on_exit "$NETNS heal 3 sdh"
wait_for 20 host_nodes_are 1 2
halted3() {
  local out
  out=$(host_dog 3 vdi write v 0 1 </dev/zero 2>&1 || true)
  [[ $out == *"IO has halted"* ]]
}
wait_for 20 halted3
head -c 16M /dev/urandom >"$T/b"
host_dog 2 vdi write v 0 16M <"$T/b" || fail "majority write during the partition"
want=$(md5sum <"$T/b" | cut -d' ' -f1)
assert_eq "$(host_dog 1 vdi read v 0 16M | md5sum | cut -d' ' -f1)" "$want" "majority read during the partition"

"$NETNS" heal 3 sdh || fail "heal"
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
running3() {
  local out
  out=$(host_dog 3 cluster info 2>/dev/null || true)
  [[ $out == "Cluster status: running"* ]]
}
wait_for 20 running3
for i in 1 2 3; do
  assert_eq "$(host_dog "$i" vdi read v 0 16M | md5sum | cut -d' ' -f1)" "$want" "read on host $i after the heal"
done
# Each host stamps an epoch with its own clock: compare without the times.
ref=$(host_dog 1 cluster info | filter_dates)
assert_eq "$(host_dog 3 cluster info | filter_dates)" "$ref" "epoch history on host 3 after the heal"
pass
