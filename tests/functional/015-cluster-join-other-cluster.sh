#!/bin/bash
# A sheep of another cluster (formatted on its own) is admitted as every
# node is, which is an epoch; it finds that it belongs elsewhere, says so in
# its log and leaves, which is the next epoch; its own data stays as it was.
# A fresh node then joins normally (upstream's test 007).
source "$(dirname "$0")/lib.sh"

start_sheep 1
dogn 1 cluster format -c 1 >/dev/null || fail "format node 1 alone"
dogn 1 cluster shutdown || fail "shutdown node 1"
wait_for 20 sheep_gone 1
other_ctime=$(od -An -tu8 -N8 "$T/1/config")
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format node 0"
"$SHEEP" "$T/1" -p 7001 -z 1 -c "local:$T/cluster" || fail "sheep 1 did not start"
wait_for 20 sheep_gone 1
grep -q "joining node ctime doesn't match" "$T/1/sheep.log" ||
  fail "no reason in the log: $(tail -n 3 "$T/1/sheep.log")"
grep -q "failed to join Sheepdog" "$T/1/sheep.log" || fail "no 'failed to join Sheepdog'"
assert_eq "$(od -An -tu8 -N8 "$T/1/config")" "$other_ctime" "node 1 keeps its own cluster"
assert_eq "$(ls "$T/1/epoch")" "00000001" "node 1 keeps its own history"
wait_nodes 0 1
start_sheep 2
for i in 0 2; do wait_nodes "$i" 2; done
want="Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      4 [127.0.0.1:7000:128, 127.0.0.1:7002:128]
DATE      3 [127.0.0.1:7000:128]
DATE      2 [127.0.0.1:7000:128, 127.0.0.1:7001:128]
DATE      1 [127.0.0.1:7000:128]"
for i in 0 2; do
  assert_eq "$(dogn "$i" cluster info | filter_dates | sed -n '5,$p')" "$want" "history on node $i"
done
wait_recovered 0
pass
