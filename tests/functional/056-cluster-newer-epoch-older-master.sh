#!/bin/bash
# After a full restart the node with the newest epoch decides; a waiting
# master whose epoch is older than that of a joining node of another
# cluster must not lead: the newcomer leaves, and so does the master. A
# fresh node then formats a cluster of its own.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format >/dev/null </dev/null || fail "format"
kill9_sheep 0
for i in 1 2; do wait_nodes "$i" 2; done
dogn 1 cluster shutdown || fail "shutdown"
for i in 1 2; do wait_for 20 sheep_gone "$i"; done
rm -rf "$T/0" "$T/1"
# A new cluster of nodes 0 and 1, at epoch 1, shut down.
start_sheep 0
start_sheep 1
for i in 0 1; do wait_nodes "$i" 2; done
dogn 0 cluster format >/dev/null </dev/null || fail "format the new cluster"
dogn 0 cluster shutdown || fail "shutdown the new cluster"
for i in 0 1; do wait_for 20 sheep_gone "$i"; done
# Node 0 waits for node 1; node 2, of the old cluster at epoch 2, arrives.
start_sheep 0
assert_eq "$(dogn 0 cluster info | head -n 1)" "Cluster status: Waiting for other nodes to join cluster" "node 0 waits"
"$SHEEP" "$T/2" -p 7002 -z 2 -c "local:$T/cluster" || fail "sheep 2 did not start"
wait_for 20 sheep_gone 2
wait_for 20 sheep_gone 0
grep -q "failed to join Sheepdog" "$T/2/sheep.log" || fail "node 2 does not say why it left"
grep -q "must not lead" "$T/0/sheep.log" || fail "node 0 does not say why it left"
rm -rf "$T/1"
start_sheep 1
dogn 1 cluster format >/dev/null </dev/null || fail "format node 1 alone"
assert_eq "$(dogn 1 cluster info | filter_dates | sed -n '5,$p')" "Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      1 [127.0.0.1:7001:128]" "history of the new cluster"
pass
