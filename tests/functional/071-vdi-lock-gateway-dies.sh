#!/bin/bash
# Locks never outlive their holder: when the gateway sheep of a writer is
# killed, every other node drops its lock and a new writer opens through
# another sheep. lock=shared joins a writer for a hand-over; export names
# lock per export; a full restart starts without locks, and a writer still
# serving takes its lock up again with its next write; a cluster formatted
# with -L does not lock.
source "$(dirname "$0")/lib.sh"
for n in 0 1 2; do start_sheep $n; done
wait_nodes 0 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 32M || fail "create"
dogn 0 vdi create other 32M || fail "create other"

# A writer through sheep 2, then sheep 2 dies.
start_nbdkit "$T/w1.sock" vdi=disk port=7002
dogn 0 vdi lock list | grep -q "port:7002$" || fail "lock through sheep 2"
kill9_sheep 2
unlocked() { [ "$(dogn "$1" vdi lock list | wc -l)" -eq 1 ]; }
wait_for 10 unlocked 0
wait_for 10 unlocked 1
head -c 4M /dev/urandom >"$T/a"
start_nbdkit "$T/w2.sock" vdi=disk port=7001
nbdcopy "$T/a" "nbd+unix:///?socket=$T/w2.sock" || fail "new writer"

# lock=shared joins the writer (a hand-over) and sees what it allocated.
start_nbdkit "$T/s.sock" vdi=disk lock=shared port=7000
list=$(dogn 0 vdi lock list)
[[ $list == *"IPv4 ip:127.0.0.1 port:7001(modified) IPv4 ip:127.0.0.1 port:7000(shared)"* ]] ||
  fail "shared lock list: $list"
head -c 4M /dev/urandom >"$T/b"
nbdsh_bin=$(PATH=/usr/bin:$PATH command -v nbdsh)
PATH=/usr/bin:$PATH "$nbdsh_bin" -u "nbd+unix:///?socket=$T/w2.sock" \
  -c "h.pwrite(open('$T/b', 'rb').read(), 8 << 20)" || fail "writer allocates block 2"
got=$(PATH=/usr/bin:$PATH "$nbdsh_bin" -u "nbd+unix:///?socket=$T/s.sock" \
  -c "import hashlib; print(hashlib.md5(h.pread(4 << 20, 8 << 20)).hexdigest())")
assert_eq "$got" "$(md5sum <"$T/b" | cut -d' ' -f1)" "shared participant reads the block the writer allocated"
kill "$(cat "$T/nbdkit.w2.sock.pid")"
list_has_7000_only() { dogn 0 vdi lock list | grep -q "port:7000(shared)$"; }
wait_for 10 list_has_7000_only

# Export names: each export locks on its first writable open.
start_nbdkit "$T/all.sock" port=7001
PATH=/usr/bin:$PATH "$nbdsh_bin" -u "nbd+unix:///other?socket=$T/all.sock" \
  -c "h.pwrite(b'x' * 512, 0)" \
  -c "import subprocess; out = subprocess.run(['$DOG_BIN', 'vdi', 'lock', 'list', '-p', '7000'], capture_output=True).stdout" \
  -c "assert b'  other ' in out and b'port:7001' in out, out" || fail "export name locks while open"
# (The connection closed: the lock ended with it.)
wait_for 10 sh -c "! $DOG_BIN vdi lock list -p 7000 | grep -q '^  other'"
if LD_PRELOAD="$(nbdkit_preload)" timeout 60 nbdkit -U "$T/x.sock" "$PLUGIN" vdi=disk 2>"$T/x.err"; then
  fail "an exclusive writer started beside a shared lock"
fi
grep -q "is locked by a shared lock" "$T/x.err" || fail "refusal beside a shared lock: $(cat "$T/x.err")"

# A full restart starts without locks.
dogn 0 cluster shutdown || fail "shutdown"
wait_for 20 sheep_gone 0
wait_for 20 sheep_gone 1
start_sheep 0
start_sheep 1
wait_for 30 sh -c "$DOG_BIN cluster info -p 7000 | grep -q 'Cluster status: running'"
wait_for 10 unlocked 0
# The shared writer (through sheep 0) was never fenced: its next write
# takes its hold up again, as nothing is known against it.
PATH=/usr/bin:$PATH "$nbdsh_bin" -u "nbd+unix:///?socket=$T/s.sock" -c "h.pwrite(b'y' * 4096, 0)" ||
  fail "the writer after the full restart"
dogn 0 vdi lock list | grep -q "port:7000(shared)$" || fail "the writer holds its lock again"
assert_eq "$(dogn 1 vdi read disk 0 1)" "y" "the writer's data after the full restart"

# -L: no locks, two writers are let be.
dogn 0 cluster format -L -f -c 2 >/dev/null || fail "format -L"
dogn 0 vdi create free 16M || fail "create"
start_nbdkit "$T/f1.sock" vdi=free
start_nbdkit "$T/f2.sock" vdi=free port=7001
unlocked 0 || fail "a cluster formatted with -L locked"
pass
