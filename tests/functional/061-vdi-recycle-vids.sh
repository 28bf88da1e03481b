#!/bin/bash
# `dog cluster format -R` (recycled VIDs) as upstream's test 106: ids are
# handed out from 1 upwards; a deleted working VDI keeps its name taken
# while snapshots of it exist ("VDI exists already"); once the whole family
# is deleted, every inode goes and the ids are used again.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 3 -R >/dev/null </dev/null || fail "format -R"
dogn 0 vdi create test 16M || fail "create"
for i in 1 2 3 4 5 6 7 8; do dogn 0 vdi snapshot test >/dev/null || fail "snapshot $i"; done
vids() { dogn 0 vdi list -r | awk '{print $1 " " $3 " " $8}'; }
assert_eq "$(vids)" "s 1 1
s 2 2
s 3 3
s 4 4
s 5 5
s 6 6
s 7 7
s 8 8
= 0 9" "ids from 1 upwards"
inodes() { local n c=""; for n in 0 1 2; do c+="$(ls "$T/$n/obj" | grep -c '^80' || true) "; done; echo "$c"; }
assert_eq "$(inodes)" "9 9 9 " "inodes on each node"
dogn 0 vdi delete test || fail "delete"
assert_eq "$(vids | tail -n 1)" "s 8 8" "the working VDI is gone from the list"
assert_eq "$(inodes)" "9 9 9 " "its inode stays while snapshots exist"
out=$(dogn 0 vdi create test 16M 2>&1) && fail "the name was taken again"
assert_eq "$out" "Failed to create VDI test: VDI exists already" "create while snapshots exist"
for i in 1 2 3 4 5 6 7 8; do dogn 0 vdi delete test -s "$i" || fail "delete snapshot $i"; done
assert_eq "$(dogn 0 vdi list -r)" "" "no VDI left"
assert_eq "$(inodes)" "0 0 0 " "every inode removed"
dogn 0 vdi create again 16M || fail "create after the family went"
assert_eq "$(vids)" "= 0 1" "id 1 is used again"
pass
