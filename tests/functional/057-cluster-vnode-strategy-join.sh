#!/bin/bash
# Fixed and auto vnodes as upstream: before a format, sheep of both kinds
# form one cluster; a sheep of the other kind joining a formatted cluster is
# admitted (an epoch listing it with its vnodes) and leaves again (the next
# epoch); a sheep restarted with -V on a store formatted with auto vnodes
# exits with a message instead of waiting.
source "$(dirname "$0")/lib.sh"

# Before a format: both kinds together.
start_sheep 0
start_sheep 1 -V 100
for i in 0 1; do wait_nodes "$i" 2; done
out=$(dogn 0 cluster format -c 1 2>&1 </dev/null) && fail "a mixed cluster was formatted: $out"
stop_sheep 1

# An auto cluster; a -V node joins and leaves.
start_sheep 2
for i in 0 2; do wait_nodes "$i" 2; done
dogn 0 cluster format -c 1 >/dev/null </dev/null || fail "format auto"
"$SHEEP" "$T/3" -p 7003 -z 3 -c "local:$T/cluster" -V 50 || fail "sheep 3 did not start"
wait_for 20 sheep_gone 3
grep -q "failed to join Sheepdog" "$T/3/sheep.log" || fail "node 3 does not say why it left"
wait_for 10 sh -c "$DOG_BIN cluster info -p 7000 | grep -q '^[-0-9: ]* 3 '"
assert_eq "$(dogn 0 cluster info | filter_dates | sed -n '5,$p')" "Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      3 [127.0.0.1:7000:128, 127.0.0.1:7002:128]
DATE      2 [127.0.0.1:7000:128, 127.0.0.1:7002:128, 127.0.0.1:7003:128]
DATE      1 [127.0.0.1:7000:128, 127.0.0.1:7002:128]" "auto cluster history"

# Restarted with -V on that auto store: it exits at once, with a message.
stop_sheep 2
"$SHEEP" "$T/2" -p 7002 -z 2 -c "local:$T/cluster" -V 128 || true
wait_for 20 sheep_gone 2
grep -q "Designation of before a restart and a vnodes option is different" "$T/2/sheep.log" ||
  fail "no message for the -V restart"
for i in 0 2; do pkill -9 -f "^$SHEEP $T/$i " || true; done
for i in 0 2; do wait_for 20 sheep_gone "$i"; done
rm -rf "$T"/0 "$T"/1 "$T"/2 "$T"/3 "$T/cluster"

# A fixed cluster; an auto node joins (with the default 128) and leaves.
start_sheep 0 -V 100
start_sheep 1 -V 200
for i in 0 1; do wait_nodes "$i" 2; done
dogn 0 cluster format -V -c 1 >/dev/null </dev/null || fail "format fixed"
"$SHEEP" "$T/2" -p 7002 -z 2 -c "local:$T/cluster" || fail "sheep 2 did not start"
wait_for 20 sheep_gone 2
wait_for 10 sh -c "$DOG_BIN cluster info -p 7000 | grep -q '^[-0-9: ]* 3 '"
assert_eq "$(dogn 0 cluster info | filter_dates | sed -n '5,$p')" "Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      3 [127.0.0.1:7000:100, 127.0.0.1:7001:200]
DATE      2 [127.0.0.1:7000:100, 127.0.0.1:7001:200, 127.0.0.1:7002:128]
DATE      1 [127.0.0.1:7000:100, 127.0.0.1:7001:200]" "fixed cluster history"
pass
