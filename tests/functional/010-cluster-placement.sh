#!/bin/bash
# Five sheep in five zones, formatted with 3 copies: every object lands on
# exactly the nodes the vnode ring names (distinct zones); a VDI created
# with -c 2 keeps two copies; any node serves as gateway and reads back the
# same bytes; dog vdi object location agrees with where copies are.
source "$(dirname "$0")/lib.sh"

start_cluster 5
dogn 0 cluster format -c 3 >/dev/null || fail "format"
out=$(dogn 2 node list)
assert_eq "$out" "  Id   Host:Port         V-Nodes       Zone
   0   127.0.0.1:7000      	128          0
   1   127.0.0.1:7001      	128          1
   2   127.0.0.1:7002      	128          2
   3   127.0.0.1:7003      	128          3
   4   127.0.0.1:7004      	128          4" "node list on node 2"

dogn 1 vdi create big 64M || fail "create big"
dogn 3 vdi create -c 2 small 32M || fail "create small"
head -c 40M /dev/urandom >"$T/big"
head -c 20M /dev/urandom >"$T/small"
dogn 4 vdi write big 0 40M <"$T/big" || fail "write big"
dogn 2 vdi write small 0 20M <"$T/small" || fail "write small"

out=$("$CHECK_PLACEMENT" -p 7000) || fail "placement: $out"
echo "$out" | grep -q "^17 objects checked, 0 misplaced$" || fail "unexpected object count: $out"

# Copies per object: 3 for big, 2 for small, counted on disk.
big_vid=$(dogn 0 vdi list -r big | awk '{print $8}')
small_vid=$(dogn 0 vdi list -r small | awk '{print $8}')
n=$(ls "$T"/[0-4]/obj | grep -c "^00$(printf %06x 0x$big_vid)0000000[0-9]$") || true
assert_eq "$n" "30" "copies of big's 10 data objects"
n=$(ls "$T"/[0-4]/obj | grep -c "^00$(printf %06x 0x$small_vid)0000000[0-4]$") || true
assert_eq "$n" "10" "copies of small's 5 data objects"

want=$(md5sum <"$T/big" | cut -d' ' -f1)
for i in 0 1 2 3 4; do
  got=$(dogn "$i" vdi read big 0 40M | md5sum | cut -d' ' -f1)
  assert_eq "$got" "$want" "big read through node $i"
done
pass
