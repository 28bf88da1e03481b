#!/bin/bash
# Three hosts (network namespaces), each with a sheep and a server of one
# three-server ZooKeeper ensemble, as a new user would set it up: the
# sheep form one cluster and serve a VDI through the plugin while fio
# verifies; kill -9 of a sheep and of a ZooKeeper server during the run
# cost no verification error; the epochs agree across hosts. A host cut
# off the network (upstream #224) stops serving I/O and is removed after
# the session timeout, recovery runs, and it comes back when the network
# does. The whole ensemble stopped and started: the cluster comes back.
source "$(dirname "$0")/lib.sh"
private_run_and_shm
hosts_up 3
servers=10.77.0.1:2181,10.77.0.2:2181,10.77.0.3:2181
for i in 1 2 3; do
  start_zookeeper "$T/zk$i" --addr "10.77.0.$i" --port 2181 --netns "sdh-$i" --id "$i" --servers "$servers"
done
for i in 1 2 3; do wait_for 30 "$ZOOKEEPER" running "$T/zk$i"; done
zk_sheep() {  # zk_sheep I: the sheep of host I
  on_host "$1" "$SHEEP" "$T/h$1" -p 7000 -z "$1" -c "zookeeper:$servers" -b "10.77.0.$1" \
    -y "10.77.0.$1" || fail "sheep on host $1"
  wait_for 30 host_listed "$1"
}
for i in 1 2 3; do zk_sheep "$i"; done
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
host_dog 1 cluster format -c 2 >/dev/null || fail "format"
host_dog 2 vdi create disk 128M || fail "create"
# Three copies: every host can serve this one from its own store alone.
host_dog 2 vdi create -c 3 full 4M || fail "create full"
head -c 4M /dev/urandom | host_dog 2 vdi write full 0 4M || fail "write full"

on_host 1 env LD_PRELOAD="$(nbdkit_preload)" nbdkit -U "$T/w.sock" -P "$T/w.pid" "$PLUGIN" \
  vdi=disk address=10.77.0.1 || fail "nbdkit on host 1"
on_exit "kill \$(cat $T/w.pid)"
wait_for 20 test -S "$T/w.sock"
fio --name=verify --ioengine=nbd --uri="nbd+unix:///?socket=$T/w.sock" --rw=randwrite \
  --bs=64k --size=64M --iodepth=8 --verify=crc32c --verify_state_save=0 --verify_fatal=1 \
  --do_verify=1 --output="$T/fio.out" >/dev/null 2>&1 &
fio_pid=$!
on_exit "kill $fio_pid"
some_data() { [ "$(host_dog 1 vdi list -r disk | awk '{print $5}')" -gt $((12 << 20)) ]; }
wait_for 60 some_data
"$ZOOKEEPER" stop "$T/zk3" --kill || fail "kill zookeeper 3"
on_host 2 pkill -9 -f "^$SHEEP $T/h2 " || fail "kill sheep 2"
wait $fio_pid || { cat "$T/fio.out" >&2; fail "fio reported errors"; }
grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out" >&2; fail "fio errors"; }
for i in 1 3; do wait_for 20 host_nodes_are "$i" 2; done
# The writer's lock, the same on every host.
for i in 1 3; do
  host_dog "$i" vdi lock list | grep -q "  disk .* IPv4 ip:10.77.0.1 port:7000$" || fail "the lock on host $i"
done
host_epoch() { host_dog "$1" cluster info -r | sed -n '3p' | awk '{print $2}'; }
assert_eq "$(host_epoch 3)" "$(host_epoch 1)" "epochs on hosts 1 and 3"
"$ZOOKEEPER" start "$T/zk3" --addr 10.77.0.3 --port 2181 --netns sdh-3 --id 3 --servers "$servers" ||
  fail "restart zookeeper 3"
zk_sheep 2
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
assert_eq "$(host_epoch 2)" "$(host_epoch 1)" "epochs after sheep 2 is back"
want=$(host_dog 1 vdi read disk 0 64M | md5sum)
assert_eq "$(host_dog 2 vdi read disk 0 64M | md5sum)" "$want" "data through host 2"

# Host 3 cut off: it stops serving before the others can drop it (by the
# time they list two nodes, it refuses even what it holds itself), then
# they drop it and recover.
ip netns exec sdh-3 "$DOG_BIN" vdi read full 0 4M -a 10.77.0.3 >/dev/null || fail "host 3 serves full"
"$NETNS" partition 3 sdh || fail "partition"
wait_for 20 host_nodes_are 1 2
if ip netns exec sdh-3 "$DOG_BIN" vdi read full 0 4M -a 10.77.0.3 >/dev/null 2>"$T/cut.err"; then
  fail "host 3 still served I/O after the others had dropped it"
fi
serves() { host_dog "$1" vdi read disk 0 4096 >/dev/null 2>&1; }
wait_for 15 sh -c "! ip netns exec sdh-3 '$DOG_BIN' vdi read disk 0 4096 -a 10.77.0.3 >/dev/null 2>&1"
# (I/O is refused as soon as ZooKeeper stops vouching; the log line comes
# when the session loop gives up, once a call in progress times out.)
wait_for 20 grep -q "no longer serving I/O" "$T/h3/sheep.log"
if head -c 4096 /dev/zero | ip netns exec sdh-3 "$DOG_BIN" vdi write disk 0 4096 -a 10.77.0.3 2>/dev/null; then
  fail "the cut-off host acknowledged a write"
fi
for i in 1 2; do wait_for 20 host_nodes_are "$i" 2; done
# Two copies on three hosts: the copies host 3 held are made again.
e=$(host_epoch 1)
wait_for 60 grep -q "epoch $e: recovery done ([1-9]" "$T/h1/sheep.log" "$T/h2/sheep.log"
assert_eq "$(host_dog 2 vdi read disk 0 64M | md5sum)" "$want" "data with host 3 cut off"
"$NETNS" heal 3 sdh || fail "heal"
wait_for 40 serves 3
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
assert_eq "$(host_epoch 3)" "$(host_epoch 1)" "epochs after the heal"

# The whole ensemble stopped, then started again.
for i in 1 2 3; do "$ZOOKEEPER" stop "$T/zk$i" || fail "stop zookeeper $i"; done
for i in 1 2 3; do wait_for 15 sh -c "! ip netns exec sdh-$i '$DOG_BIN' vdi read disk 0 4096 -a 10.77.0.$i >/dev/null 2>&1"; done
for i in 1 2 3; do
  "$ZOOKEEPER" start "$T/zk$i" --addr "10.77.0.$i" --port 2181 --netns "sdh-$i" --id "$i" \
    --servers "$servers" || fail "start zookeeper $i"
done
for i in 1 2 3; do wait_for 60 serves "$i"; done
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
assert_eq "$(host_epoch 2)" "$(host_epoch 1)" "epochs after the ensemble's restart"
assert_eq "$(host_epoch 3)" "$(host_epoch 1)" "epochs after the ensemble's restart (host 3)"
for i in 1 2 3; do assert_eq "$(host_dog "$i" vdi read disk 0 64M | md5sum)" "$want" "data through host $i"; done
# Recovery settles with every object on exactly the hosts the ring names.
wait_for 60 ip netns exec sdh-1 "$CHECK_PLACEMENT" -a 10.77.0.1 -p 7000
pass
