#!/bin/bash
# Full disks as upstream's test 042: two of four nodes sit on small file
# systems (their few vnodes follow their size) that fill up. With 3 copies
# on 4 nodes every object has a copy on one of them, so every write that
# creates an object fails with "Server has no space for new objects",
# creating a VDI fails with "Failed to write to requested VDI", the copies
# written elsewhere stay, and no node leaves.
source "$(dirname "$0")/lib.sh"

for n in 0 1 2 3; do
  mkdir -p "$T/$n"
  size=1g
  [ "$n" -ge 2 ] && size=30m
  mount -t tmpfs -o size=$size tmpfs "$T/$n" || fail "tmpfs for node $n"
  on_exit "umount -l $T/$n"
done
start_cluster 4
dogn 0 cluster format >/dev/null </dev/null || fail "format"
dogn 0 vdi create test0 100M || fail "create test0"
for n in 2 3; do dd if=/dev/zero of="$T/$n/zero" bs=1M status=none 2>/dev/null || true; done
nodes_before=$(dogn 0 node list)
vid=$(dogn 0 vdi list -r test0 | awk '{print $8}')
for i in 0 1 2 3 4 5 6 7 8 9 10; do
  out=$(echo "$i" | dogn 0 vdi write test0 $((i * (4 << 20))) 512 2>&1) && fail "write $i worked on full disks"
  assert_eq "$out" "Failed to write object $(printf '%016x' $((0x$vid << 32 | i))): Server has no space for new objects
Failed to write VDI" "write $i on full disks"
done
out=$(dogn 0 vdi create test2 100M 2>&1) && fail "a VDI was created on full disks"
assert_eq "$out" "Failed to create VDI test2: Failed to write to requested VDI" "vdi create on full disks"
assert_eq "$(dogn 0 node list)" "$nodes_before" "no node left"
assert_eq "$(ls "$T/0/obj" | grep -c "^00$vid")" "11" "the copies written to node 0 stay"
pass
