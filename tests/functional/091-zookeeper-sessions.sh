#!/bin/bash
# ZooKeeper sessions, as upstream got them wrong (upstream #404):
# - a sheep frozen (SIGSTOP) longer than its session timeout is dropped by
#   the others; thawed, it sees its session is gone, stops serving the old
#   membership, and joins again as a new member, with no error loop;
# - ZooKeeper itself stopped longer than the timeout: every sheep stops
#   serving I/O; ZooKeeper back, they form the cluster again, the same
#   epochs everywhere, the data intact;
# - with a cluster key, the cluster's znodes carry a digest ACL: a client
#   without the key can neither read them nor add to the queue, even when
#   it made them first with an open ACL.
source "$(dirname "$0")/lib.sh"
start_zookeeper "$T/zk" --port 2181
head -c 32 /dev/urandom | base64 >"$T/key"
export SHEEPDOG_AUTH_KEY=$T/key
export DRIVER=zookeeper:127.0.0.1:2181,timeout=1000
# Someone without the key made the cluster's znodes first, open to all:
# the first sheep puts the key's ACL on them.
"$ZK_TOOL" 127.0.0.1:2181 create /sheepdog >/dev/null || fail "pre-create /sheepdog"
"$ZK_TOOL" 127.0.0.1:2181 create /sheepdog/member >/dev/null || fail "pre-create the member znode"
start_cluster 3 --auth-key "$T/key"
grep -q "/sheepdog/member had an ACL other than the cluster key's" "$T/0/sheep.log" ||
  fail "the open member znode was not taken over"
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 16M || fail "create"
head -c 8M /dev/urandom >"$T/a"
dogn 0 vdi write disk 0 8M <"$T/a" || fail "write"
want=$(md5sum <"$T/a")

# The ACL: nothing for a client without the key.
assert_eq "$("$ZK_TOOL" 127.0.0.1:2181 read /sheepdog/queue)" "not authenticated" "reading the queue without the key"
assert_eq "$("$ZK_TOOL" 127.0.0.1:2181 create /sheepdog/queue/)" "not authenticated" "appending without the key"
assert_eq "$("$ZK_TOOL" 127.0.0.1:2181 count /sheepdog/member)" "not authenticated" "listing the members without the key"
assert_eq "$("$ZK_TOOL" 127.0.0.1:2181 create /sheepdog/member/)" "not authenticated" "adding a fake member without the key"

# Frozen for longer than the session timeout.
pid=$(sheep_pid 2)
kill -STOP "$pid"
wait_for 15 nodes_are 0 2
kill -CONT "$pid"
wait_for 20 grep -q "no longer serving I/O" "$T/2/sheep.log"
serving() { dogn "$1" vdi read disk 0 4096 >/dev/null 2>&1; }
wait_for 30 serving 2
for n in 0 1 2; do wait_for 30 nodes_are "$n" 3; done
assert_eq "$(epoch_of 2)" "$(epoch_of 0)" "epochs after the thaw"
assert_eq "$(dogn 2 vdi read disk 0 8M | md5sum)" "$want" "data through the thawed sheep"
if grep -qi "zhandle" "$T"/*/sheep.log; then fail "a zhandle error in a log"; fi

# ZooKeeper stopped for longer than the timeout, then started again.
"$ZOOKEEPER" stop "$T/zk" || fail "stop zookeeper"
halted() { ! dogn "$1" vdi read disk 0 4096 >/dev/null 2>&1; }
for n in 0 1 2; do wait_for 15 halted "$n"; done
"$ZOOKEEPER" start "$T/zk" --port 2181 || fail "restart zookeeper"
serving() { dogn "$1" vdi read disk 0 4096 >/dev/null 2>&1; }
for n in 0 1 2; do
  wait_for 40 serving "$n"
  wait_for 20 nodes_are "$n" 3
done
assert_eq "$(epoch_of 1)" "$(epoch_of 0)" "epochs after ZooKeeper's restart"
assert_eq "$(epoch_of 2)" "$(epoch_of 0)" "epochs after ZooKeeper's restart (node 2)"
for n in 0 1 2; do assert_eq "$(dogn "$n" vdi read disk 0 8M | md5sum)" "$want" "data through node $n"; done
if grep -qi "zhandle" "$T"/*/sheep.log; then fail "a zhandle error in a log"; fi
pass
