#!/bin/bash
# Space comes back: an object is freed exactly when no live VDI references
# it any more — not while a snapshot or a clone still shares it — and
# deleting every VDI leaves no data object behind.
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
data_objects() { ls "$T"/[0-2]/obj | grep -c '^00' || true; }

dogn 0 vdi create base 64M || fail "create"
head -c 32M /dev/urandom >"$T/a"
dogn 0 vdi write base 0 32M <"$T/a" || fail "write"
assert_eq "$(data_objects)" "16" "8 objects x 2 copies"

dogn 0 vdi snapshot -s snap base || fail "snapshot"
dogn 1 vdi clone -s snap base clone || fail "clone"
head -c 16M /dev/urandom >"$T/b"
dogn 2 vdi write base 0 16M <"$T/b" || fail "overwrite (copy-on-write)"
assert_eq "$(data_objects)" "24" "4 more objects after copy-on-write"

# Deleting the clone frees nothing: the snapshot still holds every block.
dogn 0 vdi delete clone
assert_eq "$(data_objects)" "24" "after deleting the clone"
# Deleting the snapshot frees the 4 blocks only it referenced; the other 4
# are still the working VDI's.
dogn 0 vdi delete -s snap base
assert_eq "$(data_objects)" "16" "after deleting the snapshot"
want=$(cat "$T/b" <(tail -c 16M "$T/a") | md5sum | cut -d' ' -f1)
assert_eq "$(dogn 1 vdi read base 0 32M | md5sum | cut -d' ' -f1)" "$want" "the working VDI's data"
dogn 0 vdi delete base
assert_eq "$(data_objects)" "0" "after deleting every VDI"
assert_eq "$(dogn 0 vdi list -r)" "" "vdi list at the end"
pass
