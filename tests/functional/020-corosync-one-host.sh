#!/bin/bash
# Three sheep on one host over one private corosync (-c corosync): they
# form one cluster, serve a VDI, see a kill -9 as a leave at once, stop
# serving I/O with a clear log line when corosync dies, and rejoin by
# themselves when it is back.
source "$(dirname "$0")/lib.sh"
private_run_and_shm
start_corosync "$T/coro"

for i in 0 1 2; do
  "$SHEEP" "$T/$i" -p $((7000 + i)) -z "$i" -c corosync || fail "sheep $i"
  wait_for 20 sheep_listed "$i"
done
for i in 0 1 2; do wait_nodes "$i" 3; done
dogn 1 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create v 64M || fail "create"
head -c 24M /dev/urandom >"$T/d"
dogn 2 vdi write v 0 24M <"$T/d" || fail "write"
want=$(md5sum <"$T/d" | cut -d' ' -f1)
assert_eq "$(dogn 0 vdi read v 0 24M | md5sum | cut -d' ' -f1)" "$want" "read through node 0"

kill9_sheep 1
for i in 0 2; do wait_nodes "$i" 2; done
assert_eq "$(epoch_of 2)" "2" "epoch after kill -9"
assert_eq "$(dogn 2 vdi read v 0 24M | md5sum | cut -d' ' -f1)" "$want" "read after kill -9"

# corosync dies: the sheep refuse I/O and say why.
"$COROSYNC" stop "$T/coro" --kill
halted() {
  local out
  out=$(dogn 0 vdi read v 0 1 2>&1 || true)
  [[ $out == *"IO has halted"* ]]
}
wait_for 10 halted
grep -q "corosync is gone" "$T/0/sheep.log" || fail "no log line about corosync"

# corosync is back: they rejoin and serve again.
start_corosync "$T/coro"
DRIVER=corosync start_sheep 1
for i in 0 1 2; do wait_nodes "$i" 3; done
running() {
  local out
  out=$(dogn 0 cluster info 2>/dev/null || true)
  [[ $out == "Cluster status: running"* ]]
}
wait_for 20 running
assert_eq "$(dogn 1 vdi read v 0 24M | md5sum | cut -d' ' -f1)" "$want" "read after corosync came back"
head -c 8M /dev/urandom >"$T/e"
dogn 0 vdi write v 0 8M <"$T/e" || fail "write after corosync came back"
assert_eq "$(dogn 2 vdi read v 0 8M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/e" | cut -d' ' -f1)" "new data"
pass
