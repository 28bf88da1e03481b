#!/bin/bash
# A disk that returns EIO under a running sheep. Three sheep, copies 2;
# node 0 runs with META,d0,d1, d1 being ext4 on a loop device over
# nbdfuse over nbdkit's memory plugin behind its error filter: while the
# file $T/eio exists every read and write of that device fails with EIO.
# A VDI is written through the plugin served by node 0, then the errors
# start (and the page cache is dropped, so reads reach the device):
# - every byte reads back correctly through node 0 (the copies on d1 fail,
#   the other copies answer);
# - node 0's log names the disk and the error, it drops d1 and stays a
#   member (no epoch: a disk is no membership change), `dog node md info`
#   lists d1 as failed;
# - writes through node 0 succeed, read back, and once recovery is over
#   every object has its two copies on disks that work.
source "$(dirname "$0")/lib.sh"
D0=$T/0/d0 D1=$T/0/d1
mkdir -p "$D0" "$D1" "$T/fuse"
nbdkit -U "$T/disk.sock" -P "$T/disk.pid" --filter=error memory size=1G \
  error=EIO error-rate=100% error-file="$T/eio" || fail "nbdkit for the faulty disk"
on_exit "kill \$(cat $T/disk.pid)"
nbdfuse "$T/fuse/disk" --unix "$T/disk.sock" >"$T/nbdfuse.log" 2>&1 &
nbdfuse_pid=$!
on_exit "fusermount3 -u $T/fuse; kill $nbdfuse_pid"
fuse_ready() { [ "$(stat -c %s "$T/fuse/disk" 2>/dev/null)" = $((1 << 30)) ]; }
wait_for 20 fuse_ready
loopdev=$(losetup -f --show --direct-io=on "$T/fuse/disk") || fail "losetup"
on_exit "losetup -d $loopdev"
mkfs.ext4 -q -F "$loopdev" || fail "mkfs.ext4"
mount -o errors=continue "$loopdev" "$D1" || fail "mount d1"
on_exit "umount -l $D1"
# (Cleanups run last first: the errors stop before anything is unmounted.)
on_exit "rm -f $T/eio"
set_capacity() { python3 -c "import os, struct, sys; os.setxattr(sys.argv[1], 'user.md.size', struct.pack('<Q', int(sys.argv[2])))" "$1" "$2"; }
for d in "$D0" "$D1"; do set_capacity "$d" $((900 << 20)); done

# Fixed vnodes: node 0 holds its share though its disks are small.
"$SHEEP" "$T/0,$D0,$D1" -p 7000 -z 0 -V 128 -c "local:$T/cluster" || fail "sheep 0 did not start"
wait_for 20 sheep_listed 0
start_sheep 1 -V 128
start_sheep 2 -V 128
for i in 0 1 2; do wait_nodes "$i" 3; done
dogn 0 cluster format -c 2 -V >/dev/null || fail "format"
epoch0=$(epoch_of 0)
dogn 0 vdi create -z 20 disk 128M || fail "create"
start_nbdkit "$T/nbd.sock" vdi=disk port=7000
uri="nbd+unix:///?socket=$T/nbd.sock"
head -c 128M /dev/urandom >"$T/a"
nbdcopy "$T/a" "$uri" || fail "first write"
on_d1=$(find "$D1" -maxdepth 1 -type f -name '[0-9a-f]*' | wc -l)
[ "$on_d1" -ge 5 ] || { dogn 0 node md info >&2; ls -la "$D1" "$D0" | head -20 >&2; fail "d1 holds only $on_d1 objects"; }
echo "d1 holds $on_d1 objects"

touch "$T/eio"
sync
echo 3 >/proc/sys/vm/drop_caches
nbdcopy "$uri" "$T/b" || fail "read through node 0 while d1 fails"
cmp "$T/a" "$T/b" || fail "read through node 0 while d1 fails: other data"
grep -q "disk $D1 failed: .*Input/output error" "$T/0/sheep.log" ||
  { grep ERROR "$T/0/sheep.log" | head -n 20 >&2; fail "no 'disk $D1 failed: ... Input/output error' in node 0's log"; }
echo "node 0 says: $(grep -m 1 -o "disk $D1 failed: .*" "$T/0/sheep.log")"
grep -q "disk $D1 removed from the store: its objects will be recovered from other nodes" "$T/0/sheep.log" ||
  fail "no 'disk $D1 removed' in node 0's log"
for i in 0 1 2; do assert_eq "$(node_count "$i")" "3" "nodes listed by node $i after d1 failed"; done
assert_eq "$(epoch_of 0)" "$epoch0" "epoch after d1 failed (a disk is no epoch)"
[[ $(dogn 0 node md info -r | tail -n 1) == "127.0.0.1:7000 failed $D1 "* ]] ||
  fail "node 0's md info -r: $(dogn 0 node md info -r)"

head -c 128M /dev/urandom >"$T/c"
nbdcopy "$T/c" "$uri" || fail "write through node 0 after d1 failed"
nbdcopy "$uri" "$T/d" || fail "read back through node 0"
cmp "$T/c" "$T/d" || fail "read back through node 0 after d1 failed: other data"
kill "$(cat "$T/nbdkit.nbd.sock.pid")"

wait_recovered 0
"$CHECK_PLACEMENT" -p 7001 >"$T/cp" 2>&1 || fail "placement after recovery: $(head "$T/cp")"
grep -q " objects checked, 0 misplaced$" "$T/cp" || fail "placement: $(tail -n 3 "$T/cp")"
want=$(sha256sum <"$T/c" | cut -d' ' -f1)
for i in 0 1 2; do
  assert_eq "$(dogn "$i" vdi read disk | sha256sum | cut -d' ' -f1)" "$want" "VDI read through node $i after recovery"
done
pass "EIO on one disk: reads served by the other copies, the disk dropped and named, nothing lost"
