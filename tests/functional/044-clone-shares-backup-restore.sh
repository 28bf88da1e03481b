#!/bin/bash
# A clone of a 1 GiB image shares every object until written (objects on
# disk are counted), and an incremental backup between two snapshots
# restores to identical data.
source "$(dirname "$0")/lib.sh"
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"
data_objects() { ls "$T/0/obj" | grep -c '^00' || true; }
dogn 0 vdi create golden 1G || fail "create"
head -c 64M /dev/urandom >"$T/g"
dogn 0 vdi write golden 0 64M <"$T/g" || fail "write"
dogn 0 vdi snapshot -s base golden || fail "snapshot"
for c in vm1 vm2 vm3; do dogn 0 vdi clone -s base golden "$c" || fail "clone $c"; done
assert_eq "$(data_objects)" "16" "clones share every object"
assert_eq "$(dogn 0 vdi read vm2 0 64M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/g" | cut -d' ' -f1)" "clone content"
echo -n changed | dogn 0 vdi write vm1 0 7 || fail "write vm1"
assert_eq "$(data_objects)" "17" "one object copied on the first write"
assert_eq "$(dogn 0 vdi read golden 0 7)" "$(head -c 7 "$T/g")" "golden unchanged"

# Backup of what changed between two snapshots, restored onto another VDI.
head -c 8M /dev/urandom >"$T/c"
dogn 0 vdi write golden 4M 8M <"$T/c" || fail "change golden"
dogn 0 vdi snapshot -s daily golden || fail "second snapshot"
dogn 0 vdi backup -F base -s daily golden >"$T/diff" || fail "backup"
dogn 0 vdi clone -s base golden copy || fail "clone for restore"
dogn 0 vdi snapshot -s base copy || fail "snapshot the copy"
dogn 0 vdi restore -s base copy <"$T/diff" || fail "restore"
# As upstream, the restored state is a new snapshot (id 2 of copy); the
# working VDI starts again from its parent.
assert_eq "$(dogn 0 vdi read -s 2 copy 0 64M | md5sum | cut -d' ' -f1)" \
  "$(dogn 0 vdi read -s daily golden 0 64M | md5sum | cut -d' ' -f1)" "restored data"
assert_eq "$(dogn 0 vdi read copy 0 64M | md5sum | cut -d' ' -f1)" \
  "$(dogn 0 vdi read -s base copy 0 64M | md5sum | cut -d' ' -f1)" "working VDI after the restore"

# Rollback to the first snapshot, then grow; shrinking is refused.
dogn 0 vdi rollback -f -s base golden || fail "rollback"
assert_eq "$(dogn 0 vdi read golden 0 64M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/g" | cut -d' ' -f1)" "data after rollback"
dogn 0 vdi resize golden 2G || fail "resize"
assert_eq "$(dogn 0 vdi list -r golden | awk '$1 == "=" {print $4}')" "2147483648" "size after resize"
out=$(dogn 0 vdi resize golden 1G 2>&1; echo "[exit $?]")
assert_eq "$(printf '%s\n' "$out" | sed -n '1p;$p')" "Shrinking VDIs is not implemented
[exit 64]" "shrink refused"
pass
