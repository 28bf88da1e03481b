#!/bin/bash
# Every membership change makes exactly one new epoch, and every node
# prints the same epoch history: format (1), a join (2), a kill -9 (3),
# a clean stop (4), a rejoin (5).
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
assert_eq "$(epoch_of 0)" "1" "epoch after format"

start_sheep 3
for i in 0 1 2 3; do wait_nodes "$i" 4; done
wait_for 10 epoch_is 3 2
assert_eq "$(epoch_of 0)" "2" "epoch after a join"

kill9_sheep 1
for i in 0 2 3; do wait_nodes "$i" 3; done
assert_eq "$(epoch_of 2)" "3" "epoch after kill -9"

stop_sheep 2
for i in 0 3; do wait_nodes "$i" 2; done
assert_eq "$(epoch_of 0)" "4" "epoch after a clean stop"

start_sheep 1
for i in 0 1 3; do wait_nodes "$i" 3; done
assert_eq "$(epoch_of 1)" "5" "epoch after a rejoin"

# Each node stamps an epoch with its own clock when it applies the change,
# so the times may differ by a second across nodes: compare without them.
ref=$(dogn 0 cluster info)
for i in 1 3; do
  assert_eq "$(dogn "$i" cluster info | filter_dates)" "$(echo "$ref" | filter_dates)" \
    "cluster info on node $i"
done
out=$(echo "$ref" | filter_dates | tail -n 5)
assert_eq "$out" "DATE      5 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7003:128]
DATE      4 [127.0.0.1:7000:128, 127.0.0.1:7003:128]
DATE      3 [127.0.0.1:7000:128, 127.0.0.1:7002:128, 127.0.0.1:7003:128]
DATE      2 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7002:128, 127.0.0.1:7003:128]
DATE      1 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7002:128]" "epoch history"
# Every object ends on exactly its owners.
wait_recovered 0
pass
