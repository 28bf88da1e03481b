#!/bin/bash
# Formatted nodes that start into a cluster of fresh nodes waiting for a
# format bring their cluster with them: the fresh nodes adopt it, the
# cluster waits until every member of its last epoch is back, and then all
# six run in one new epoch, with the same history everywhere (upstream 070).
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format >/dev/null </dev/null || fail "format"
dogn 0 vdi create keep 16M || fail "create"
head -c 4M /dev/urandom >"$T/d"
dogn 0 vdi write keep 0 4M <"$T/d" || fail "write"
dogn 0 cluster shutdown || fail "shutdown"
for i in 0 1 2; do wait_for 20 sheep_gone "$i"; done
for i in 3 4 5; do start_sheep "$i"; done
for i in 3 4 5; do wait_nodes "$i" 3; done
assert_eq "$(dogn 3 cluster info | head -n 1)" "Cluster status: Waiting for cluster to be formatted" "fresh nodes wait"
for i in 0 1 2; do start_sheep "$i"; done
for i in 0 1 2 3 4 5; do wait_nodes "$i" 6; done
want="Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      2 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7002:128, 127.0.0.1:7003:128, 127.0.0.1:7004:128, 127.0.0.1:7005:128]
DATE      1 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7002:128]"
for i in 0 1 2 3 4 5; do
  wait_for 20 sh -c "$DOG_BIN cluster info -p $((7000 + i)) | head -n 1 | grep -q running"
  assert_eq "$(dogn "$i" cluster info | filter_dates | sed -n '5,$p')" "$want" "history on node $i"
done
got=$(dogn 5 vdi read keep 0 4M | md5sum | cut -d' ' -f1)
assert_eq "$got" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data through a node that was fresh"
wait_recovered 0
pass
