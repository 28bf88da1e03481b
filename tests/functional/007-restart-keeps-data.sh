#!/bin/bash
# A sheep restarted on its data directory comes back with the same VDIs,
# the same data and the same epoch history, both after SIGTERM and after
# kill -9; a write dog reported as done survives kill -9 at once.
source "$(dirname "$0")/lib.sh"

# A killed sheep's port is released only once every thread of it has
# exited, which can be a moment after pgrep stops listing it.
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "cluster format"
dogn 0 vdi create alpha 1G || fail "vdi create alpha"
dogn 0 vdi create beta 100M || fail "vdi create beta"
head -c 10M /dev/urandom >"$T/a"
head -c 3M /dev/urandom >"$T/b"
dogn 0 vdi write alpha 5M 10M <"$T/a" || fail "write alpha"
dogn 0 vdi write beta 1234 3M <"$T/b" || fail "write beta"
echo -n 'first words' | dogn 0 vdi write alpha 0 11 || fail "write alpha at 0"

list_before=$(dogn 0 vdi list)
info_before=$(dogn 0 cluster info)
info_raw_before=$(dogn 0 cluster info -r)

check_data() {
  assert_eq "$(dogn 0 vdi list)" "$list_before" "vdi list after $1"
  assert_eq "$(dogn 0 cluster info)" "$info_before" "cluster info after $1"
  assert_eq "$(dogn 0 cluster info -r)" "$info_raw_before" "cluster info -r after $1"
  assert_eq "$(dogn 0 vdi read alpha 5M 10M | md5sum)" "$(md5sum <"$T/a")" "alpha data after $1"
  assert_eq "$(dogn 0 vdi read beta 1234 3M | md5sum)" "$(md5sum <"$T/b")" "beta data after $1"
  assert_eq "$(dogn 0 vdi read alpha 0 11)" "first words" "alpha head after $1"
}

stop_sheep 0
wait_for 20 port_free 7000
start_sheep 0
check_data "a SIGTERM restart"
# Writes go on after the restart, to existing and to new blocks.
echo -n 'after restart' | dogn 0 vdi write alpha 11 13 || fail "write after restart"
assert_eq "$(dogn 0 vdi read alpha 0 24)" "first wordsafter restart" "write after restart"
echo -n 'Z' | dogn 0 vdi write alpha 0 1 || fail "write Z"

# kill -9 immediately after dog reports a write: the data was on disk
# before the acknowledgement. Each round writes a new block and an
# existing one.
for i in 1 2 3; do
  head -c 1M /dev/urandom >"$T/k$i"
  off=$((i * 64 * 1048576 + i * 777))
  dogn 0 vdi write alpha $off 1M <"$T/k$i" || fail "write before kill -9 (round $i)"
  echo -n "round $i" | dogn 0 vdi write beta 0 7 || fail "overwrite before kill -9 (round $i)"
  kill9_sheep 0
  wait_for 20 port_free 7000
  start_sheep 0
  assert_eq "$(dogn 0 vdi read alpha $off 1M | md5sum)" "$(md5sum <"$T/k$i")" \
    "acknowledged new block after kill -9 (round $i)"
  assert_eq "$(dogn 0 vdi read beta 0 7)" "round $i" "acknowledged overwrite after kill -9 (round $i)"
done
assert_eq "$(dogn 0 vdi read alpha 0 24)" "Zirst wordsafter restart" "alpha head after kill -9"
assert_eq "$(dogn 0 vdi read alpha 5M 10M | md5sum)" "$(md5sum <"$T/a")" "alpha data after kill -9"
assert_eq "$(dogn 0 vdi read beta 7 $((1234 - 7 + 3145728)) | tail -c 3M | md5sum)" "$(md5sum <"$T/b")" \
  "beta data after kill -9"
# Used grew by the three new blocks; the rest of the listing is the same.
used_alpha() { sed -E 's/^(  alpha +0 +1.0 GB) +[0-9.]+ MB/\1 USED/'; }
assert_eq "$(dogn 0 vdi list | used_alpha)" "$(echo "$list_before" | used_alpha)" "vdi list after kill -9"
assert_eq "$(dogn 0 vdi list alpha | awk 'NR == 2 {print $5, $6}')" "28 MB" "alpha's Used column"
assert_eq "$(dogn 0 vdi list -r alpha | awk '{print $5}')" $((7 * 4194304)) "alpha's used bytes"
assert_eq "$(dogn 0 cluster info)" "$info_before" "cluster info after kill -9"
# The acknowledgement comes only after the data reached the disk: with
# strace on the sheep, a write into an existing block (WRITE_OBJ, reply
# opcode 03) and into a new one (CREATE_AND_WRITE_OBJ, 01) each show a
# successful fsync/fdatasync of the object (or an O_SYNC/O_DSYNC open)
# between the write to the object file and the reply on the socket.
# sync_before_ack TRACE OID OPCODE_OCTAL
sync_before_ack() {
  OID=$2 OP="\\0\\$3\\0\\0" awk '
    BEGIN { oid = ENVIRON["OID"]; op = ENVIRON["OP"] }
    /openat\(/ && index($0, "/obj/" oid) && /O_D?SYNC/ { syncopen = 1 }
    /(pwrite64|pwritev2?|write)\(/ && index($0, "/obj/" oid) { state = syncopen ? 2 : 1 }
    state == 1 && /(fdatasync|fsync)\(/ && index($0, "/obj/" oid) && /= 0$/ { state = 2 }
    state == 1 && /<\.\.\. (fdatasync|fsync) resumed>.*= 0$/ { state = 2 }
    state > 0 && /socket:\[/ && index($0, "\"" op) {
      print (state == 2 ? "synced before ack" : "ack before sync"); found = 1; exit
    }
    END { if (!found) print "no write to " oid " acknowledged in the trace" }' "$1"
}
if command -v strace >/dev/null; then
  strace -f -y -o "$T/trace" -p "$(sheep_pid 0)" \
    -e trace=openat,write,pwrite64,pwritev,pwritev2,fsync,fdatasync,writev,sendmsg,sendto \
    2>"$T/strace.err" &
  strace_pid=$!
  on_exit "kill $strace_pid"
  wait_for 20 grep -q attached "$T/strace.err"
  echo -n 'synced' | dogn 0 vdi write beta 3 6 || fail "write under strace"
  echo -n 'synced' | dogn 0 vdi write beta 50M 6 || fail "write of a new block under strace"
  kill "$strace_pid"
  wait "$strace_pid" || true
  assert_eq "$(sync_before_ack "$T/trace" 004620a700000000 3)" "synced before ack" \
    "WRITE_OBJ acknowledged after the data was synced"
  assert_eq "$(sync_before_ack "$T/trace" 004620a70000000c 1)" "synced before ack" \
    "CREATE_AND_WRITE_OBJ acknowledged after the data was synced"
  assert_eq "$(dogn 0 vdi read beta 3 6)$(dogn 0 vdi read beta 50M 6)" "syncedsynced" "writes under strace"
else
  echo "strace is not installed: skipping the sync-before-ack check" >&2
fi
pass
