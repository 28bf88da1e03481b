#!/bin/bash
# The golden-image workflow: an ext4 golden image, snapshotted, cloned
# three times; each clone is mounted through the plugin as its own ext4
# (nbdfuse + loop), written and checked; the golden image is unchanged;
# deleting the clones gives their space back (dog node info, object files).
source "$(dirname "$0")/lib.sh"
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create golden 256M || fail "create"
start_nbdkit "$T/nbd.sock"   # export name = VDI name
mkdir -p "$T/fuse" "$T/mnt"

# mount_vdi NAME: nbdfuse + loop + mount on $T/mnt; umount_vdi undoes it.
mount_vdi() {
  nbdfuse "$T/fuse/disk" "nbd+unix:///$1?socket=$T/nbd.sock" &
  echo $! >"$T/fuse.pid"
  wait_for 20 test -e "$T/fuse/disk"
  dev=$(losetup -f --show --direct-io=on "$T/fuse/disk") || fail "losetup $1"
  echo "$dev" >"$T/loopdev"
  [ "${2:-}" = mkfs ] && { mkfs.ext4 -q "$dev" || fail "mkfs"; }
  mount "$dev" "$T/mnt" || fail "mount $1"
}
umount_vdi() {
  umount "$T/mnt"
  fsck.ext4 -fn "$(cat "$T/loopdev")" >/dev/null || fail "fsck"
  losetup -d "$(cat "$T/loopdev")"
  fusermount3 -u "$T/fuse"
  wait_for 20 sh -c "! kill -0 $(cat "$T/fuse.pid") 2>/dev/null"
}
on_exit "umount -l $T/mnt; [ -f $T/loopdev ] && losetup -d \$(cat $T/loopdev); fusermount3 -u $T/fuse"

mount_vdi golden mkfs
head -c 20M /dev/urandom >"$T/mnt/base.bin"
sync
umount_vdi
golden_md5=$(dogn 0 vdi read golden | md5sum | cut -d' ' -f1)
dogn 0 vdi snapshot -s base golden || fail "snapshot"
objects_before=$(ls "$T/0/obj" | grep -c '^00' || true)

for c in vm1 vm2 vm3; do
  dogn 0 vdi clone -s base golden "$c" || fail "clone $c"
  mount_vdi "$c"
  cmp -s "$T/mnt/base.bin" <(head -c 20M "$T/mnt/base.bin") || fail "$c: base file"
  head -c 8M /dev/urandom >"$T/mnt/$c.bin"
  md5sum <"$T/mnt/$c.bin" >"$T/$c.md5"
  sync
  umount_vdi
done
for c in vm1 vm2 vm3; do
  mount_vdi "$c"
  assert_eq "$(md5sum <"$T/mnt/$c.bin")" "$(cat "$T/$c.md5")" "$c's own file after a remount"
  for o in vm1 vm2 vm3; do [ "$o" = "$c" ] || [ ! -e "$T/mnt/$o.bin" ] || fail "$o's file in $c"; done
  umount_vdi
done
assert_eq "$(dogn 0 vdi read golden | md5sum | cut -d' ' -f1)" "$golden_md5" "golden image unchanged"
[ "$(ls "$T/0/obj" | grep -c '^00')" -gt "$objects_before" ] || fail "clones allocated nothing"

used_with_clones=$(dogn 0 node info -r | awk '/^Total/ {print $3}')
for c in vm1 vm2 vm3; do dogn 0 vdi delete "$c"; done
assert_eq "$(ls "$T/0/obj" | grep -c '^00' || true)" "$objects_before" "objects after deleting the clones"
used_after=$(dogn 0 node info -r | awk '/^Total/ {print $3}')
# Each clone wrote 8 MiB of its own (plus copied blocks): at least 24 MiB
# comes back. (Deleted inodes stay as small tombstones.)
[ $((used_with_clones - used_after)) -ge $((24 << 20)) ] ||
  fail "node info: used $used_with_clones -> $used_after after deleting the clones"
pass
