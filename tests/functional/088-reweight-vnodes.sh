#!/bin/bash
# Auto vnodes follow each node's space, and `dog cluster reweight` measures
# the spaces again, as upstream (its tests 064 and 116):
# 1. A disk plugged into node 0 (`node md plug`) changes neither its
#    vnodes nor the epoch; `cluster reweight` then makes exactly one epoch
#    (only node 0 changed), whose vnodes are the formula's for the spaces
#    `node info` reports; recovery puts every object on exactly its owners
#    and the VDI reads back unchanged. A second reweight with nothing
#    changed prints nothing and makes no epoch.
# 2. Another disk, a reweight, and node 2 killed with kill -9 right after:
#    the reweight epoch, the leave, and the rejoin (node 2 back with the
#    space it had) follow one another, each with the formula's vnodes;
#    recovery completes and the data is intact.
#    A gateway joining then makes one epoch with 0 vnodes for it and the
#    others' unchanged; I/O through it works and it stores no object.
# 3. Capacities preset in the `user.md.size` xattr before the first start
#    (129000000, 131000000, 508000002 bytes) give 64, 66 and 254 vnodes
#    (floor mean, float32, half to even); a gateway joining leaves them
#    as they are (it has no space and 0 vnodes); `node vnodes set` on an
#    auto cluster fails; a reweight with all three spaces changed makes
#    three epochs, one per node in node order, each recomputed; a space
#    grown by 0.5% makes no epoch, by 1.5% one; a node restarted keeps
#    the space of its config (set by the reweight), whatever its xattr
#    says.
# Each disk is a tmpfs of its own, so the spaces are exact.
source "$(dirname "$0")/lib.sh"

GiB=$((1 << 30))
# tmpfs_at DIR BYTES: a filesystem of exactly BYTES for an object directory.
tmpfs_at() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2" tmpfs "$1" || fail "cannot mount a tmpfs on $1"
  on_exit "umount -l $1"
}
# vnodes_for SPACE...: upstream's auto vnodes for nodes of these spaces:
# avg = integer mean of the non-zero spaces, then
# rintf(128 * ((float)space / (float)avg)) in float32, half to even.
vnodes_for() {
  python3 -c '
import struct, sys
f32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]
sp = [int(a) for a in sys.argv[1:]]
nz = [s for s in sp if s]
avg = sum(nz) // len(nz)
print(" ".join(str(min(65535, round(f32(128.0 * f32(f32(float(s)) / f32(float(avg))))))) if s else "0"
               for s in sp))' "$@"
}
assert_eq "$(vnodes_for 129000000 131000000 508000002 0)" "64 66 254 0" "the formula itself"
assert_eq "$(vnodes_for 200 100 100)" "192 96 96" "the formula itself"
epoch_count() { dogn "$1" cluster info -r | awk 'NR > 2' | wc -l; }
# sizes_of N: every node's Size (free + used) as node info reports it.
sizes_of() { dogn "$1" node info -r | awk '$1 ~ /^[0-9]+$/ {print $2}' | xargs; }
# Node 0 has its meta directory and data disks: "$T/0,$T/0/d0".
start_md_sheep() {
  "$SHEEP" "$T/0,$T/0/d0" -p 7000 -z 0 -c "local:$T/cluster" || fail "sheep 0 did not start"
  wait_for 20 sheep_listed 0
}
md_sheep_pid() { pgrep -f "^$SHEEP $T/0,$T/0/d0 " | head -n 1; }
# Node 0's disks have settled after a plug: the rebalancer has logged its
# moves (at least $1 such lines) and no object is counted twice.
moves_logged() { [ "$(grep -c "objects moved to their own disks" "$T/0/sheep.log")" -ge "$1" ]; }
node0_size_is() { [ "$(sizes_of 0 | awk '{print $1}')" = "$1" ]; }
no_stale() { [ -z "$(find "$T"/[0-9]/obj/.stale "$T"/0/d[0-9]/.stale -type f 2>/dev/null)" ]; }

# ---- 1. a plugged disk, then a reweight ----
tmpfs_at "$T/0/d0" $GiB
tmpfs_at "$T/0/d1" $GiB
tmpfs_at "$T/0/d2" $GiB
tmpfs_at "$T/1/obj" $GiB
tmpfs_at "$T/2/obj" $GiB
start_md_sheep
start_sheep 1
start_sheep 2
for i in 0 1 2; do wait_nodes "$i" 3; done
dogn 0 cluster format -c 2 >/dev/null </dev/null || fail "format"
assert_eq "$(vnodes_of 0)" "128 128 128" "vnodes of three nodes of equal space"
dogn 0 vdi create -P disk 256M || fail "create a preallocated VDI"
head -c 32M /dev/urandom >"$T/r"
dogn 1 vdi write disk 100M 32M <"$T/r" || fail "write"
ref=$(dogn 0 vdi read disk | sum)

moves=$(grep -c "objects moved to their own disks" "$T/0/sheep.log" || true)
out=$(dogn 0 node md plug -f "$T/0/d1" 2>&1) || fail "md plug: $out"
assert_eq "$out" "" "md plug output"
wait_for 60 moves_logged $((moves + 1))
wait_for 30 node0_size_is $((2 * GiB))
assert_eq "$(dogn 0 node md info -r | awk '{print $NF}' | xargs)" "$T/0/d0 $T/0/d1" "node 0's disks"
assert_eq "$(epoch_of 0)" "1" "epoch after md plug"
assert_eq "$(vnodes_of 0)" "128 128 128" "vnodes after md plug (before reweight)"

sizes=$(sizes_of 0)
out=$(dogn 0 cluster reweight 2>&1) || fail "reweight: $out"
assert_eq "$out" "" "reweight output"
assert_eq "$(epoch_of 0)" "2" "epoch after the reweight (node 0 changed)"
# shellcheck disable=SC2086  # the sizes are words
want=$(vnodes_for $sizes)
assert_eq "$want" "192 96 96" "the formula for sizes $sizes"
assert_eq "$(epoch_list 0 2)" "$(list_of "7000 7001 7002" "$want")" "epoch 2 (sizes $sizes)"
assert_eq "$(epoch_list 0 1)" "$(list_of "7000 7001 7002" "128 128 128")" "epoch 1 unchanged"
for i in 0 1 2; do
  wait_for 10 epoch_is "$i" 2
  assert_eq "$(vnodes_of "$i")" "$want" "node list on node $i after the reweight"
done
wait_for 10 same_history 1 2
wait_recovered 0
find "$T/0/d1" -type f | grep -qE '/[0-9a-f]{16}$' || fail "the plugged disk holds no objects"
for i in 0 1 2; do assert_eq "$(dogn "$i" vdi read disk | sum)" "$ref" "VDI read through node $i after the reweight"; done

# Nothing changed: no epoch, no output. (Objects left behind by the
# recovery take free space without counting as used: wait until they
# are dropped.)
wait_for 60 no_stale
out=$(dogn 1 cluster reweight 2>&1) || fail "second reweight: $out"
assert_eq "$out" "" "second reweight output"
assert_eq "$(epoch_of 0)" "2" "epoch after a reweight with nothing changed"
assert_eq "$(epoch_count 0)" "2" "epochs after a reweight with nothing changed"

# ---- 2. a node killed right after a reweight ----
moves=$(grep -c "objects moved to their own disks" "$T/0/sheep.log" || true)
dogn 0 node md plug -f "$T/0/d2" || fail "md plug d2"
wait_for 60 moves_logged $((moves + 1))
wait_for 30 node0_size_is $((3 * GiB))
assert_eq "$(epoch_of 0)" "2" "epoch after the second md plug"
assert_eq "$(vnodes_of 0)" "192 96 96" "vnodes after the second md plug"
sizes=$(sizes_of 0)
dogn 0 cluster reweight || fail "reweight with d2"
kill9_sheep 2
for i in 0 1; do wait_nodes "$i" 2; done
wait_for 10 epoch_is 0 4
wait_recovered 0
assert_eq "$(dogn 1 vdi read disk | sum)" "$ref" "VDI read with node 2 gone"
start_sheep 2
for i in 0 1 2; do wait_nodes "$i" 3; done
for i in 0 1 2; do wait_for 10 epoch_is "$i" 5; done
wait_recovered 0
for i in 0 1 2; do assert_eq "$(dogn "$i" vdi read disk | sum)" "$ref" "VDI read through node $i after the rejoin"; done
read -r s0 s1 s2 <<<"$sizes"
w3=$(vnodes_for "$s0" "$s1" "$s2")
w4=$(vnodes_for "$s0" "$s1")
assert_eq "$w3 / $w4" "230 77 77 / 192 64" "the formula for sizes $sizes"
assert_eq "$(dogn 0 cluster info -r | awk 'NR > 2' | cut -d' ' -f2-)" "5 [$(list_of "7000 7001 7002" "$w3")]
4 [$(list_of "7000 7001" "$w4")]
3 [$(list_of "7000 7001 7002" "$w3")]
2 [$(list_of "7000 7001 7002" "192 96 96")]
1 [$(list_of "7000 7001 7002" "128 128 128")]" "epochs: reweight, leave, rejoin"
wait_for 10 same_history 1 2
assert_eq "$(vnodes_of 2)" "$w3" "node list on the restarted node"

# A gateway joins: one epoch, 0 vnodes, nobody else's vnodes change; it
# serves I/O and stores nothing; a reweight passes it by.
start_sheep 3 -g
for i in 0 1 2 3; do wait_nodes "$i" 4; done
for i in 0 1 2 3; do wait_for 10 epoch_is "$i" 6; done
assert_eq "$(epoch_list 3 6)" "$(list_of "7000 7001 7002 7003" "$w3 0")" "epoch 6: a gateway joined"
head -c 8M /dev/urandom >"$T/g"
dogn 3 vdi write disk 200M 8M <"$T/g" || fail "write through the gateway"
assert_eq "$(dogn 3 vdi read disk 200M 8M | sum)" "$(sum <"$T/g")" "read through the gateway"
assert_eq "$(dogn 0 vdi read disk 200M 8M | sum)" "$(sum <"$T/g")" "read through node 0 of what the gateway wrote"
stored=$(find "$T/3/obj" -type f | grep -E '/[0-9a-f]{16}[^/]*$' || true)
[ -z "$stored" ] || fail "the gateway stores objects: $(echo "$stored" | head -n 3)"
wait_recovered 0
wait_for 60 no_stale
out=$(dogn 3 cluster reweight 2>&1) || fail "reweight through the gateway: $out"
assert_eq "$out" "" "reweight output"
assert_eq "$(epoch_of 0)" "6" "epoch after a reweight with a gateway"

# Tear down for the next cluster.
kill "$(md_sheep_pid)"
stop_sheep 1
stop_sheep 2
stop_sheep 3
wait_for 20 sheep_gone 0
rm -rf "$T/cluster" "$T/r"

# ---- 3. preset capacities, a gateway, a reweight of every node ----
# Fresh directories: the nodes of part 1 keep their config.
P=(129000000 131000000 508000002)
for i in 0 1 2; do
  tmpfs_at "$T/p$i/obj" $(((i + 2) * 100 << 20))
  python3 -c 'import os, struct, sys; os.setxattr(sys.argv[1], "user.md.size", struct.pack("<Q", int(sys.argv[2])))' \
    "$T/p$i/obj" "${P[i]}"
done
start_p() { # start_p N [args]: sheep N in $T/pN (port 700N, zone N)
  local n=$1
  shift
  "$SHEEP" "$T/p$n" -p $((7000 + n)) -z "$n" -c "local:$T/cluster" "$@" || fail "sheep p$n did not start"
  wait_for 20 sheep_listed "$n"
}
p_gone() { ! pgrep -f "^$SHEEP $T/p$1 " >/dev/null && [ -z "$(ss -Hltn "sport = :$((7000 + $1))")" ]; }
stop_p() {
  kill "$(pgrep -f "^$SHEEP $T/p$1 " | head -n 1)"
  wait_for 20 p_gone "$1"
}
for i in 0 1 2; do start_p "$i"; done
for i in 0 1 2; do wait_nodes "$i" 3; done
want=$(vnodes_for "${P[@]}")
assert_eq "$want" "64 66 254" "the formula for ${P[*]}"
assert_eq "$(vnodes_of 0)" "$want" "vnodes from preset capacities (before format)"
dogn 0 cluster format -c 2 >/dev/null </dev/null || fail "format with preset capacities"
assert_eq "$(epoch_list 1 1)" "$(list_of "7000 7001 7002" "$want")" "epoch 1 with preset capacities"

# Not a fixed-vnodes cluster.
rc=0
out=$(dogn 1 node vnodes set 100 2>&1) || rc=$?
assert_eq "$rc: $out" "255: Failed to execute request" "vnodes set on an auto cluster"
assert_eq "$(epoch_of 0)" "1" "epoch after a refused vnodes set"

# A gateway counts for nothing in the average.
start_p 3 -g
for i in 0 1 2 3; do wait_nodes "$i" 4; done
wait_for 10 epoch_is 0 2
assert_eq "$(epoch_list 0 2)" "$(list_of "7000 7001 7002 7003" "$want 0")" "epoch 2: a gateway joined"
rc=0
out=$(dogn 3 node vnodes set 100 2>&1) || rc=$?
assert_eq "$rc: $out" "255: Failed to execute request" "vnodes set on a gateway"

# Config wins over the xattr once the node has started.
stop_p 1
for i in 0 2; do wait_nodes "$i" 3; done
python3 -c 'import os, struct, sys; os.setxattr(sys.argv[1], "user.md.size", struct.pack("<Q", 999999999))' "$T/p1/obj"
start_p 1
for i in 0 1 2 3; do wait_nodes "$i" 4; done
wait_for 10 epoch_is 0 4
assert_eq "$(epoch_list 0 3)" "$(list_of "7000 7002 7003" "$(vnodes_for "${P[0]}" "${P[2]}") 0")" "epoch 3: node 1 left"
assert_eq "$(epoch_list 0 4)" "$(list_of "7000 7001 7002 7003" "$want 0")" "epoch 4: node 1 back, with the space of its config"

# Every space measured again: three changed, three epochs, in node
# order, each with the vnodes of the spaces known by then; the gateway
# is left alone.
out=$(dogn 2 cluster reweight 2>&1) || fail "reweight of preset nodes: $out"
assert_eq "$out" "" "reweight output"
read -r m0 m1 m2 m3 <<<"$(sizes_of 0)"
assert_eq "$m3" "0" "the gateway's size"
assert_eq "$(epoch_of 0)" "7" "epoch after a reweight of three nodes"
assert_eq "$(dogn 0 cluster info -r | awk 'NR > 2 && NR <= 5' | cut -d' ' -f2-)" \
  "7 [$(list_of "7000 7001 7002 7003" "$(vnodes_for "$m0" "$m1" "$m2") 0")]
6 [$(list_of "7000 7001 7002 7003" "$(vnodes_for "$m0" "$m1" "${P[2]}") 0")]
5 [$(list_of "7000 7001 7002 7003" "$(vnodes_for "$m0" "${P[1]}" "${P[2]}") 0")]" \
  "epochs of the reweight (sizes $m0 $m1 $m2)"
assert_eq "$(vnodes_for "$m0" "$m1" "$m2")" "85 128 171" "the formula for sizes $m0 $m1 $m2"
wait_for 10 vnodes_are 3 "85 128 171 0"
out=$(dogn 0 cluster reweight 2>&1) || fail "reweight with nothing changed: $out"
assert_eq "$(epoch_of 0)" "7" "epoch after a reweight with nothing changed"

# The 1% threshold: node 0's filesystem grows by 0.5% (no epoch), then
# by 1.5% of what the cluster knows (one epoch).
mount -o remount,size=201M "$T/p0/obj" || fail "cannot resize the tmpfs of node 0"
out=$(dogn 0 cluster reweight 2>&1) || fail "reweight after +0.5%: $out"
assert_eq "$(epoch_of 0)" "7" "epoch after node 0 grew by 0.5%"
mount -o remount,size=203M "$T/p0/obj" || fail "cannot resize the tmpfs of node 0"
out=$(dogn 1 cluster reweight 2>&1) || fail "reweight after +1.5%: $out"
assert_eq "$(epoch_of 0)" "8" "epoch after node 0 grew by 1.5%"
n0=$(sizes_of 0 | awk '{print $1}')
[ $((n0 - m0)) -eq $((3 << 20)) ] || fail "node 0's size went from $m0 to $n0, not 3 MiB more"
want=$(vnodes_for "$n0" "$m1" "$m2")
assert_eq "$(epoch_list 0 8)" "$(list_of "7000 7001 7002 7003" "$want 0")" "epoch 8 (sizes $n0 $m1 $m2)"

# A restarted node keeps its new space (saved in its config).
stop_p 0
for i in 1 2 3; do wait_nodes "$i" 3; done
start_p 0
for i in 0 1 2 3; do wait_nodes "$i" 4; done
wait_for 10 epoch_is 1 10
assert_eq "$(epoch_list 1 9)" "$(list_of "7001 7002 7003" "$(vnodes_for "$m1" "$m2") 0")" "epoch 9: node 0 left"
assert_eq "$(epoch_list 1 10)" "$(list_of "7000 7001 7002 7003" "$want 0")" "epoch 10: node 0 back with its reweighted space"
wait_for 10 same_history 1 2 3
pass
