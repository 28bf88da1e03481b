#!/bin/bash
# A sheep must stop acknowledging I/O before the others can drop it from
# the cluster, whatever ZooKeeper's client says about its connection
# (upstream #224, and the window after it):
# - host 3 cut off from ZooKeeper (one server, on host 1) but not from the
#   other sheep: the moment hosts 1 and 2 list two nodes, host 3 already
#   refuses to read even the VDI it holds all of (IO has halted), though
#   its own connection to ZooKeeper is not yet known to be lost;
# - a sheep frozen (SIGSTOP) for longer than the session timeout refuses
#   I/O the moment it is thawed, before it has caught up with the cluster,
#   and a plugin beside it stops reading its object files directly once
#   the sheep's read lease is no longer vouched for (docs/PROTOCOL.md
#   §8.9), even though the frozen sheep cannot say so.
source "$(dirname "$0")/lib.sh"
private_run_and_shm
hosts_up 3
start_zookeeper "$T/zk" --addr 10.77.0.1 --port 2181 --netns sdh-1
driver=zookeeper:10.77.0.1:2181,timeout=6000
for i in 1 2 3; do
  on_host "$i" "$SHEEP" "$T/h$i" -p 7000 -z "$i" -c "$driver" -b "10.77.0.$i" -y "10.77.0.$i" ||
    fail "sheep on host $i"
  wait_for 30 host_listed "$i"
done
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
host_dog 1 cluster format -c 3 >/dev/null || fail "format"
host_dog 1 vdi create full 4M || fail "create"
head -c 4M /dev/urandom | host_dog 1 vdi write full 0 4M || fail "write"
host_dog 3 vdi read full 0 4M >/dev/null || fail "host 3 serves full"

zk_cut() { ip netns exec sdh-3 nft "$1 table inet zkcut${2:-}"; }
zk_cut add " { chain out { type filter hook output priority 0; tcp dport 2181 drop; }; }" || fail "cut"
on_exit "ip netns exec sdh-3 nft delete table inet zkcut"
wait_for 30 host_nodes_are 1 2
out=$(host_dog 3 vdi read full 0 4M 2>&1 >/dev/null) && fail "host 3 still served I/O after the others had dropped it"
[[ $out == *"IO has halted"* ]] || fail "host 3 after the drop: $out"
zk_cut delete || fail "heal"
for i in 1 2 3; do wait_for 40 host_nodes_are "$i" 3; done
wait_for 30 host_dog 3 vdi read full 0 4M

# Frozen past the session timeout, then thawed: refused at once. A plugin
# beside it reading its object files directly (local reads) must not go on
# reading them once the others may have dropped it: they write on without
# it, and its files are stale.
on_host 2 env LD_PRELOAD="$(nbdkit_preload)" nbdkit -U "$T/r.sock" -P "$T/r.pid" "$PLUGIN" \
  vdi=full socket="$T/h2/sock" readonly=true || fail "nbdkit on host 2"
on_exit "kill -9 \$(cat $T/r.pid)"
wait_for 20 test -S "$T/r.sock"
old=$(nbdcopy "nbd+unix:///?socket=$T/r.sock" - | md5sum)
assert_eq "$old" "$(host_dog 1 vdi read full 0 4M | md5sum)" "the plugin on host 2 reads full"
pid=$(pgrep -f "^$SHEEP $T/h2 ")
kill -STOP "$pid"
on_exit "kill -CONT $pid"
wait_for 30 host_nodes_are 1 2
head -c 4M /dev/urandom | host_dog 1 vdi write full 0 4M || fail "write full without host 2"
# A frozen sheep answers nothing: the read either waits (and is cut short
# here) or fails; what it must not do is return the old bytes.
got=$( { timeout -k 1 5 nbdcopy "nbd+unix:///?socket=$T/r.sock" - 2>/dev/null || true; } | md5sum)
[[ $got != "$old" ]] || fail "the plugin beside a frozen, dropped sheep read its stale files"
kill -CONT "$pid"
out=$(host_dog 2 vdi read full 0 4M 2>&1 >/dev/null) && fail "host 2 served I/O right after its thaw"
[[ $out == *"IO has halted"* ]] || fail "host 2 after the thaw: $out"
for i in 1 2 3; do wait_for 40 host_nodes_are "$i" 3; done
wait_for 30 host_dog 2 vdi read full 0 4M
want=$(host_dog 1 vdi read full 0 4M | md5sum)
assert_eq "$(host_dog 2 vdi read full 0 4M | md5sum)" "$want" "host 2 after it rejoined"
reads_current() { [ "$(nbdcopy "nbd+unix:///?socket=$T/r.sock" - | md5sum)" = "$want" ]; }
wait_for 30 reads_current
pass
