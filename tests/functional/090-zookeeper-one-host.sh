#!/bin/bash
# The zookeeper driver with a real ZooKeeper server: three sheep form a
# cluster, place and serve a VDI (nbdkit writes, another gateway reads), see
# a kill -9 within the session timeout and recover; a sheep started again at
# once while its old session still exists is listed once, never twice
# (upstream #104); the whole cluster stopped and started with ZooKeeper up
# comes back with its VDIs (upstream #347, #212); the queue of cluster
# messages is cleaned up and stays short.
source "$(dirname "$0")/lib.sh"
start_zookeeper "$T/zk" --port 2181
export DRIVER=zookeeper:127.0.0.1:2181
"$SHEEP" -v | grep -q "Cluster drivers: local corosync zookeeper" || fail "sheep -v: $("$SHEEP" -v)"
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 1 vdi create disk 64M || fail "create"
start_nbdkit "$T/w.sock" vdi=disk port=7002
head -c 16M /dev/urandom >"$T/a"
nbdcopy "$T/a" "nbd+unix:///?socket=$T/w.sock" || fail "write through the plugin"
want=$(md5sum <"$T/a")
assert_eq "$(dogn 0 vdi read disk 0 16M | md5sum)" "$want" "read through another gateway"
wait_recovered 0

# kill -9: the others see it within the session timeout (3 s), a new epoch.
t0=$SECONDS
kill9_sheep 1
wait_for 15 nodes_are 0 2
echo "kill -9 seen after $((SECONDS - t0)) s"
[ $((SECONDS - t0)) -le 8 ] || fail "a kill -9 took $((SECONDS - t0)) s to be seen"
assert_eq "$(epoch_of 0)" "$(epoch_of 2)" "epochs of the survivors"
assert_eq "$(dogn 2 vdi read disk 0 16M | md5sum)" "$want" "data with a sheep down"

# Back at once, while its old session may still exist: listed once.
start_sheep 1
kill9_sheep 1
start_sheep 1
members_settled() { [ "$("$ZK_TOOL" 127.0.0.1:2181 count /sheepdog/member)" -eq 3 ]; }
wait_for 20 members_settled  # the killed sessions have expired
for n in 0 1 2; do
  wait_nodes "$n" 3
  assert_eq "$(dogn "$n" node list -r | awk '{print $2}' | sort | uniq -d)" "" "duplicates on node $n"
done
assert_eq "$(epoch_of 0)" "$(epoch_of 1)" "epochs after the quick restart"
wait_recovered 0

# The whole cluster stopped and started, ZooKeeper up all along.
dogn 0 cluster shutdown || fail "shutdown"
for n in 0 1 2; do wait_for 20 sheep_gone "$n"; done
for n in 2 0 1; do start_sheep "$n"; done
running() { dogn "$1" cluster info | grep -q "Cluster status: running"; }
for n in 0 1 2; do wait_for 30 running "$n"; done
assert_eq "$(dogn 1 vdi read disk 0 16M | md5sum)" "$want" "data after the full restart"

# Ordered messages by the hundred: the queue is cleaned up behind them.
"$BUILD/tests/tools/driver-bench" -p 7000 -n 300 -j 4 >/dev/null || fail "driver-bench"
queue_short() { [ "$("$ZK_TOOL" 127.0.0.1:2181 count /sheepdog/queue)" -lt 50 ]; }
wait_for 20 queue_short
pass
