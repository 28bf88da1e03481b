#!/bin/bash
# The plugin's read connections (connections=N): reads that go through the
# sheep are spread over up to N connections of their own besides the
# shared one and the lock's (counted on the sheep's side with ss), the
# bytes read under many parallel requests are the bytes written, and when
# the sheep restarts under a running nbdkit every connection comes back
# by itself: the first reads after it succeed (a read that meets a closed
# connection is sent again on a new one), writes too (the lock's path).
# connections=1 keeps one shared connection (bad values: test 008). Direct
# I/O is off here: its connections to each node (test 103) would count too.
source "$(dirname "$0")/lib.sh"

start_sheep 0
dog cluster format -c 1 </dev/null >/dev/null
dog vdi create disk 64M
head -c $((64 << 20)) /dev/urandom >"$T/image"
want=$(sum <"$T/image")

# conns_of PIDFILE: established TCP connections of that nbdkit to port 7000.
conns_of() {
  local pid
  pid=$(cat "$1")
  ss -Htnp state established "dport = :7000" | grep -c "pid=$pid," || true
}

start_nbdkit "$T/rw.sock" vdi=disk address=127.0.0.1 port=7000 connections=4 direct=false
nbdcopy "$T/image" "nbd+unix:///?socket=$T/rw.sock" || fail "nbdcopy into the VDI"
# 64 requests in flight over one NBD connection: nbdkit's 16 threads all read.
nbdcopy --requests=64 --request-size=65536 "nbd+unix:///?socket=$T/rw.sock" "$T/back" ||
  fail "nbdcopy out of the VDI"
assert_eq "$(sum <"$T/back")" "$want" "bytes read back over the pool"
# The shared connection, the lock's, and 4 read connections (16 threads,
# each of the 4 slots taken by some thread after that many reads).
n=$(conns_of "$T/nbdkit.rw.sock.pid")
assert_eq "$n" 6 "connections of nbdkit with connections=4"
pass "reads spread over 4 connections of their own"

# The sheep restarts under the running nbdkit: the read connections
# reconnect by themselves, the lock's connection takes the lock up again.
stop_sheep 0
start_sheep 0
# Each connection finds its socket closed on its first call, and a read
# is sent once more on a new connection: the first copy already succeeds.
nbdcopy --requests=64 "nbd+unix:///?socket=$T/rw.sock" "$T/back2" || fail "read after the restart"
assert_eq "$(sum <"$T/back2")" "$want" "bytes read back after the sheep restarted"
head -c 1M /dev/urandom >"$T/patch"
nbdcopy "$T/patch" "nbd+unix:///?socket=$T/rw.sock" || fail "write after the restart"
dd if="$T/patch" of="$T/image" conv=notrunc status=none
nbdcopy --requests=64 "nbd+unix:///?socket=$T/rw.sock" "$T/back3" || fail "read after the write"
assert_eq "$(sum <"$T/back3")" "$(sum <"$T/image")" "bytes after a write once the sheep restarted"
# Connections are made again only by the calls that need them: never
# more than before.
n=$(conns_of "$T/nbdkit.rw.sock.pid")
[ "$n" -ge 2 ] && [ "$n" -le 6 ] || fail "nbdkit has $n connections to the sheep after its restart"
pass "the connections came back after the sheep restarted"

# connections=1: only the shared connection (read-only export: no lock).
start_nbdkit "$T/one.sock" vdi=disk address=127.0.0.1 port=7000 connections=1 readonly=true direct=false
nbdcopy --requests=64 "nbd+unix:///?socket=$T/one.sock" "$T/back4" || fail "read with connections=1"
assert_eq "$(sum <"$T/back4")" "$(sum <"$T/image")" "bytes read with connections=1"
assert_eq "$(conns_of "$T/nbdkit.one.sock.pid")" 1 "connections of nbdkit with connections=1"
pass "connections=1 keeps one connection"
