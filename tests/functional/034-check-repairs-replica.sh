#!/bin/bash
# A corrupted replica and a missing replica are found and repaired by
# `dog vdi check`; `dog cluster check` then finds nothing to fix.
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 16M || fail "create"
head -c 8M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 8M <"$T/d" || fail "write"
vid=$(dogn 0 vdi list -r disk | awk '{print $8}')
oid=$(printf '00%06x00000001' "0x$vid")
# Corrupt node 1's copy of block 1, remove node 2's copy of block 0.
printf 'garbage' | dd of="$T/1/obj/$oid" bs=1 seek=1000 conv=notrunc status=none
rm "$T/2/obj/$(printf '00%06x00000000' "0x$vid")"
out=$(dogn 0 vdi check disk)
assert_eq "$out" "fixed missing $(printf '00%06x00000000' "0x$vid")
fixed replica $oid
finish check&repair disk" "vdi check output"
for i in 1 2; do cmp -s "$T/0/obj/$oid" "$T/$i/obj/$oid" || fail "copy on node $i still differs"; done
assert_eq "$(dogn 0 cluster check)" "fix vdi disk
finish check&repair disk" "cluster check after the repair"
assert_eq "$(dogn 2 vdi read disk 0 8M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data"
pass
