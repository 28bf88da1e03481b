#!/bin/bash
# One writer per VDI: a second writable nbdkit on the same VDI, through
# the same or another sheep, is refused at start-up with who holds it and
# how to break it; the first keeps working and the data stays intact.
# Read-only exports (a snapshot, readonly=true) run beside the writer.
# dog vdi lock list shows the lock; unlock breaks it; kill -9 of the
# writer releases it.
source "$(dirname "$0")/lib.sh"
start_sheep 0
start_sheep 1
wait_nodes 0 2
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 64M || fail "create"
start_nbdkit "$T/w1.sock" vdi=disk
head -c 8M /dev/urandom >"$T/a"
nbdcopy "$T/a" "nbd+unix:///?socket=$T/w1.sock" || fail "first writer"

# The lock table, as upstream's dog prints it.
vid=$(dogn 0 vdi list -r disk | awk '{print $8}')
expect=$(printf '  Name         Id  VDI id  Tag            Owner node(s)\n%c %-8s  %5u  %6s  %-13s  %s' \
  ' ' disk 0 "$vid" '' 'IPv4 ip:127.0.0.1 port:7000')
assert_eq "$(dogn 1 vdi lock list)" "$expect" "lock list on the other node"

# A second writer, through either sheep, is refused at start-up.
for port in 7000 7001; do
  if LD_PRELOAD="$(nbdkit_preload)" timeout 60 nbdkit -U "$T/w2.sock" "$PLUGIN" vdi=disk port=$port \
    2>"$T/w2.err"; then
    fail "a second writer started through port $port"
  fi
  grep -q "VDI 'disk' is locked by a client of the sheep at IPv4 ip:127.0.0.1 port:7000 since 20" "$T/w2.err" ||
    { cat "$T/w2.err" >&2; fail "refusal message through port $port"; }
  grep -q "dog vdi lock unlock disk" "$T/w2.err" || fail "the refusal says how to break the lock"
done

# Read-only exports beside the writer: readonly=true and a snapshot.
start_nbdkit "$T/ro.sock" vdi=disk readonly=true port=7001
nbdinfo "nbd+unix:///?socket=$T/ro.sock" | grep -q "is_read_only: true" || fail "readonly=true is writable"
nbdcopy "nbd+unix:///?socket=$T/ro.sock" "$T/ro.img" || fail "read beside the writer"
assert_eq "$(head -c 8M "$T/ro.img" | md5sum)" "$(md5sum <"$T/a")" "read-only export's data"
dogn 0 vdi snapshot -s snap disk || fail "snapshot"
start_nbdkit "$T/snap.sock" vdi=disk tag=snap
nbdinfo "nbd+unix:///?socket=$T/snap.sock" | grep -q "is_read_only: true" || fail "snapshot export is writable"

# The snapshot moved the lock to the new working VDI; the writer goes on.
newvid=$(dogn 0 vdi list -r disk | awk '$1 == "=" {print $8}')
dogn 0 vdi lock list | grep -q "^  disk          0  *$newvid .*port:7000$" || fail "lock after the snapshot: $(dogn 0 vdi lock list)"
head -c 4M /dev/urandom >"$T/b"
nbdcopy "$T/b" "nbd+unix:///?socket=$T/w1.sock" || fail "first writer after the refusals"
assert_eq "$(dogn 1 vdi read disk 0 4M | md5sum)" "$(md5sum <"$T/b")" "the writer's data"

# dog vdi lock unlock breaks it; unlocking again says it is not locked.
dogn 1 vdi lock unlock disk || fail "unlock"
assert_eq "$(dogn 0 vdi lock list)" "  Name         Id  VDI id  Tag            Owner node(s)" "list after unlock"
out=$(dogn 0 vdi lock unlock disk 2>&1) && fail "unlocking an unlocked VDI succeeded"
assert_eq "$out" "VDI disk (vid=$newvid) is not locked" "unlock message"

# The writer's next write takes the lock again? No: its connection still
# holds nothing, so a new writer may now start ...
kill "$(cat "$T/nbdkit.w1.sock.pid")"
wait_for 20 sh -c "! kill -0 $(cat "$T/nbdkit.w1.sock.pid")"
start_nbdkit "$T/w3.sock" vdi=disk port=7001
dogn 0 vdi lock list | grep -q "port:7001$" || fail "new writer's lock"
# ... and kill -9 of it releases its lock within seconds.
kill -9 "$(cat "$T/nbdkit.w3.sock.pid")"
unlocked() { [ "$(dogn 0 vdi lock list | wc -l)" -eq 1 ]; }
wait_for 10 unlocked
start_nbdkit "$T/w4.sock" vdi=disk
nbdcopy "$T/a" "nbd+unix:///?socket=$T/w4.sock" || fail "writer after kill -9"
assert_eq "$(dogn 1 vdi read disk 0 8M | md5sum)" "$(md5sum <"$T/a")" "data after the hand-over"
pass
