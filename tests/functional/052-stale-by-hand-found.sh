#!/bin/bash
# Copies 1 on two nodes, a third joins, a preallocated VDI, then `dog cluster
# shutdown`; the only copies of data objects 1 (node 0) and 0 (node 1) and of
# the inode are moved by hand into obj/.stale/ as OID.1. After all three
# start again, recovery finds them there: every node lists the VDI with its
# space, and `dog vdi check` is clean (upstream's test 072).
source "$(dirname "$0")/lib.sh"

start_cluster 2
dogn 0 cluster format -c 1 >/dev/null || fail "format"
start_sheep 2
for i in 0 1 2; do wait_nodes "$i" 3; done
dogn 0 vdi create -P test 8M || fail "create -P"
list=$(dogn 0 vdi list | filter_dates)
dogn 0 cluster shutdown || fail "shutdown"
for i in 0 1 2; do wait_for 20 sheep_gone "$i"; done
# Data objects 1 and 0 (on nodes 0 and 1 under the vnode ring) and the
# inode, wherever it is: each is the only copy of itself.
moved=()
for n in 0 1 2; do
  for oid in 007c2b2500000001 007c2b2500000000 807c2b2500000000; do
    if [ -f "$T/$n/obj/$oid" ]; then
      mv "$T/$n/obj/$oid" "$T/$n/obj/.stale/$oid.1"
      moved+=("$n/obj/$oid")
    fi
  done
done
[ ${#moved[@]} -eq 3 ] || fail "expected 3 objects to move, moved: ${moved[*]}"
[[ " ${moved[*]} " == *" 0/obj/007c2b2500000001 "* && " ${moved[*]} " == *" 1/obj/007c2b2500000000 "* ]] ||
  fail "data objects are not where the ring puts them: ${moved[*]}"
for i in 0 1 2; do start_sheep "$i"; done
for i in 0 1 2; do wait_nodes "$i" 3; done
wait_for 30 no_recovery 0
for i in 0 1 2; do
  assert_eq "$(dogn "$i" vdi list | filter_dates)" "$list" "vdi list on node $i"
done
out=$(dogn 0 vdi check test 2>&1) || fail "vdi check: $out"
assert_eq "$out" "finish check&repair test" "vdi check output"
for f in "${moved[@]}"; do [ -f "$T/$f" ] || fail "$f is not back in place"; done
wait_recovered 0
pass
