#!/bin/bash
# The block-device path: a VDI served by the plugin, turned into a file by
# nbdfuse and into a kernel block device by a direct-I/O loop device,
# carries an ext4 file system: mkfs, mount, files written and synced, a
# clean fsck, files intact after a remount, and the same file system read
# straight out of sheepdog with dog once everything is torn down.
source "$(dirname "$0")/lib.sh"

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "cluster format"
dogn 0 vdi create test 512M || fail "vdi create"
start_nbdkit "$T/nbd.sock" vdi=test port=7000

block_device "$T/nbd.sock" 536870912
mkdir -p "$T/mnt"
assert_eq "$(losetup -n -O DIO,SIZELIMIT,BACK-FILE "$dev" | xargs)" "1 0 $T/fuse/disk" "loop device"
assert_eq "$(blockdev --getsize64 "$dev")" "536870912" "block device size"

mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4"
mount "$dev" "$T/mnt" || fail "mount"
on_exit "umount $T/mnt"

mkdir -p "$T/mnt/dir/sub"
head -c 7M /dev/urandom >"$T/mnt/big1"
head -c 13M /dev/urandom >"$T/mnt/dir/big2"
head -c 1M /dev/urandom >"$T/mnt/dir/sub/small"
for i in $(seq 1 50); do echo "file $i" >"$T/mnt/dir/f$i"; done
dd if=/dev/urandom of="$T/mnt/dir/sparse" bs=4096 count=3 seek=20000 status=none
sync
(cd "$T/mnt" && find . -type f | sort | xargs md5sum) >"$T/sums"
assert_eq "$(wc -l <"$T/sums")" "54" "number of files written"

umount "$T/mnt"
fsck.ext4 -fn "$dev" >"$T/fsck1" 2>&1 || fail "fsck after the first umount: $(cat "$T/fsck1")"
mount "$dev" "$T/mnt" || fail "remount"
(cd "$T/mnt" && md5sum --quiet -c "$T/sums") || fail "files differ after remount"
assert_eq "$(cat "$T/mnt/dir/f42")" "file 42" "small file after remount"
# Delete and rewrite some, then check again after another remount.
rm "$T/mnt/big1"
head -c 9M /dev/urandom >"$T/mnt/big3"
sync
(cd "$T/mnt" && find . -type f | sort | xargs md5sum) >"$T/sums"
umount "$T/mnt"
fsck.ext4 -fn "$dev" >"$T/fsck2" 2>&1 || fail "fsck after the second umount: $(cat "$T/fsck2")"
mount "$dev" "$T/mnt" || fail "second remount"
(cd "$T/mnt" && md5sum --quiet -c "$T/sums") || fail "files differ after the second remount"
umount "$T/mnt"

# Tear the stack down and read the file system straight out of sheepdog.
losetup -d "$dev"
fusermount3 -u "$T/fuse"
wait_for 20 sh -c "! kill -0 $nbdfuse_pid"
dogn 0 vdi read test >"$T/image" || fail "dog vdi read of the whole VDI"
assert_eq "$(stat -c %s "$T/image")" "536870912" "image size"
fsck.ext4 -fn "$T/image" >"$T/fsck3" 2>&1 || fail "fsck of the image read by dog: $(cat "$T/fsck3")"
dev2=$(losetup -f --show -r "$T/image") || fail "losetup of the image"
on_exit "losetup -d $dev2"
mount -o ro "$dev2" "$T/mnt" || fail "mount of the image read by dog"
on_exit "umount $T/mnt"
(cd "$T/mnt" && md5sum --quiet -c "$T/sums") || fail "files differ in the image read by dog"
pass
