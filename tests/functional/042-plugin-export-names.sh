#!/bin/bash
# Without vdi= the plugin serves every VDI by export name and clients can
# list them; a snapshot exported with tag= is read-only and stays as it
# was while the live VDI changes.
source "$(dirname "$0")/lib.sh"
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create alpha 16M || fail "create alpha"
dogn 0 vdi create beta 32M || fail "create beta"
start_nbdkit "$T/all.sock"
list=$(nbdinfo --list --json "nbd+unix:///?socket=$T/all.sock" |
  python3 -c 'import json,sys; print(" ".join(sorted(e["export-name"] for e in json.load(sys.stdin)["exports"])))')
assert_eq "$list" "alpha beta" "exports listed"
assert_eq "$(nbdinfo --size "nbd+unix:///beta?socket=$T/all.sock")" "33554432" "size of beta"
sizes=$(nbdinfo "nbd+unix:///beta?socket=$T/all.sock" | grep -E "block_size_(minimum|preferred|maximum)" | awk '{print $2}' | tr '\n' ' ')
assert_eq "$sizes" "512 4096 4194304 " "block sizes"
head -c 8M /dev/urandom >"$T/a"
nbdcopy "$T/a" "nbd+unix:///alpha?socket=$T/all.sock" || fail "write alpha by export name"
assert_eq "$(dogn 0 vdi read alpha 0 8M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/a" | cut -d' ' -f1)" "alpha's data"
nbdinfo --size "nbd+unix:///missing?socket=$T/all.sock" >/dev/null 2>&1 && fail "a missing VDI was served"

dogn 0 vdi snapshot -s before alpha || fail "snapshot"
start_nbdkit "$T/snap.sock" vdi=alpha tag=before
nbdinfo "nbd+unix:///?socket=$T/snap.sock" | grep -q "is_read_only: true" || fail "snapshot export is writable"
head -c 4M /dev/urandom | dogn 0 vdi write alpha 0 4M || fail "write the live VDI"
nbdcopy "nbd+unix:///?socket=$T/snap.sock" "$T/snap.img" || fail "read the snapshot"
got=$(head -c 8M "$T/snap.img" | md5sum | cut -d' ' -f1)
assert_eq "$got" "$(md5sum <"$T/a" | cut -d' ' -f1)" "snapshot content after the live VDI changed"
pass
