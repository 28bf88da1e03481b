#!/bin/bash
# Snapshots, clones, copy-on-write, trim, backup/restore and rollback of
# an erasure-coded VDI (2:1 on three sheep): a clone shares the strips
# until written, the first write of a clone copies one object as strips,
# a trim through the plugin removes every strip of the objects it covers,
# an incremental backup restores identical data, a rollback brings the
# snapshot back, and deleting everything leaves no strip behind.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 2:1 >/dev/null || fail "format -c 2:1"
strip_files() { ls "$T"/[0-2]/obj | grep -c '^00.*_[0-2]$' || true; }
dogn 0 vdi create golden 32M || fail "create"
head -c 32M /dev/urandom >"$T/g"
dogn 0 vdi write golden 0 32M <"$T/g" || fail "write"
assert_eq "$(strip_files)" "24" "8 objects x 3 strips"
dogn 0 vdi snapshot -s base golden || fail "snapshot"
dogn 1 vdi clone -s base golden vm || fail "clone"
assert_eq "$(dogn 0 vdi list -r vm | awk '{print $9}')" "2:1" "a clone keeps the shape"
assert_eq "$(strip_files)" "24" "the clone shares every strip"
assert_eq "$(dogn 2 vdi read vm | md5sum)" "$(md5sum <"$T/g")" "clone content"
echo -n changed | dogn 2 vdi write vm 100 7 || fail "write vm"
assert_eq "$(strip_files)" "27" "copy-on-write made one object's 3 strips"
assert_eq "$(dogn 0 vdi read vm 100 7)" "changed" "the clone's write"
assert_eq "$(dogn 0 vdi read golden | md5sum)" "$(md5sum <"$T/g")" "golden unchanged"
assert_eq "$(dogn 1 vdi read vm 0 100 | md5sum)" "$(head -c 100 "$T/g" | md5sum)" "bytes before the write copied"

# Backup between two snapshots, restored onto a clone.
head -c 4M /dev/urandom >"$T/c"
dogn 0 vdi write golden 8M 4M <"$T/c" || fail "change golden"
dogn 0 vdi snapshot -s daily golden || fail "second snapshot"
dogn 0 vdi backup -F base -s daily golden >"$T/diff" || fail "backup"
dogn 0 vdi clone -s base golden copy || fail "clone for restore"
dogn 0 vdi snapshot -s base copy || fail "snapshot the copy"
dogn 0 vdi restore -s base copy <"$T/diff" || fail "restore"
assert_eq "$(dogn 1 vdi read -s 2 copy | md5sum)" "$(dogn 2 vdi read -s daily golden | md5sum)" "restored data"

# Rollback.
dogn 0 vdi rollback -f -s base golden || fail "rollback"
assert_eq "$(dogn 0 vdi read golden | md5sum)" "$(md5sum <"$T/g")" "data after rollback"

# A trim through the plugin frees whole objects' strips.
dogn 0 vdi create t 16M || fail "create t"
head -c 16M /dev/urandom | dogn 0 vdi write t 0 16M || fail "write t"
before=$(strip_files)
start_nbdkit "$T/nbd.sock" vdi=t port=7001
nbdsh_trim() {
  PATH=/usr/bin:$PATH /usr/bin/python3 -c "
import nbd
h = nbd.NBD(); h.connect_uri('nbd+unix:///?socket=$T/nbd.sock')
h.trim(4 << 20, 8 << 20); h.flush(); h.shutdown()  # count, offset"
}
nbdsh_trim || fail "trim"
freed() { [ "$(strip_files)" = "$((before - 3))" ]; }
wait_for 20 freed || fail "the trimmed object's strips: $(strip_files) files, $before before"
dogn 0 vdi read t 8M 4M | cmp -s - <(head -c 4M /dev/zero) || fail "the trimmed range is not zeros"
kill "$(cat "$T/nbdkit.nbd.sock.pid")"
wait_for 20 sh -c "! kill -0 $(cat "$T/nbdkit.nbd.sock.pid") 2>/dev/null"

# Deleting every VDI frees every strip.
for v in "vm" "copy" "t"; do dogn 0 vdi delete "$v" || fail "delete $v"; done
for s in 2 1; do dogn 0 vdi delete -s "$s" copy 2>/dev/null || true; done
dogn 0 vdi delete golden || fail "delete golden"
for s in base daily; do dogn 0 vdi delete -s "$s" golden || fail "delete golden@$s"; done
no_strips() { [ "$(strip_files)" = 0 ]; }
wait_for 30 no_strips || fail "strips left: $(ls "$T"/[0-2]/obj | grep '_[0-2]$' | head)"
pass
