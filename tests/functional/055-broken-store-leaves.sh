#!/bin/bash
# A node whose object store fails (here its obj directory is removed, as
# upstream's test 043 does) leaves the cluster at its first write, which is
# a new epoch, instead of serving errors; writes and reads go on through the
# others, and a later kill is the epoch after. The last write, through a
# node whose store is gone too, still succeeds elsewhere.
source "$(dirname "$0")/lib.sh"

start_cluster 6
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create test 40M || fail "create"
obj=$((4 << 20))
write_all() {  # TAG
  local i
  for ((i = 0; i <= 10; i++)); do
    echo "$1$i" | dogn 0 vdi write test $((i * obj)) 512 || fail "write $1$i"
  done
}
image() {  # TAG: what the VDI must hold
  python3 -c "
import sys
b = bytearray(40 << 20)
for i in range(10):
    s = ('$1%d\n' % i).encode()
    b[i * (4 << 20): i * (4 << 20) + len(s)] = s
sys.stdout.buffer.write(b)" | md5sum | cut -d' ' -f1
}
check_reads() {  # TAG NODES...
  local want n
  want=$(image "$1")
  shift
  for n in "$@"; do
    assert_eq "$(dogn "$n" vdi read test | md5sum | cut -d' ' -f1)" "$want" "read through node $n"
  done
}
write_all a
check_reads a 0 1 2 3 4 5

mv "$T/4/obj" "$T/4/obj.gone" && rm -rf "$T/4/obj.gone"
write_all b
wait_for 20 sheep_gone 4
grep -q "leaving sheepdog cluster" "$T/4/sheep.log" || fail "node 4 does not say it leaves"
check_reads b 0 1 2 3 5
assert_eq "$(dogn 0 cluster info | filter_dates | sed -n '5,6p')" "Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      2 [127.0.0.1:7000:128, 127.0.0.1:7001:128, 127.0.0.1:7002:128, 127.0.0.1:7003:128, 127.0.0.1:7005:128]" "epoch without node 4"

kill9_sheep 3
for i in 0 1 2 5; do wait_nodes "$i" 4; done
write_all c
check_reads c 0 1 2 5
assert_eq "$(epoch_of 5)" "3" "epoch after the kill"
dogn 0 vdi create test2 20M || fail "create test2"

mv "$T/0/obj" "$T/0/obj.gone" && rm -rf "$T/0/obj.gone"
echo hello | dogn 1 vdi write test 0 512 || fail "write after node 0's store failed too"
pass
