#!/bin/bash
# Changing a node's disks names directories on its host: MD_PLUG and
# MD_UNPLUG are taken only from this host (DIR/sock, a loopback address)
# or over a connection that proved the cluster key. From another address
# without a key they are refused and nothing is touched; node md info (read
# only) still answers. With a key, the same remote request is accepted.
source "$(dirname "$0")/lib.sh"

# A second address on this (private) network namespace: connections to it
# come from it, not from 127.0.0.1.
ip addr add 10.77.0.1/32 dev lo || fail "cannot add an address"

mkdir -p "$T/victim"
echo precious >"$T/victim/0000000000000001.keep"
start_sheep 0 -b 0.0.0.0 -y 127.0.0.1
dogn 0 cluster format -c 1 >/dev/null || fail "format"

remote() { "$DOG_BIN" "$@" -a 10.77.0.1 -p 7000; }
out=$(remote node md plug -f "$T/d9" 2>&1) && fail "a remote plug was accepted: $out"
assert_eq "$out" "Failed to execute request, look for sheep.log for more information" "remote plug"
[ ! -e "$T/d9" ] || fail "a remote plug made a directory"
grep -q "md plug refused from 10.77.0.1" "$T/0/sheep.log" || fail "the refusal is not logged"
out=$(remote node md unplug -f "$T/0/obj" 2>&1) && fail "a remote unplug was accepted: $out"
out=$(remote node md info -r) || fail "remote md info"
assert_eq "$(echo "$out" | awk '{print $7}')" "$T/0/obj" "remote md info"

# From this host the same request works (and a directory with other
# files is refused even then).
dogn 0 node md plug -f "$T/victim" 2>/dev/null && fail "plugged a directory holding other files"
[ -e "$T/victim/0000000000000001.keep" ] || fail "the refused directory was touched"
dogn 0 node md plug -f "$T/d9" || fail "local plug"
[ "$(dogn 0 node md info -r | wc -l)" -eq 2 ] || fail "two disks after the local plug"
stop_sheep 0

# With a cluster key a remote connection proves it and may plug.
head -c 32 /dev/urandom | base64 >"$T/key"
export SHEEPDOG_AUTH_KEY=$T/key
start_sheep 1 -b 0.0.0.0 -y 127.0.0.1 --auth-key "$T/key"
dogn 1 cluster format -c 1 >/dev/null || fail "keyed format"
"$DOG_BIN" node md plug -f "$T/k9" -a 10.77.0.1 -p 7001 || fail "a remote plug with the key was refused"
[ "$(dogn 1 node md info -r | wc -l)" -eq 2 ] || fail "two disks after the keyed plug"
pass "disk changes only from this host or with the key"
