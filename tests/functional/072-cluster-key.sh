#!/bin/bash
# With a cluster key (sheep --auth-key FILE) no request from a connection
# that has not proved the key runs: dog without the key is refused, raw
# SHUTDOWN / REMOVE_OBJ / random requests change nothing, sheep with the
# key form the cluster, a sheep with a wrong key or none is refused with a
# clear log line, and dog and the plugin work with the key. DIR/sock is
# trusted by its permissions.
source "$(dirname "$0")/lib.sh"
head -c 32 /dev/urandom | base64 >"$T/key"
head -c 32 /dev/urandom | base64 >"$T/wrong"
export SHEEPDOG_AUTH_KEY=$T/key
for n in 0 1 2; do start_sheep $n --auth-key "$T/key"; done
wait_nodes 0 3
grep -q "authentication on: every TCP connection must prove the cluster key" "$T/0/sheep.log" ||
  fail "start-up log says authentication is on"
dogn 0 cluster format -c 3 >/dev/null || fail "format with the key"
dogn 0 vdi create disk 16M || fail "create"
head -c 4M /dev/urandom >"$T/a"
dogn 1 vdi write disk 0 4M <"$T/a" || fail "write with the key"
assert_eq "$(stat -c %a "$T/0/sock")" "600" "DIR/sock permissions"

# dog without the key, and with the wrong one.
out=$(SHEEPDOG_AUTH_KEY= env -u SHEEPDOG_AUTH_KEY "$DOG_BIN" node list -p 7000 2>&1) && fail "dog without the key worked"
[[ $out == *"Authentication required"* ]] || fail "dog without the key: $out"
out=$("$DOG_BIN" node list -p 7000 --auth-key "$T/wrong" 2>&1) && fail "dog with a wrong key worked"
[[ $out == *"refused our cluster key"* ]] || fail "dog with a wrong key: $out"
grep -q "authentication failed: the connection from 127.0.0.1:[0-9]* does not hold the cluster key" "$T/0/sheep.log" ||
  fail "the sheep logs the failed authentication"

# Raw requests without the key: SHUTDOWN, KILL_NODE, REMOVE_OBJ of the inode, DEL_VDI.
raw() { /usr/bin/python3 "$(dirname "$0")/helpers/rawclient.py" "$@"; }
vid=$(dogn 0 vdi list -r disk | awk '{print $8}')
inode=$(printf '0x80%06x00000000' "0x$vid")
for port in 7000 7001; do
  out=$(raw $port req op=0x85)
  [[ $out == *"result=0xa0"* ]] || fail "unauthenticated SHUTDOWN: $out"
  out=$(raw $port req op=0x9a)
  [[ $out == *"result=0xa0"* ]] || fail "unauthenticated KILL_NODE: $out"
  out=$(raw $port req op=0x04 oid=$inode)
  [[ $out == *"result=0xa0"* ]] || fail "unauthenticated REMOVE_OBJ: $out"
  out=$(raw $port req op=0x17 flags=1 payload=name:disk:256)
  [[ $out == *"result=0xa0"* ]] || fail "unauthenticated DEL_VDI: $out"
done
seen=$(/usr/bin/python3 "$(dirname "$0")/helpers/random_requests.py" 7000 3000 7)
[[ $seen == *"0xa0:"* ]] || fail "random requests: $seen"
# Only the handshake's first step (AUTH_CHALLENGE, 0xe2) may succeed.
[[ $(echo "$seen" | tr ' ' '\n' | grep ok-op | grep -v ok-op-0xe2) == "" ]] ||
  fail "a random unauthenticated request succeeded: $seen"
nodes_are 0 3 || fail "a node went away"
assert_eq "$(dogn 2 vdi read disk 0 4M | md5sum)" "$(md5sum <"$T/a")" "data after the raw requests"
dogn 0 vdi list -r disk | grep -q " disk " || fail "the VDI is gone"

# Peers: a wrong key and no key are refused at the join, with a log line.
start_bad() {
  "$SHEEP" "$T/$1" -p $((7000 + $1)) -z "$1" -c "local:$T/cluster" "${@:2}" || fail "sheep $1 start"
  wait_for 20 sheep_gone "$1"
}
start_bad 3 --auth-key "$T/wrong"
grep -q "does not hold the cluster key" "$T/3/sheep.log" || fail "wrong-key peer's log: $(tail -3 "$T/3/sheep.log")"
grep -q "failed to join Sheepdog" "$T/3/sheep.log" || fail "wrong-key peer did not say it failed to join"
grep -q "refused a join from .*: the joining node 127.0.0.1:7003 does not hold the cluster key" "$T/0/sheep.log" ||
  fail "the master logs the refusal"
start_bad 4
grep -q "does not hold the cluster key" "$T/4/sheep.log" || fail "keyless peer's log"
nodes_are 0 3 || fail "a refused peer stayed"

# The plugin: refused without the key, works with it and on DIR/sock.
if LD_PRELOAD="$(nbdkit_preload)" timeout 60 nbdkit -U "$T/x.sock" "$PLUGIN" vdi=disk \
  2>"$T/x.err" </dev/null; then
  # (the default key file may exist on this machine; SHEEPDOG_AUTH_KEY is dog's)
  fail "the plugin started without the key"
fi
grep -q "Authentication required" "$T/x.err" || fail "plugin without the key: $(cat "$T/x.err")"
start_nbdkit "$T/p.sock" vdi=disk auth-key="$T/key" port=7002
nbdcopy "nbd+unix:///?socket=$T/p.sock" "$T/p.img" || fail "read through the plugin with the key"
assert_eq "$(head -c 4M "$T/p.img" | md5sum)" "$(md5sum <"$T/a")" "plugin data"
start_nbdkit "$T/u.sock" vdi=disk readonly=true socket="$T/1/sock"
nbdinfo --size "nbd+unix:///?socket=$T/u.sock" >/dev/null || fail "DIR/sock without a key"
pass
