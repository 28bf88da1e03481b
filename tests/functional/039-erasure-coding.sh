#!/bin/bash
# Erasure coding, 4:2 on six sheep: format and vdi create take -c 4:2 and
# list it; 64 MiB written through the plugin reads back identical; each
# data object is six strips (<oid>_0.._5), one per owner in distinct
# zones, 1.5x the data in all; a 512-byte write at an odd offset changes
# those bytes only; a corrupted strip is found and rebuilt by dog vdi
# check; with two sheep killed (-9) every byte still reads back, the lost
# strips are rebuilt on the four left (one strip per position), and again
# on the new ring after two sheep join.
source "$(dirname "$0")/lib.sh"

start_cluster 6
dogn 0 cluster format -c 4:2 >/dev/null || fail "format -c 4:2"
assert_eq "$(dogn 0 cluster info -v | sed -n 2p)" "Cluster store: plain with 4:2 redundancy policy" "cluster info -v"
dogn 0 vdi create e 64M || fail "create"
assert_eq "$(dogn 1 vdi list -r e | awk '{print $9}')" "4:2" "Copies column"
vid=$(dogn 0 vdi list -r e | awk '{print $8}')
prefix=00$(printf %06x "0x$vid")

head -c 64M /dev/urandom >"$T/data"
# Through node 0's unix socket, as on a storage node: local reads are on,
# and must leave coded objects to the sheep (a node holds strips).
start_nbdkit "$T/nbd.sock" vdi=e socket="$T/0/sock"
nbdcopy "$T/data" "nbd+unix:///?socket=$T/nbd.sock" || fail "nbdcopy in"
nbdcopy "nbd+unix:///?socket=$T/nbd.sock" "$T/back" || fail "nbdcopy out"
cmp -s "$T/data" "$T/back" || fail "64 MiB through the plugin differ"
assert_eq "$(dogn 3 vdi read e | md5sum)" "$(md5sum <"$T/data")" "dog vdi read"

# Strips: 16 objects x 6 strips of 1 MiB, named by position, placed right.
# strips [NODES]: strip files of e on those sheep (a glob, all by default).
strips() { ls "$T"/${1:-[0-9]}/obj | grep -c "^${prefix}000000[0-9a-f][0-9a-f]_[0-5]$" || true; }
assert_eq "$(strips)" "96" "six strips of each of the 16 objects"
assert_eq "$(ls "$T"/[0-9]/obj | grep -c "^${prefix}000000[0-9a-f][0-9a-f]$" || true)" "0" "no whole data object anywhere"
bytes=$(cat "$T"/[0-9]/obj/"$prefix"000000??_? | wc -c)
assert_eq "$bytes" "$((96 << 20))" "1.5x the data"
placement_ok || { "$CHECK_PLACEMENT" -p 7000 >&2; fail "strips not on their positions"; }

# A sub-stripe write at an odd offset touches only its bytes (through dog:
# NBD clients send whole sectors).
dogn 0 vdi create s 8M || fail "create s"
head -c 8M /dev/urandom >"$T/small"
dogn 1 vdi write s 0 8M <"$T/small" || fail "write s"
head -c 512 /dev/urandom >"$T/patch"
dogn 4 vdi write s 4194815 512 <"$T/patch" || fail "sub-stripe write"
dd if="$T/patch" of="$T/small" bs=1 seek=4194815 conv=notrunc status=none
assert_eq "$(dogn 5 vdi read s | md5sum)" "$(md5sum <"$T/small")" "after the sub-stripe write"
head -c 3 /dev/urandom >"$T/patch3"
dogn 2 vdi write s 1001 3 <"$T/patch3" || fail "3-byte write"
dd if="$T/patch3" of="$T/small" bs=1 seek=1001 conv=notrunc status=none
assert_eq "$(dogn 0 vdi read s | md5sum)" "$(md5sum <"$T/small")" "after the 3-byte write"
dogn 0 vdi delete s || fail "delete s"

# A corrupted strip: dog vdi check finds it and its owner rebuilds it.
victim=$(ls "$T"/2/obj | grep "^${prefix}00000003_" | head -n 1)
[ -n "$victim" ] || fail "no strip of object 3 on sheep 2"
index=${victim##*_}
printf 'garbage!' | dd of="$T/2/obj/$victim" bs=1 seek=1000 conv=notrunc status=none
dogn 0 vdi check e >"$T/check.out" 2>"$T/check.err" || fail "vdi check"
assert_eq "$(cat "$T/check.err")" "object ${prefix}00000003 is inconsistent" "check stderr"
assert_eq "$(cat "$T/check.out")" "fixed replica ${prefix}00000003, copy index $index
finish check&repair e" "check stdout"
dogn 0 vdi check e >"$T/check2.out" 2>"$T/check2.err" || fail "second vdi check"
assert_eq "$(cat "$T/check2.err")$(cat "$T/check2.out")" "finish check&repair e" "nothing left to repair"
assert_eq "$(dogn 0 vdi read e | md5sum)" "$(md5sum <"$T/data")" "after the repair"

# Two sheep killed: everything still reads back, through the plugin too.
kill9_sheep 1
kill9_sheep 4
for i in 0 2 3 5; do wait_nodes "$i" 4; done
nbdcopy "nbd+unix:///?socket=$T/nbd.sock" "$T/back2" || fail "nbdcopy with two sheep gone"
cmp -s "$T/data" "$T/back2" || fail "reads with two sheep gone differ"
wait_recovered 0
assert_eq "$(strips "[0235]")" "$((16 * 4))" "four strips of each object on the four left"
assert_eq "$(dogn 2 vdi read e | md5sum)" "$(md5sum <"$T/data")" "after the rebuild on four"
# The check refuses with fewer zones than strips, as upstream's dog does.
rc=0
dogn 0 vdi check e >/dev/null 2>"$T/abort.err" || rc=$?
assert_eq "$rc:$(cat "$T/abort.err")" "1:ABORT: Not enough active zones for consistency-checking erasure coded VDI" "check with 4 zones"

# Two sheep join: strips move to the new ring.
start_sheep 6
start_sheep 7
for i in 0 2 3 5 6 7; do wait_nodes "$i" 6; done
wait_recovered 0
assert_eq "$(dogn 6 vdi read e | md5sum)" "$(md5sum <"$T/data")" "after two sheep joined"
dogn 0 vdi check e >"$T/check3.out" 2>&1 || fail "check after joins"
assert_eq "$(cat "$T/check3.out")" "finish check&repair e" "all strips consistent on the new ring"
pass
