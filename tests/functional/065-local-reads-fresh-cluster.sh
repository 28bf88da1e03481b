#!/bin/bash
# On a cluster just formatted (no epoch change since), the read lease is
# offered at once: a plugin on the sheep's socket reads its object files
# itself (every file is known current from the format on).
source "$(dirname "$0")/lib.sh"

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null </dev/null || fail "format"
dogn 0 vdi create disk 32M || fail "create"
head -c 32M /dev/urandom >"$T/a"
dogn 0 vdi write disk 0 32M <"$T/a" || fail "write"
LD_PRELOAD="$(nbdkit_preload)" nbdkit -v -U "$T/local.sock" -P "$T/local.pid" "$PLUGIN" \
  vdi=disk socket="$T/0/sock" 2>"$T/local.log" &
on_exit "kill \$(cat $T/local.pid) 2>/dev/null"
wait_for 20 test -S "$T/local.sock"
wait_for 20 grep -q "local reads on" "$T/local.log"
assert_eq "$(nbdcopy "nbd+unix:///?socket=$T/local.sock" - | md5sum | cut -d' ' -f1)" \
  "$(md5sum <"$T/a" | cut -d' ' -f1)" "data"
kill "$(cat "$T/local.pid")"
wait_for 20 grep -q "local reads:" "$T/local.log"
stats=$(grep "local reads:" "$T/local.log")
[[ $stats =~ local\ reads:\ ([0-9]+), ]] || fail "unexpected statistics line: $stats"
[ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no read was local on a fresh cluster: $stats"
pass "$stats"
