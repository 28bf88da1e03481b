#!/bin/bash
# Five sheep, 3 copies: two nodes are lost one after the other. After each
# loss recovery restores 3 copies, so nothing is lost even though some
# objects had copies on both lost nodes.
source "$(dirname "$0")/lib.sh"
start_cluster 5
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 128M || fail "create"
head -c 128M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 128M <"$T/d" || fail "write"
want=$(md5sum <"$T/d" | cut -d' ' -f1)
kill9_sheep 1
wait_nodes 0 4
wait_recovered 0
kill9_sheep 3
wait_nodes 0 3
wait_recovered 0
for i in 0 2 4; do
  assert_eq "$(dogn "$i" vdi read disk 0 128M | md5sum | cut -d' ' -f1)" "$want" "read through node $i"
done
pass
