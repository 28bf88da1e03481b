#!/bin/bash
# A sheep that belongs to another cluster (different creation time) is
# refused with a clear reason in its log and exits; the cluster carries on.
source "$(dirname "$0")/lib.sh"

start_cluster 2
dogn 0 cluster format -c 2 >/dev/null || fail "format"
# A separate one-node cluster, formatted on its own.
"$SHEEP" "$T/9" -p 7009 -z 9 -c "local:$T/other" || fail "sheep 9"
wait_for 20 sheep_listed 9
dogn 9 cluster format -c 1 >/dev/null || fail "format other"
stop_sheep 9
# Now it tries to join the first cluster.
"$SHEEP" "$T/9" -p 7009 -z 9 -c "local:$T/cluster" || fail "restart sheep 9"
wait_for 20 sheep_gone 9
grep -q "the cluster refused this node: creation times differ" "$T/9/sheep.log" ||
  fail "no refusal reason in the log: $(tail -n 3 "$T/9/sheep.log")"
assert_eq "$(node_count 0)" "2" "members after the refusal"
assert_eq "$(epoch_of 1)" "1" "epoch after the refusal"
# Every object ends on exactly its owners.
wait_recovered 0
pass
