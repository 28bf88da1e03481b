#!/bin/bash
# A hyper volume (dog vdi create -y, upstream's B-tree block map) of
# 16 TiB served by the plugin, with ext4 (-E nodiscard) at
# its start and beyond 5 TiB (where a flat inode cannot reach), files
# written to both and read back after the plugin is restarted; the used space dog lists is what was allocated, the plugin's
# extents report the holes between, and upstream's message for a size
# beyond the flat limit without -y is kept.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "cluster format"
rc=0
dogn 0 vdi create flat 5T 2>"$T/err" || rc=$?
assert_eq "$rc" "64" "5T without -y: exit"
assert_eq "$(head -n 1 "$T/err")" "VDI size is larger than 4.0 TB bytes, please use '-y' to create a hyper volume with size up to 16 PB bytes or use '-z' to create larger object size volume" "5T without -y: message"
rc=0
dogn 0 vdi create -y toobig 17P 2>"$T/err" || rc=$?
assert_eq "$rc:$(head -n 1 "$T/err")" "64:VDI size is too large" "beyond 16 PB"

dogn 0 vdi create -y big 16T || fail "vdi create -y"
assert_eq "$(dogn 0 vdi list -r big | awk '{print $4, $5}')" "17592186044416 0" "size and used, empty"
start_nbdkit "$T/nbd.sock" vdi=big socket="$T/1/sock"
block_device "$T/nbd.sock" 17592186044416
# Two ext4 file systems: one at the start, one from 5 TiB (block 2^20 of
# the volume is at 4 TiB, past any flat inode), each on a loop device
# over its range. Metadata packed at the start of each keeps the objects
# mkfs touches (each fully allocated) few.
parts() {
  part1=$(losetup -f --show --direct-io=on --sizelimit $((1 << 30)) "$T/fuse/disk") || fail "losetup 1"
  on_exit "losetup -d $part1"
  part2=$(losetup -f --show --direct-io=on -o $((5 << 40)) "$T/fuse/disk") || fail "losetup 2"
  on_exit "losetup -d $part2"
}
parts
mkdir -p "$T/mnt1" "$T/mnt2"
for p in 1 2; do
  mkfs.ext4 -q -F -E nodiscard,packed_meta_blocks=1 -O sparse_super2 "$(eval echo \$part$p)" || fail "mkfs.ext4 p$p"
  mount "$(eval echo \$part$p)" "$T/mnt$p" || fail "mount p$p"
  on_exit "umount $T/mnt$p"
  for i in 1 2 3; do
    mkdir "$T/mnt$p/d$i"
    head -c $((i * 3))M /dev/urandom >"$T/mnt$p/d$i/f"
    echo "small $p $i" >"$T/mnt$p/d$i/small"
  done
done
sync
(cd "$T" && find mnt1 mnt2 -type f | sort | xargs md5sum) >"$T/sums"
assert_eq "$(wc -l <"$T/sums")" "12" "files written"
# The volume holds blocks on both sides of 4 TiB (index 2^20).
vid=$(dogn 0 vdi list -r big | awk '{print $8}')
idx=$(dogn 0 vdi object map big | awk 'NR > 1 {print $1 + 0}')
assert_eq "$(echo "$idx" | awk '$1 < 1048576' | wc -l | xargs test 0 -lt && echo yes)" "yes" "blocks below 4 TiB"
assert_eq "$(echo "$idx" | awk '$1 >= 1310720' | wc -l | xargs test 0 -lt && echo yes)" "yes" "blocks beyond 5 TiB"
for p in 1 2; do umount "$T/mnt$p"; done
losetup -d "$part1" "$part2" "$dev"
fusermount3 -u "$T/fuse"
wait_for 20 sh -c "! kill -0 $nbdfuse_pid"
kill "$(cat "$T/nbdkit.nbd.sock.pid")"

# Used space is what the B-tree names; extents skip the holes.
used=$(dogn 0 vdi list -r big | awk '{print $5}')
objects=$(find "$T"/[0-2]/obj -maxdepth 1 -name "00${vid}*" | wc -l)
assert_eq "$used" "$((objects / 2 * 4194304))" "used space = allocated objects (2 copies each)"

start_nbdkit "$T/nbd2.sock" vdi=big socket="$T/2/sock"
nbdinfo --map "nbd+unix:///?socket=$T/nbd2.sock" >"$T/map" || fail "nbdinfo --map"
data_bytes=$(awk '$3 == 0 {s += $2} END {print s}' "$T/map")
assert_eq "$data_bytes" "$used" "extents: data where the tree names objects, holes elsewhere"
block_device "$T/nbd2.sock" 17592186044416
parts
for p in 1 2; do
  fsck.ext4 -fn "$(eval echo \$part$p)" >"$T/fsck" 2>&1 || fail "fsck p$p: $(cat "$T/fsck")"
  mount "$(eval echo \$part$p)" "$T/mnt$p" || fail "mount p$p after the plugin restart"
done
(cd "$T" && md5sum --quiet -c "$T/sums") || fail "files differ after the plugin restart"
pass
