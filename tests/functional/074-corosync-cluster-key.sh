#!/bin/bash
# Three hosts with corosync and one cluster key, configured as the README
# recommends: knet encrypts and authenticates with its own authkey, and the
# sheep's cluster key covers every record between them. The sheep form the
# cluster and replicate between hosts (every peer connection proves the
# key), dog and the plugin work with the key. A process on a corosync host
# that is not a sheep (cpg-forge) joins the group and tries: a JOIN without
# the key (refused, never listed), a lock release in a member's name
# (dropped: corosync says who really sent it), a member's record replayed
# (dropped). The same sheep restarted with a wrong key is refused by the
# others and leaves; back with the right key it rejoins and recovers.
source "$(dirname "$0")/lib.sh"
head -c 32 /dev/urandom | base64 >"$T/key"
head -c 32 /dev/urandom | base64 >"$T/wrong"
export SHEEPDOG_AUTH_KEY=$T/key
COROSYNC_CRYPTO=1 HOST_SHEEP_ARGS="--auth-key $T/key" start_corosync_hosts 3
for i in 1 2 3; do
  grep -q "crypto_nss.so has been loaded" "$T/coro$i/corosync.log" || fail "corosync $i runs without crypto"
done
host_dog 1 cluster format -c 3 >/dev/null || fail "format"
host_dog 2 vdi create disk 32M || fail "create"
head -c 16M /dev/urandom >"$T/d"
preload=$(nbdkit_preload)
on_host 1 env LD_PRELOAD="$preload" nbdkit -U "$T/h1.sock" -P "$T/h1.pid" "$PLUGIN" \
  vdi=disk address=10.77.0.1 auth-key="$T/key" || fail "nbdkit on host 1"
on_exit "kill \$(cat $T/h1.pid)"
wait_for 20 test -S "$T/h1.sock"
nbdcopy "$T/d" "nbd+unix:///?socket=$T/h1.sock" || fail "write through host 1"
assert_eq "$(host_dog 3 vdi read disk 0 16M | md5sum)" "$(md5sum <"$T/d")" "read through host 3"
out=$(env -u SHEEPDOG_AUTH_KEY ip netns exec sdh-2 "$DOG_BIN" node list -a 10.77.0.3 2>&1) &&
  fail "dog without the key was served: $out"
[[ $out == *"Authentication required"* ]] || fail "dog without the key: $out"

# A non-sheep process in the corosync group.
on_host 1 "$CPG_FORGE" join 10.77.0.9 7000 >/dev/null || fail "cpg-forge join"
vid=$(host_dog 1 vdi list -r disk | awk '{print $8}')
sheep2="2:$(pgrep -f "^$SHEEP $T/h2 " | head -n 1)"
# A lock release in sheep 2's name (this layout and the one before tokens).
read -r release release_old < <(python3 -c '
import struct, sys
vid = int(sys.argv[1], 16)
nid = bytes(12) + bytes([10, 77, 0, 2]) + struct.pack("<H", 7000) + bytes(22)
body = struct.pack("<IBBBB", vid, 0, 0, 0, 0) + nid
print((struct.pack("<II", 10, 999) + body + struct.pack("<QQQ", 1, 0, 0)).hex(),
      (struct.pack("<II", 10, 998) + body + struct.pack("<QQ", 1, 0)).hex())' "$vid")
on_host 3 "$CPG_FORGE" msg "$sheep2" "$release" >/dev/null || fail "cpg-forge msg"
on_host 3 "$CPG_FORGE" msg "$sheep2" "$release_old" >/dev/null || fail "cpg-forge msg (old layout)"
# A member's record, sent again by someone else.
on_host 2 "$CPG_FORGE" replay >"$T/replay.out" 2>&1 &
replayer=$!
wait_for 10 grep -q "^joined" "$T/replay.out"
host_dog 2 vdi create probe 4M || fail "create probe"
wait $replayer || fail "cpg-forge replay: $(cat "$T/replay.out")"
host_dog 3 vdi create probe2 4M || fail "create after the forgeries"
for i in 1 2 3; do
  wait_for 10 sh -c "ip netns exec sdh-$i '$DOG_BIN' vdi list -r -a 10.77.0.$i | grep -q ' probe2 '"
  host_nodes_are "$i" 3 || fail "host $i lists $(host_dog "$i" node list -r | wc -l) nodes"
  host_dog "$i" node list -r | grep -q "10.77.0.9" && fail "host $i lists the forged node"
  host_dog "$i" vdi lock list | grep -q " disk " || fail "host $i dropped the writer's lock"
done
grep -q "claims to come from $sheep2" "$T"/h*/sheep.log || fail "no sheep logged the forged sender"
grep -q "refused a join from 1:[0-9]*: the joining node 10.77.0.9:7000 does not hold the cluster key" \
  "$T"/h*/sheep.log || fail "the master did not log the refused join"
dd if="$T/d" bs=1M count=1 2>/dev/null | nbdcopy - "nbd+unix:///?socket=$T/h1.sock" ||
  fail "the writer after the forgeries"

# Host 3's sheep comes back with the wrong key: refused, it leaves.
pkill -f "^$SHEEP $T/h3 " || fail "stop sheep 3"
wait_for 20 host_sheep_gone 3
wait_for 30 host_nodes_are 1 2
on_host 3 "$SHEEP" "$T/h3" -p 7000 -z 3 -c corosync -b 10.77.0.3 -y 10.77.0.3 \
  --auth-key "$T/wrong" || fail "sheep 3 start"
wait_for 30 host_sheep_gone 3
grep -q "does not hold the cluster key" "$T/h3/sheep.log" || fail "wrong-key sheep's log"
grep -q "10.77.0.3:7000 does not hold the cluster key" "$T/h1/sheep.log" || fail "the master's log"
host_nodes_are 1 2 || fail "the wrong-key sheep stayed"
assert_eq "$(host_dog 2 vdi read disk 0 16M | md5sum)" "$(md5sum <"$T/d")" "data with two hosts"

# With the right key it rejoins and its copies are current again.
start_host_sheep 3 --auth-key "$T/key"
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
assert_eq "$(host_dog 3 vdi read disk 0 16M | md5sum)" "$(md5sum <"$T/d")" "read through host 3 after the rejoin"
pass
