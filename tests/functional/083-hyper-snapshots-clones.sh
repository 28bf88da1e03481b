#!/bin/bash
# Snapshots, clones, rollback and delete of hyper volumes (upstream's dog
# refuses to snapshot them; we do not); a forged oversized snapshot
# request leaves the volume as it was. The volume's B-tree is made depth
# 2 the way upstream lays it out (two leaf objects under an indirect
# root, written with raw requests: reaching a split for real needs
# 524,288 objects); the snapshot gets its own copy of each leaf from the
# sheep, writes to either side of a snapshot or clone never show on the
# other, the leaves and the data stay readable after a kill -9 and
# recovery, an incremental backup restores, dog vdi check puts back a
# lost leaf, and deleting every VDI frees every data object and leaf.
source "$(dirname "$0")/lib.sh"
raw() { /usr/bin/python3 "$(dirname "$0")/helpers/rawclient.py" "$@"; }

start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create -y hv 8T || fail "create -y"
vid=$(dogn 0 vdi list -r hv | awk '{print $8}')
far=$((6 << 40))  # block 1572864
head -c 8M /dev/urandom >"$T/a"
head -c 8M /dev/urandom >"$T/b"
dogn 0 vdi write hv 0 8M <"$T/a" || fail "write at 0"
dogn 1 vdi write hv $far 8M <"$T/b" || fail "write at 6 TiB"
assert_eq "$(dogn 0 vdi list -r hv | awk '{print $5}')" "16777216" "used: 4 objects"
# A forged snapshot request with a size no volume can have changes
# nothing: the working VDI is not frozen into a snapshot first.
raw 7000 req op=0x11 flags=0x01 oid=0x7fffffffffffffff snapid=1 payload=name:hv:256 >"$T/forged"
grep -q "result=0x00" "$T/forged" && fail "an oversized snapshot was accepted"
assert_eq "$(dogn 0 vdi list -r hv | awk '{print $1, $8}')" "= $vid" "still one working VDI, same vid"

# Depth 2: leaf 0 holds blocks 0 and 1, leaf 1 blocks 1572864 and 1572865.
v=$((0x$vid))
hexes=$(python3 - "$v" <<'PY'
import struct, sys
v = int(sys.argv[1])
def leaf(entries):
    return struct.pack("<HHI", 0x6274, 1, len(entries)) + b"".join(struct.pack("<II", i, o) for i, o in entries)
oid = lambda n: (1 << 60) | (v << 32) | n
root = struct.pack("<HHI", 0x6274, 2, 2) + struct.pack("<IIQ", 1, 0, oid(0)) + struct.pack("<IIQ", 1572865, 0, oid(1))
print(leaf([(0, v), (1, v)]).hex(), leaf([(1572864, v), (1572865, v)]).hex(), root.hex(), "%x" % oid(0), "%x" % oid(1))
PY
)
read -r leaf0 leaf1 root oid0 oid1 <<<"$hexes"
inode=$(printf '0x80%06x00000000' "$v")
raw 7000 req op=0x01 flags=0x01 oid=0x$oid0 copies=2 payload=hex:$leaf0 | grep -q "result=0x00" || fail "leaf 0"
raw 7000 req op=0x01 flags=0x01 oid=0x$oid1 copies=2 payload=hex:$leaf1 | grep -q "result=0x00" || fail "leaf 1"
raw 7000 req op=0x03 flags=0x01 oid=$inode copies=2 offset=568 payload=hex:02000000 | grep -q "result=0x00" || fail "btree_counter"
raw 7000 req op=0x03 flags=0x01 oid=$inode copies=2 offset=4664 payload=hex:$root | grep -q "result=0x00" || fail "root"
assert_eq "$(dogn 2 vdi read hv 0 8M | md5sum)" "$(md5sum <"$T/a")" "depth 2: blocks of leaf 0"
assert_eq "$(dogn 2 vdi read hv $far 8M | md5sum)" "$(md5sum <"$T/b")" "depth 2: blocks of leaf 1"
# An insert into leaf 1 through the plugin's library (dog vdi write).
echo -n more | dogn 0 vdi write hv $((far + (3 << 22))) 4 || fail "insert at depth 2"
assert_eq "$(dogn 1 vdi read hv $((far + (3 << 22))) 4)" "more" "read the insert"

dogn 0 vdi snapshot -s s1 hv || fail "snapshot of a hyper volume"
nvid=$(dogn 0 vdi list -r hv | awk '$1 == "=" {print $8}')
[ "$nvid" != "$vid" ] || fail "the working VDI got a new vid"
leaves_of() { ls "$T"/[0-2]/obj | grep -c "^10$(printf %06x "0x$1")" || true; }
assert_eq "$(leaves_of "$nvid")" "4" "the snapshot's leaves duplicated for the new vid (2 copies)"
head -c 4M /dev/urandom >"$T/c"
dogn 1 vdi write hv $far 4M <"$T/c" || fail "write after the snapshot"
assert_eq "$(dogn 2 vdi read hv $far 4M | md5sum)" "$(md5sum <"$T/c")" "working VDI: new data"
assert_eq "$(dogn 2 vdi read -s s1 hv $far 8M | md5sum)" "$(md5sum <"$T/b")" "snapshot unchanged"
assert_eq "$(dogn 0 vdi read hv $((far + (4 << 20))) 4M | md5sum)" "$(tail -c 4M "$T/b" | md5sum)" "unwritten block still the snapshot's"

dogn 0 vdi clone -s s1 hv cl || fail "clone"
echo -n clone | dogn 2 vdi write cl 0 5 || fail "write the clone"
assert_eq "$(dogn 0 vdi read cl 0 5)" "clone" "clone: its write"
assert_eq "$(dogn 0 vdi read hv 0 5 | od -An -tx1)" "$(head -c 5 "$T/a" | od -An -tx1)" "the working VDI does not see it"
assert_eq "$(dogn 0 vdi read cl $far 8M | md5sum)" "$(md5sum <"$T/b")" "clone: the snapshot's data"
dogn 0 vdi clone -n -s s1 hv full || fail "clone -n"
assert_eq "$(dogn 1 vdi read full $far 8M | md5sum)" "$(md5sum <"$T/b")" "no-share clone: data"
assert_eq "$(dogn 1 vdi list -r full | awk '{print $5}')" "20971520" "no-share clone: 5 objects of its own"
dogn 0 vdi tree | grep -q "hv" || fail "vdi tree"

# kill -9 of a sheep holding leaves; recovery brings them back.
kill9_sheep 2
for i in 0 1; do wait_nodes "$i" 2; done
start_sheep 3
for i in 0 1 3; do wait_nodes "$i" 3; done
wait_recovered 0
assert_eq "$(dogn 3 vdi read cl $far 8M | md5sum)" "$(md5sum <"$T/b")" "after recovery: clone"
assert_eq "$(dogn 3 vdi read hv $far 4M | md5sum)" "$(md5sum <"$T/c")" "after recovery: working VDI"

# An incremental backup between two snapshots, restored onto a clone.
dogn 0 vdi snapshot -s s2 hv || fail "second snapshot"
dogn 0 vdi backup -F s1 -s s2 hv >"$T/diff" || fail "backup"
dogn 0 vdi clone -s s1 hv copy || fail "clone for restore"
dogn 0 vdi snapshot -s base copy || fail "snapshot the copy"
dogn 0 vdi restore -s base copy <"$T/diff" || fail "restore"
assert_eq "$(dogn 1 vdi read -s 2 copy $far 8M | md5sum)" "$(dogn 3 vdi read -s s2 hv $far 8M | md5sum)" "restored data"
nvid=$(dogn 0 vdi list -r hv | awk '$1 == "=" {print $8}')

# dog vdi check walks the tree: a lost copy of a leaf is put back.
leaf=$(printf '10%06x00000001' "0x$nvid")
holder=$(for i in 0 1 3; do if [ -f "$T/$i/obj/$leaf" ]; then echo "$i"; break; fi; done)
[ -n "$holder" ] || fail "no holder of leaf $leaf"
rm "$T/$holder/obj/$leaf"
assert_eq "$(dogn 0 vdi check hv | grep -c "fixed missing $leaf")" "1" "vdi check repairs a leaf"
assert_eq "$(ls "$T"/[0-1,3]/obj | grep -c "^$leaf$")" "2" "the leaf has its 2 copies again"

dogn 0 vdi rollback -f -s s1 hv || fail "rollback"
assert_eq "$(dogn 1 vdi read hv $far 8M | md5sum)" "$(md5sum <"$T/b")" "rollback"

# Deleting everything frees every data object and leaf.
for v in cl full copy; do dogn 0 vdi delete "$v" || fail "delete $v"; done
dogn 0 vdi delete hv || fail "delete hv"
dogn 0 vdi list -r | awk '$1 == "s" {print $2, $3}' >"$T/snaps"
while read -r n s; do dogn 0 vdi delete -s "$s" "$n" || fail "delete snapshot $s of $n"; done <"$T/snaps"
assert_eq "$(dogn 0 vdi list -r | wc -l)" "0" "no VDI left"
assert_eq "$(ls "$T"/[0-1,3]/obj | grep -c '^[01]0' || true)" "0" "no data object or leaf left"
pass
