#!/bin/bash
# A sheep killed with kill -9 and started again at once, before the cluster
# has noticed the death, is taken back: its new incarnation holds the port,
# so the old one is gone (a leave, then a join), and with copies 1 its
# objects are still there. Twenty times in a row (the window is short).
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 1 >/dev/null </dev/null || fail "format"
dogn 0 vdi create disk 32M || fail "create"
head -c 32M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 32M <"$T/d" || fail "write"
want=$(md5sum <"$T/d" | cut -d' ' -f1)
for round in $(seq 1 20); do
  kill9_sheep 2
  start_sheep 2 || fail "round $round: the restarted sheep was not taken back"
  for i in 0 1 2; do wait_nodes "$i" 3; done
  [ -n "$(sheep_pid 2)" ] || fail "round $round: the restarted sheep exited"
  got=$(dogn 1 vdi read disk 0 32M | md5sum | cut -d' ' -f1)
  assert_eq "$got" "$want" "data after round $round"
done
if grep -q "already a member" "$T"/*/sheep.log; then fail "a restarted sheep was refused"; fi
wait_recovered 0
pass
