#!/bin/bash
# Erasure coding, 4:2 on six sheep: a sheep killed (-9), the VDI rewritten
# while it is away, then the sheep back with its old strips. Its strips
# missed the writes: they must never be read as current (reads return the
# new data at every step, also with two other sheep killed right after it
# returns), recovery rebuilds them, placement ends exact and dog vdi check
# finds nothing to repair.
source "$(dirname "$0")/lib.sh"

start_cluster 6
dogn 0 cluster format -c 4:2 >/dev/null || fail "format -c 4:2"
dogn 0 vdi create e 16M || fail "create"
head -c 16M /dev/urandom >"$T/old"
dogn 0 vdi write e 0 16M <"$T/old" || fail "first write"
kill9_sheep 2
for i in 0 1 3 4 5; do wait_nodes "$i" 5; done
head -c 16M /dev/urandom >"$T/new"
dogn 1 vdi write e 0 16M <"$T/new" || fail "write while sheep 2 is away"
assert_eq "$(dogn 3 vdi read e | md5sum)" "$(md5sum <"$T/new")" "read with sheep 2 away"
start_sheep 2
for i in 0 1 2 3 4 5; do wait_nodes "$i" 6; done
assert_eq "$(dogn 2 vdi read e | md5sum)" "$(md5sum <"$T/new")" "read through the returned sheep"
# Two others gone at once: the decode must not use sheep 2's old strips.
kill9_sheep 4
kill9_sheep 5
for i in 0 1 2 3; do wait_nodes "$i" 4; done
assert_eq "$(dogn 0 vdi read e | md5sum)" "$(md5sum <"$T/new")" "read with two more sheep gone"
wait_recovered 0
assert_eq "$(dogn 2 vdi read e | md5sum)" "$(md5sum <"$T/new")" "after recovery"
start_sheep 4
start_sheep 5
for i in 0 1 2 3 4 5; do wait_nodes "$i" 6; done
wait_recovered 0
dogn 0 vdi check e >"$T/check" 2>&1 || fail "vdi check"
assert_eq "$(cat "$T/check")" "finish check&repair e" "nothing to repair"
assert_eq "$(dogn 5 vdi read e | md5sum)" "$(md5sum <"$T/new")" "at the end"
pass
