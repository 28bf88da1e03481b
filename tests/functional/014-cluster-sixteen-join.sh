#!/bin/bash
# Sixteen sheep started at once form one cluster: every node lists all
# sixteen, the same way.
source "$(dirname "$0")/lib.sh"

for i in $(seq 0 15); do
  "$SHEEP" "$T/$i" -p $((7000 + i)) -z "$i" -c "local:$T/cluster" || fail "sheep $i"
done
for i in $(seq 0 15); do wait_for 30 sheep_listed "$i"; done
for i in $(seq 0 15); do wait_nodes "$i" 16; done
ref=$(dogn 0 node list)
for i in $(seq 1 15); do assert_eq "$(dogn "$i" node list)" "$ref" "node list on node $i"; done
dogn 7 cluster format -c 3 >/dev/null || fail "format"
assert_eq "$(epoch_of 15)" "1" "epoch after format"
pass
