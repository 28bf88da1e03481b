#!/bin/bash
# Local reads: a plugin connected to a sheep's unix socket reads that
# sheep's object files itself while the sheep's read lease allows, and never
# returns data older than the sheep would: writes made through another node
# are seen at once, nothing is read from a dead sheep's files, and after the
# sheep rejoins (its old copies retired) reads return what was written while
# it was away.
source "$(dirname "$0")/lib.sh"

md5() { md5sum | cut -d' ' -f1; }
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"  # some objects not on node 0
dogn 0 vdi create disk 64M || fail "vdi create"
start_nbdkit "$T/remote.sock" vdi=disk port=7001
local_uri="nbd+unix:///?socket=$T/local.sock"
remote_uri="nbd+unix:///?socket=$T/remote.sock"

head -c 64M /dev/urandom >"$T/a"
nbdcopy "$T/a" "$remote_uri" || fail "write through node 1"
# (Started after the first write: a plugin learns a VDI's allocation map
# when it opens it; later overwrites do not change the map.)
# nbdkit -v stays in the foreground and logs the plugin's debug lines.
LD_PRELOAD="$(nbdkit_preload)" nbdkit -v -U "$T/local.sock" -P "$T/local.pid" "$PLUGIN" \
  vdi=disk socket="$T/0/sock" readonly=true 2>"$T/local.log" &
on_exit "kill \$(cat $T/local.pid) 2>/dev/null"
wait_for 20 test -S "$T/local.sock"
wait_for 20 grep -q "local reads on" "$T/local.log"  # logged once nbdkit is in the background
assert_eq "$(nbdcopy "$local_uri" - | md5)" "$(md5 <"$T/a")" "read through node 0's files"

# Overwrites through another node show at once in local reads.
head -c 64M /dev/urandom >"$T/b"
nbdcopy "$T/b" "$remote_uri" || fail "overwrite through node 1"
assert_eq "$(nbdcopy "$local_uri" - | md5)" "$(md5 <"$T/b")" "local read after an overwrite"

# The sheep dies: its files are not served any more.
kill9_sheep 0
wait_nodes 1 2
if nbdcopy "$local_uri" - >/dev/null 2>&1; then
  fail "reads succeeded from a dead sheep's object files"
fi
head -c 64M /dev/urandom >"$T/c"
nbdcopy "$T/c" "$remote_uri" || fail "write while node 0 is away"

# Back: its old copies are retired, reads are current again.
start_sheep 0
for i in 0 1 2; do wait_nodes "$i" 3; done
read_current() { [ "$(nbdcopy "$local_uri" - 2>/dev/null | md5)" = "$(md5 <"$T/c")" ]; }
wait_for 30 read_current
wait_recovered 0
assert_eq "$(nbdcopy "$local_uri" - | md5)" "$(md5 <"$T/c")" "local read after recovery"

# Both paths were used: local reads, and reads of objects node 0 lacks.
kill "$(cat "$T/local.pid")"
wait_for 20 grep -q "local reads:" "$T/local.log"
stats=$(grep "local reads:" "$T/local.log") || fail "no read statistics in the plugin's log"
[[ $stats =~ local\ reads:\ ([0-9]+),\ reads\ through\ the\ sheep\ instead:\ ([0-9]+) ]] ||
  fail "unexpected statistics line: $stats"
[ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no read was local: $stats"
[ "${BASH_REMATCH[2]}" -gt 0 ] || fail "every read was local, even of objects node 0 lacks: $stats"
pass "$stats"
