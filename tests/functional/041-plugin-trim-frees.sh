#!/bin/bash
# Trim through the plugin unmaps whole objects — they read back as zeros
# and their space is freed — and zeroes partial ranges in place.
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 64M || fail "create"
head -c 32M /dev/urandom >"$T/a"
dogn 0 vdi write disk 0 32M <"$T/a" || fail "write"
data_objects() { ls "$T"/[0-2]/obj | grep -c '^00' || true; }
assert_eq "$(data_objects)" "16" "8 objects x 2 copies"
start_nbdkit "$T/nbd.sock" vdi=disk
# Trim 12 MiB + 1 MiB: three whole objects go, the 4th keeps 3 MiB.
PATH=/usr/bin:$PATH nbdsh -u "nbd+unix:///?socket=$T/nbd.sock" \
  -c 'assert h.can_trim()' -c 'h.trim(13 * 1024 * 1024, 0)' || fail "trim"
assert_eq "$(data_objects)" "10" "after trimming 3 whole objects"
want=$( (head -c 13M /dev/zero; tail -c +$((13 * 1024 * 1024 + 1)) "$T/a") | md5sum | cut -d' ' -f1)
assert_eq "$(dogn 1 vdi read disk 0 32M | md5sum | cut -d' ' -f1)" "$want" "zeros where trimmed"
pass
