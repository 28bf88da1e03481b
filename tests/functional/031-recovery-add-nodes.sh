#!/bin/bash
# Three sheep, 3 copies; two more join while data is being written. Data
# moves to them, and when recovery is done every object sits on exactly
# its 3 owners (no copy left on a node that no longer owns it).
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 160M || fail "create"
head -c 160M /dev/urandom >"$T/d"
dogn 1 vdi write disk 0 160M <"$T/d" &
writer=$!
start_sheep 3
start_sheep 4
wait $writer || fail "write while nodes joined"
for i in 0 1 2 3 4; do wait_nodes "$i" 5; done
wait_recovered 0
n3=$(ls "$T/3/obj" | grep -c '^00') || true
n4=$(ls "$T/4/obj" | grep -c '^00') || true
[ "$n3" -gt 0 ] && [ "$n4" -gt 0 ] || fail "no data moved to the new nodes ($n3, $n4)"
want=$(md5sum <"$T/d" | cut -d' ' -f1)
for i in 0 3 4; do
  assert_eq "$(dogn "$i" vdi read disk 0 160M | md5sum | cut -d' ' -f1)" "$want" "read through node $i"
done
pass
