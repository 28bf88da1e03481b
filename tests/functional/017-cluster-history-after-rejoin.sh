#!/bin/bash
# Nodes that were down during some epochs show those epochs in `dog cluster
# info` with their real members (fetched from the others), never as "[]":
# upstream's sequences 001 (master killed, mastership moves on, everyone
# restarted) and 004 (nodes replaced one by one, then all restarted).
source "$(dirname "$0")/lib.sh"

history_is() {  # NODE EXPECTED
  [ "$(dogn "$1" cluster info | filter_dates | sed -n '5,$p')" = "$2" ]
}
check_history() {  # COUNT EXPECTED
  local i
  for ((i = 0; i < $1; i++)); do
    wait_for 20 sh -c "$DOG_BIN cluster info -p $((7000 + i)) | head -n 1 | grep -q running"
    if ! history_is "$i" "$2"; then
      assert_eq "$(dogn "$i" cluster info | filter_dates | sed -n '5,$p')" "$2" "history on node $i"
    fi
  done
}

# 001
start_cluster 2
dogn 0 cluster format >/dev/null </dev/null || fail "format"
kill9_sheep 0
wait_nodes 1 1
start_sheep 2
wait_nodes 1 2
kill9_sheep 1
wait_nodes 2 1
kill9_sheep 2
for i in 0 1 2; do start_sheep "$i"; done
for i in 0 1 2; do wait_nodes "$i" 3; done
check_history 3 "Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      5 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7002:128]
DATE      4 [127.0.0.1:7002:128]
DATE      3 [127.0.0.1:7001:128, 127.0.0.1:7002:128]
DATE      2 [127.0.0.1:7001:128]
DATE      1 [127.0.0.1:7000:128, 127.0.0.1:7001:128]"
for i in 0 1 2; do kill9_sheep "$i"; done
rm -rf "$T"/0 "$T"/1 "$T"/2 "$T/cluster"

# 004
start_cluster 2
dogn 0 cluster format -c 2 >/dev/null </dev/null || fail "format"
for i in 2 3 4; do
  kill9_sheep $((i - 2))
  wait_nodes $((i - 1)) 1
  start_sheep "$i"
  wait_nodes "$i" 2
done
kill9_sheep 3
wait_nodes 4 1
kill9_sheep 4
for i in 0 1 2 3 4; do start_sheep "$i"; done
for i in 0 1 2 3 4; do wait_nodes "$i" 5; done
check_history 5 "Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      9 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7002:128, 127.0.0.1:7003:128, 127.0.0.1:7004:128]
DATE      8 [127.0.0.1:7004:128]
DATE      7 [127.0.0.1:7003:128, 127.0.0.1:7004:128]
DATE      6 [127.0.0.1:7003:128]
DATE      5 [127.0.0.1:7002:128, 127.0.0.1:7003:128]
DATE      4 [127.0.0.1:7002:128]
DATE      3 [127.0.0.1:7001:128, 127.0.0.1:7002:128]
DATE      2 [127.0.0.1:7001:128]
DATE      1 [127.0.0.1:7000:128, 127.0.0.1:7001:128]"
pass
