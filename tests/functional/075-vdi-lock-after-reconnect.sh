#!/bin/bash
# A writer whose gateway sheep went away lost its lock with it. When the
# sheep is back and nothing happened to the lock meanwhile, the writer's
# next write takes it up again first (with the token the sheep gave it) and
# goes through. When another writer took the VDI meanwhile, the old writer
# is fenced: refused (EROFS, nothing written) while the other holds it, and
# still refused after the other is gone.
source "$(dirname "$0")/lib.sh"
for n in 0 1; do start_sheep $n; done
wait_nodes 0 2
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 16M || fail "create"
start_nbdkit "$T/w1.sock" vdi=disk port=7001
nbdsh() { PATH=/usr/bin:$PATH command nbdsh "$@"; }
write_at() {  # write_at SOCK BYTE OFFSET: one 4 KiB write; fails on an NBD error
  nbdsh -u "nbd+unix:///?socket=$1" -c "h.pwrite(bytes([$2]) * 4096, $3)"
}
first_byte() { dogn 0 vdi read disk 0 1 | od -An -tu1 | tr -d ' '; }
unlocked() { [ "$(dogn 0 vdi lock list | wc -l)" -eq 1 ]; }
write_at "$T/w1.sock" 1 0 || fail "first write"

# The gateway restarts; nobody else writes: w1 carries on (its first write
# may meet the sheep while it is still joining: it waits for it).
kill9_sheep 1
wait_for 10 unlocked
start_sheep 1
write_at "$T/w1.sock" 5 0 || fail "w1 could not take its lock up again after the gateway restart"
wait_nodes 0 2
assert_eq "$(first_byte)" "5" "w1's write after the restart"
dogn 0 vdi lock list | grep -q "port:7001$" || fail "w1 holds the lock again"

# The gateway dies again, and this time another writer takes the VDI.
kill9_sheep 1
wait_for 10 unlocked
start_nbdkit "$T/w2.sock" vdi=disk port=7000
write_at "$T/w2.sock" 2 0 || fail "second writer"
start_sheep 1
wait_nodes 0 2

refused() { ! write_at "$T/w1.sock" 3 0 2>/dev/null; }
refused || fail "w1 wrote while w2 held the lock"
refused || fail "w1 wrote while w2 held the lock (second try)"
assert_eq "$(first_byte)" "2" "w2's data stays"
dogn 0 vdi lock list | grep -q "port:7000$" || fail "w2 keeps its lock"

# w2 goes: w1 stays fenced (its lock was taken over, not merely lost).
kill "$(cat "$T/nbdkit.w2.sock.pid")"
wait_for 10 unlocked
refused || fail "w1 wrote after another writer had taken the VDI"
assert_eq "$(first_byte)" "2" "w2's data stays after it left"
unlocked || fail "w1 took the lock again"
pass
