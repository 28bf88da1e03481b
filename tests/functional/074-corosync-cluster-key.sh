#!/bin/bash
# Three hosts with corosync and one cluster key: the sheep form the cluster
# and replicate between hosts (every peer connection proves the key), dog
# and the plugin work with the key; the same sheep restarted with a wrong
# key is refused by the others and leaves; back with the right key it
# rejoins and recovers.
source "$(dirname "$0")/lib.sh"
head -c 32 /dev/urandom | base64 >"$T/key"
head -c 32 /dev/urandom | base64 >"$T/wrong"
export SHEEPDOG_AUTH_KEY=$T/key
HOST_SHEEP_ARGS="--auth-key $T/key" start_corosync_hosts 3
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
