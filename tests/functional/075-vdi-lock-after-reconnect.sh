#!/bin/bash
# A writer whose gateway sheep went away lost its lock with it. When the
# sheep is back, the writer's next write takes the lock again first: it is
# refused (EROFS, nothing written) while another writer holds the VDI, and
# goes through once that writer is gone.
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
write_at "$T/w1.sock" 1 0 || fail "first write"

kill9_sheep 1
unlocked() { [ "$(dogn 0 vdi lock list | wc -l)" -eq 1 ]; }
wait_for 10 unlocked
start_nbdkit "$T/w2.sock" vdi=disk port=7000
write_at "$T/w2.sock" 2 0 || fail "second writer"
start_sheep 1
wait_nodes 0 2

# w1 cannot write while w2 holds the lock (the first attempt may also see
# its dead connection fail).
refused() { ! write_at "$T/w1.sock" 3 0 2>/dev/null; }
refused || fail "w1 wrote while w2 held the lock"
refused || fail "w1 wrote while w2 held the lock (second try)"
assert_eq "$(dogn 0 vdi read disk 0 1 | od -An -tu1 | tr -d ' ')" "2" "w2's data stays"
dogn 0 vdi lock list | grep -q "port:7000$" || fail "w2 keeps its lock"

# w2 goes: w1's next write takes the lock again.
kill "$(cat "$T/nbdkit.w2.sock.pid")"
wait_for 10 unlocked
wait_for 20 write_at "$T/w1.sock" 4 0
assert_eq "$(dogn 0 vdi read disk 0 1 | od -An -tu1 | tr -d ' ')" "4" "w1's write after it locked again"
dogn 0 vdi lock list | grep -q "port:7001$" || fail "w1 holds the lock again"
pass
