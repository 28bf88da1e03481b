#!/bin/bash
# A disk of a multi-disk node fails under load. Three sheep, copies 2;
# node 0 runs with META,d0,d1,d2, d1 being an ext4 filesystem (mounted
# -o sync) on a loop device of 1 GiB, all three with capacity 900 MiB
# (preset xattr user.md.size), so that d1 gets a third of node 0's
# objects; nodes 1 and 2 keep their data on tmpfs of 3 GiB, so that all
# three nodes have about as much space and as many vnodes. fio writes
# with verification through the plugin served by node 0 while d1's
# filesystem is taken away (umount -l): fio finds no error, node 0 stays
# a member (no epoch, same node list: a disk is no membership change),
# says in its log which disk failed and why, and `dog node md info` shows
# d0 and d2 and d1 as failed. Once recovery is over every object is on
# exactly its owners, node 0's on their own disk among d0 and d2, and
# fio's verify pass through node 0 finds every block. Node 0 restarted
# with d0 alone gets back from the others what d2 held; unplugging its
# last disk makes it leave (one epoch), and the data is still all there
# through the others.
source "$(dirname "$0")/lib.sh"
MDP=$ROOT/tests/functional/helpers/md_placement.py
D0=$T/0/d0 D1=$T/0/d1 D2=$T/0/d2
mkdir -p "$D0" "$D1" "$D2"
truncate -s 1G "$T/d1.img"
mkfs.ext4 -q -F "$T/d1.img" || fail "mkfs.ext4"
loopdev=$(losetup -f --show "$T/d1.img") || fail "losetup"
on_exit "losetup -d $loopdev"
# A slow disk (every write synchronous): requests are in flight on it
# when it goes.
mount -o sync "$loopdev" "$D1" || fail "mount d1"
on_exit "umount -l $D1"
set_capacity() { python3 -c "import os, struct, sys; os.setxattr(sys.argv[1], 'user.md.size', struct.pack('<Q', int(sys.argv[2])))" "$1" "$2"; }
for d in "$D0" "$D1" "$D2"; do set_capacity "$d" $((900 << 20)); done
for i in 1 2; do
  mkdir -p "$T/$i"
  mount -t tmpfs -o size=3G tmpfs "$T/$i" || fail "tmpfs for node $i"
  on_exit "umount -l $T/$i"
done

md_pid() { pgrep -f "^$SHEEP $T/0," | head -n 1; }
md_start() {  # DISK,DISK...
  "$SHEEP" "$T/0,$1" -p 7000 -z 0 -c "local:$T/cluster" || fail "sheep 0 with disks $1 did not start"
  wait_for 20 sheep_listed 0
}
md_gone() { [ -z "$(md_pid)" ] && [ -z "$(ss -Hltn "sport = :7000" 2>/dev/null)" ]; }
placed() { python3 "$MDP" --meta "$T/0" "$@" >"$T/mdp" 2>&1; }
# The disks META/obj/.md_disks records as in use (lines "PATH" or "disk PATH").
recorded_disks() { grep -v -E '^(vdisk|draining) ' "$T/0/obj/.md_disks" | sed 's/^disk //'; }
assert_placed() {  # DISK...
  placed "$@" || { head -n 30 "$T/mdp" >&2; fail "node 0's objects on $*"; }
}
count_on() { python3 "$MDP" "$1" | awk -v d="$1" '$1 == d {print $2}'; }
sum_via() { dogn "$1" vdi read disk | sha256sum | cut -d' ' -f1; }

md_start "$D0,$D1,$D2"
start_sheep 1
start_sheep 2
for i in 0 1 2; do wait_nodes "$i" 3; done
dogn 0 cluster format -c 2 >/dev/null || fail "format"
epoch0=$(epoch_of 0)
nodes0=$(dogn 1 node list -r)
dogn 0 vdi create -z 20 disk 512M || fail "create"
start_nbdkit "$T/nbd.sock" vdi=disk port=7000
uri="nbd+unix:///?socket=$T/nbd.sock"
# Two fio jobs, crc32c on every block: "creates" writes each 1 MiB object
# of the first 384 MiB whole, once (every write creates an object), and
# "writes" rewrites the 64 KiB blocks of the last 128 MiB (mostly writes
# to objects that exist). Both are under way when d1 goes: creates and
# writes on d1 meet the change of directory at every step.
fio_job() {  # OUT ARGS...
  local out=$1
  shift
  fio --ioengine=nbd --uri="$uri" --rw=randwrite --iodepth=16 --verify=crc32c --verify_fatal=1 \
    --verify_state_save=0 --randseed=11 "$@" --output="$T/$out" \
    --name=creates --bs=1m --offset=0 --size=384M \
    --name=writes --bs=64k --offset=384M --size=128M >/dev/null 2>&1
}
fio_job fio1.out --do_verify=1 &
fio_pid=$!
on_exit "kill $fio_pid"
# d1 goes once it holds objects and fio is well under way.
on_d1() { [ "$(count_on "$D1")" -ge 5 ] && [ "$(dogn 0 vdi list -r disk | awk '{print $5}')" -gt $((32 << 20)) ]; }
wait_for 60 on_d1
before_umount=$(count_on "$D1")
umount -l "$D1" || fail "umount -l d1"
kill -0 $fio_pid 2>/dev/null || fail "fio was over before d1 went"
fio_failed() {  # WHAT
  grep "err=" "$T/fio1.out" >&2
  # (The log may lag the reply by a moment.)
  local end=$((SECONDS + 5))
  until grep -q ERROR "$T/0/sheep.log" || [ $SECONDS -ge $end ]; do sleep 0.1; done
  echo "--- node 0's errors:" >&2
  grep -E "ERROR|try_fetch" "$T/0/sheep.log" | head -n 20 >&2
  fail "$1"
}
wait $fio_pid || fio_failed "fio reported errors after d1 failed"
[ "$(grep -c "err= 0" "$T/fio1.out")" = 2 ] || fio_failed "fio errors"
echo "d1 held $before_umount objects when its filesystem went"

# Node 0 dropped d1 and stays.
grep -q "disk $D1 failed: " "$T/0/sheep.log" || fail "no 'disk $D1 failed' in node 0's log"
grep -q "disk $D1 removed from the store: its objects will be recovered from other nodes" "$T/0/sheep.log" ||
  fail "no 'disk $D1 removed' in node 0's log"
why=$(grep -m 1 -o "disk $D1 failed: .*" "$T/0/sheep.log" | sed "s|^disk $D1 failed: ||")
[ -n "$why" ] || fail "no reason given for d1's failure"
echo "node 0 says: disk $D1 failed: $why"
for i in 0 1 2; do assert_eq "$(node_count "$i")" "3" "nodes listed by node $i after d1 failed"; done
assert_eq "$(dogn 0 node md info | tail -n +2 | awk -F'\t' '$1 != " -" {print $1 "|" $6} $1 == " -" {print $1 "|" $2 "|" $3 "|" $4}')" \
  " 0|$D0
 1|$D2
 -|failed|$D1|$why" "node 0's md info after d1 failed"
assert_eq "$(dogn 0 node md info -r | awk '{print $1, $2, $NF}' | head -n 2)" "127.0.0.1:7000 0 $D0
127.0.0.1:7000 1 $D2" "node 0's md info -r disks"
[[ $(dogn 0 node md info -r | tail -n 1) == "127.0.0.1:7000 failed $D1 $why" ]] ||
  fail "node 0's md info -r failed line: $(dogn 0 node md info -r | tail -n 1)"
assert_eq "$(recorded_disks)" "$D0
$D2" "META/obj/.md_disks after d1 failed"

# Recovery: every object on its owners, node 0's on d0 and d2 by the ring.
wait_recovered 0
assert_eq "$(epoch_of 0)" "$epoch0" "epoch after d1 failed (a disk is no epoch)"
assert_eq "$(epoch_of 1)" "$epoch0" "epoch on node 1 after d1 failed"
assert_eq "$(dogn 1 node list -r)" "$nodes0" "node list after d1 failed"
assert_placed "$D0" "$D2"
n0=$(awk '/ objects, / {print $1}' "$T/mdp")
[ "$n0" -gt 0 ] || fail "node 0 holds no object"
grep -q "^$n0 objects, 0 misplaced$" "$T/mdp" || fail "node 0's placement: $(tail -n 3 "$T/mdp")"
# What the sheep list (check-placement asks them) and the files agree: two
# files per object, node 0's on d0 and d2 (none left only on d1).
copies_on_disk() {  # PORT: placement exact, and 2 object files per object
  local checked
  "$CHECK_PLACEMENT" -p "$1" >"$T/cp" 2>&1 || fail "placement: $(head "$T/cp")"
  checked=$(sed -n 's/^\([0-9]*\) objects checked, 0 misplaced$/\1/p' "$T/cp")
  assert_eq "$((n0 + $(count_on "$T/1/obj") + $(count_on "$T/2/obj")))" "$((2 * checked))" \
    "object files of the 3 nodes for $checked objects"
}
copies_on_disk 7000

# What fio wrote reads back through node 0, now without d1.
kill "$(cat "$T/nbdkit.nbd.sock.pid")"
start_nbdkit "$T/nbd2.sock" vdi=disk port=7000
uri="nbd+unix:///?socket=$T/nbd2.sock"
fio_job fio2.out --verify_only=1 || { cat "$T/fio2.out" >&2; fail "fio verify through node 0 after recovery"; }
[ "$(grep -c "err= 0" "$T/fio2.out")" = 2 ] || { cat "$T/fio2.out" >&2; fail "fio verify errors"; }
kill "$(cat "$T/nbdkit.nbd2.sock.pid")"
want=$(sum_via 1)
assert_eq "$(sum_via 0)" "$want" "VDI read through node 0 and node 1"
assert_eq "$(sum_via 2)" "$want" "VDI read through node 2 and node 1"

# Node 0 back with d0 alone: what d2 held comes from the others.
kill "$(md_pid)"
wait_for 20 md_gone
for i in 1 2; do wait_nodes "$i" 2; done
md_start "$D0"
for i in 0 1 2; do wait_nodes "$i" 3; done
grep -q "disk $D2 is not given any more: its objects will be recovered from other nodes" "$T/0/sheep.log" ||
  fail "no log line for d2 left out"
wait_recovered 0
e=$(epoch_of 0)
[ "$e" -gt "$epoch0" ] || fail "no new epoch after node 0 came back with fewer disks"
assert_eq "$(dogn 0 node md info | tail -n +2 | awk -F'\t' '{print $1 "|" $6}')" " 0|$D0" "node 0's md info with d0 alone"
assert_eq "$(recorded_disks)" "$D0" "META/obj/.md_disks with d0 alone"
assert_placed "$D0"
n0=$(awk '/ objects, / {print $1}' "$T/mdp")
[ "$n0" -gt 0 ] || fail "node 0 holds no object after its restart"
copies_on_disk 7001
for i in 0 1 2; do assert_eq "$(sum_via "$i")" "$want" "VDI read through node $i after node 0 came back with d0 alone"; done

# Unplugging its last disk: node 0 leaves, the others make one epoch.
e=$(epoch_of 1)
dogn 0 node md unplug -f "$D0" || fail "unplug d0, the last disk"
for i in 1 2; do wait_nodes "$i" 2; done
assert_eq "$(dogn 1 node list -r | awk '{print $2}')" "127.0.0.1:7001
127.0.0.1:7002" "nodes left"
assert_eq "$(epoch_of 1)" "$((e + 1))" "epoch after node 0 left"
assert_eq "$(epoch_of 2)" "$((e + 1))" "epoch on node 2 after node 0 left"
wait_recovered 1
assert_eq "$(sum_via 1)" "$want" "VDI read through node 1 after node 0 left"
pass
