#!/bin/bash
# A disk of a multi-disk node fails under load. Three sheep, copies 2;
# node 0 runs with META,d0,d1,d2, d1 being an ext4 filesystem on a loop
# device, all three with a third of the free space of the filesystem the
# other sheep use (preset xattr user.md.size), so that node 0 gets about
# as many vnodes as the others and d1 a third of node 0's objects. fio
# writes with verification through the plugin served by node 0 while d1's
# filesystem is taken away (umount -l): fio finds no error, node 0 stays a
# member (no epoch for a disk), says in its log which disk failed and why,
# and `dog node md info` shows d0 and d2 and d1 as failed. Once recovery
# is over every object is on exactly its owners, node 0's on their own
# disk among d0 and d2, and fio's verify pass through node 0 finds every
# block. Node 0 restarted with d0 alone gets back from the others what
# d2 held; unplugging its last disk makes it leave (one epoch), and the
# data is still all there through the other nodes.
source "$(dirname "$0")/lib.sh"
MDP=$ROOT/tests/functional/helpers/md_placement.py
D0=$T/0/d0 D1=$T/0/d1 D2=$T/0/d2
mkdir -p "$D0" "$D1" "$D2"
truncate -s 1G "$T/d1.img"
mkfs.ext4 -q -F "$T/d1.img" || fail "mkfs.ext4"
loopdev=$(losetup -f --show "$T/d1.img") || fail "losetup"
on_exit "losetup -d $loopdev"
mount "$loopdev" "$D1" || fail "mount d1"
on_exit "umount -l $D1"
set_capacity() { python3 -c "import os, struct, sys; os.setxattr(sys.argv[1], 'user.md.size', struct.pack('<Q', int(sys.argv[2])))" "$1" "$2"; }
third=$(python3 -c "import os, sys; v = os.statvfs(sys.argv[1]); print(v.f_bavail * v.f_frsize // 3)" "$T")
for d in "$D0" "$D1" "$D2"; do set_capacity "$d" "$third"; done

md_pid() { pgrep -f "^$SHEEP $T/0," | head -n 1; }
md_start() {  # DISK,DISK...
  "$SHEEP" "$T/0,$1" -p 7000 -z 0 -c "local:$T/cluster" || fail "sheep 0 with disks $1 did not start"
  wait_for 20 sheep_listed 0
}
md_gone() { [ -z "$(md_pid)" ] && [ -z "$(ss -Hltn "sport = :7000" 2>/dev/null)" ]; }
placed() { python3 "$MDP" "$@" >"$T/mdp" 2>&1; }
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
dogn 0 vdi create -z 20 disk 320M || fail "create"
start_nbdkit "$T/nbd.sock" vdi=disk port=7000
uri="nbd+unix:///?socket=$T/nbd.sock"
fio_job() {  # OUT ARGS...: randwrite of every 64k block of 256M, crc32c
  local out=$1
  shift
  fio --name=verify --ioengine=nbd --uri="$uri" --rw=randwrite --bs=64k --size=256M --iodepth=32 \
    --verify=crc32c --verify_fatal=1 --verify_state_save=0 --randseed=11 "$@" \
    --output="$T/$out" >/dev/null 2>&1
}
# (At most 32 MiB/s, so that d1 goes in the middle of the writes.)
fio_job fio1.out --do_verify=1 --rate=32m &
fio_pid=$!
on_exit "kill $fio_pid"
# d1 goes once it holds objects and fio is well under way.
on_d1() { [ "$(count_on "$D1")" -ge 5 ] && [ "$(dogn 0 vdi list -r disk | awk '{print $5}')" -gt $((32 << 20)) ]; }
wait_for 60 on_d1
before_umount=$(count_on "$D1")
umount -l "$D1" || fail "umount -l d1"
kill -0 $fio_pid 2>/dev/null || fail "fio was over before d1 went"
wait $fio_pid || { cat "$T/fio1.out" >&2; fail "fio reported errors after d1 failed"; }
grep -q "err= 0" "$T/fio1.out" || { cat "$T/fio1.out" >&2; fail "fio errors"; }
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
assert_eq "$(cat "$T/0/md_disks")" "$D0
$D2" "META/md_disks after d1 failed"

# Recovery: every object on its owners, node 0's on d0 and d2 by the ring.
wait_recovered 0
assert_eq "$(epoch_of 0)" "$epoch0" "epoch after d1 failed (a disk is no epoch)"
assert_eq "$(epoch_of 1)" "$epoch0" "epoch on node 1 after d1 failed"
assert_placed "$D0" "$D2"
n0=$(awk '/ objects, / {print $1}' "$T/mdp")
[ "$n0" -gt 0 ] || fail "node 0 holds no object"
grep -q "^$n0 objects, 0 misplaced$" "$T/mdp" || fail "node 0's placement: $(tail -n 3 "$T/mdp")"
# The store's own listing and the disks agree (no object is only on d1).
assert_eq "$(python3 "$MDP" "$D0" "$D2" | awk '/ objects, / {print $1}')" "$n0" "objects on d0 and d2"
"$CHECK_PLACEMENT" -p 7000 -v >"$T/cp" 2>&1 || fail "placement: $(head "$T/cp")"

# What fio wrote reads back through node 0, now without d1.
kill "$(cat "$T/nbdkit.nbd.sock.pid")"
start_nbdkit "$T/nbd2.sock" vdi=disk port=7000
uri="nbd+unix:///?socket=$T/nbd2.sock"
fio_job fio2.out --verify_only=1 || { cat "$T/fio2.out" >&2; fail "fio verify through node 0 after recovery"; }
grep -q "err= 0" "$T/fio2.out" || { cat "$T/fio2.out" >&2; fail "fio verify errors"; }
kill "$(cat "$T/nbdkit.nbd2.sock.pid")"
want=$(sum_via 1)
assert_eq "$(sum_via 0)" "$want" "VDI read through node 0 and node 1"
assert_eq "$(sum_via 2)" "$want" "VDI read through node 2 and node 1"

# Node 0 back with d0 alone: what d2 held comes from the others.
kill "$(md_pid)"
wait_for 20 md_gone
for i in 1 2; do wait_nodes "$i" 2; done
lines=$(wc -l <"$T/0/sheep.log")
md_start "$D0"
for i in 0 1 2; do wait_nodes "$i" 3; done
grep -q "disk $D2 is not given any more: its objects will be recovered from other nodes" "$T/0/sheep.log" ||
  fail "no log line for d2 left out"
wait_recovered 0
e=$(epoch_of 0)
[ "$e" -gt "$epoch0" ] || fail "no new epoch after node 0 came back with fewer disks"
assert_eq "$(dogn 0 node md info | tail -n +2 | awk -F'\t' '{print $1 "|" $6}')" " 0|$D0" "node 0's md info with d0 alone"
assert_eq "$(cat "$T/0/md_disks")" "$D0" "META/md_disks with d0 alone"
assert_placed "$D0"
n0=$(awk '/ objects, / {print $1}' "$T/mdp")
[ "$n0" -gt 0 ] || fail "node 0 holds no object after its restart"
"$CHECK_PLACEMENT" -p 7001 >"$T/cp" 2>&1 || fail "placement after the restart: $(head "$T/cp")"
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
