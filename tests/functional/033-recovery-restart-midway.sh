#!/bin/bash
# Recovery is slowed down with a throttle, a node joins, and the whole
# cluster is shut down in the middle of the recovery and started again:
# recovery resumes and finishes, and no data is lost.
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 160M || fail "create"
head -c 160M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 160M <"$T/d" || fail "write"
for i in 0 1 2; do dogn "$i" node recovery set-throttle 1 500 || fail "throttle"; done
start_sheep 3 -R max=1,interval=500
for i in 0 1 2 3; do wait_nodes "$i" 4; done
in_recovery() { ! no_recovery 0; }
wait_for 20 in_recovery
dogn 0 cluster shutdown || fail "shutdown"
for i in 0 1 2 3; do wait_for 20 sheep_gone "$i"; done
for i in 0 1 2 3; do start_sheep "$i"; done
for i in 0 1 2 3; do wait_nodes "$i" 4; done
for i in 0 1 2 3; do dogn "$i" node recovery set-throttle 0 0 || true; done
wait_recovered 0
want=$(md5sum <"$T/d" | cut -d' ' -f1)
for i in 0 3; do
  assert_eq "$(dogn "$i" vdi read disk 0 160M | md5sum | cut -d' ' -f1)" "$want" "read through node $i"
done
pass
