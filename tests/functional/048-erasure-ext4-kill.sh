#!/bin/bash
# An ext4 on a 4:2 erasure-coded VDI (six sheep) through plugin, nbdfuse
# and a loop device: fio writes files with verification while a sheep is
# killed with -9; its verify pass finds no error; a second sheep killed
# afterwards, every file still verifies and fsck is clean; once the lost
# strips are rebuilt every one sits on its position's owner.
source "$(dirname "$0")/lib.sh"

start_cluster 6
dogn 0 cluster format -c 4:2 >/dev/null || fail "format -c 4:2"
dogn 0 vdi create disk 256M || fail "create"
start_nbdkit "$T/nbd.sock" vdi=disk port=7001

block_device "$T/nbd.sock" 268435456
mkdir -p "$T/mnt"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4"
mount "$dev" "$T/mnt" || fail "mount"
on_exit "umount $T/mnt"

fio --name=verify --directory="$T/mnt" --rw=randwrite --bs=16k --size=48M --nrfiles=4 \
  --ioengine=psync --direct=1 --verify=crc32c --verify_fatal=1 --do_verify=1 \
  --output="$T/fio.out" >/dev/null 2>&1 &
fio_pid=$!
on_exit "kill $fio_pid"
some_data() { [ "$(dogn 0 vdi list -r disk | awk '{print $5}')" -gt $((40 << 20)) ]; }
wait_for 120 some_data
kill9_sheep 3
wait $fio_pid || { cat "$T/fio.out" >&2; fail "fio reported errors"; }
grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out" >&2; fail "fio errors"; }
# A second sheep gone: the files still read back as fio wrote them.
kill9_sheep 5
echo 3 >/proc/sys/vm/drop_caches
fio --name=verify --directory="$T/mnt" --rw=randwrite --bs=16k --size=48M --nrfiles=4 \
  --ioengine=psync --direct=1 --verify=crc32c --verify_fatal=1 --verify_only=1 \
  --output="$T/fio2.out" >/dev/null 2>&1 || { cat "$T/fio2.out" >&2; fail "verify with two sheep gone"; }
grep -q "err= 0" "$T/fio2.out" || { cat "$T/fio2.out" >&2; fail "verify errors"; }
umount "$T/mnt"
fsck.ext4 -fn "$dev" >"$T/fsck" 2>&1 || fail "fsck: $(cat "$T/fsck")"
for i in 0 1 2 4; do wait_nodes "$i" 4; done
wait_recovered 0
pass
