#!/bin/bash
# nbdcopy of a mostly empty 10 GiB VDI reads only the allocated blocks
# (the plugin reports holes as extents; nbdkit's stats filter counts the
# bytes read), and two connections to one export see each other's writes
# after a flush (multi-conn).
source "$(dirname "$0")/lib.sh"
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create big 10G || fail "create"
head -c 8M /dev/urandom | dogn 0 vdi write big 5G 8M || fail "write"

preload=$(nbdkit_preload)
LD_PRELOAD="$preload" timeout 60 nbdkit -U "$T/stats.sock" -P "$T/stats.pid" --filter=stats \
  "$PLUGIN" vdi=big statsfile="$T/stats" || fail "nbdkit with the stats filter"
wait_for 20 test -S "$T/stats.sock"
nbdcopy "nbd+unix:///?socket=$T/stats.sock" null: || fail "nbdcopy"
kill "$(cat "$T/stats.pid")"
wait_for 20 test -s "$T/stats"
# "read: 32 ops, 0.02 s, 8.00 MiB, ..." -> bytes
read_bytes=$(sed -nE 's/^read: [0-9]+ ops, [0-9.]+ s, ([0-9.]+) ([KMGT]?i?B).*/\1 \2/p' "$T/stats" |
  awk '{m = 1; if ($2 == "KiB") m = 1024; if ($2 == "MiB") m = 1048576; if ($2 == "GiB") m = 1073741824; printf "%d", $1 * m}')
[ -n "$read_bytes" ] || { cat "$T/stats" >&2; fail "no read line in the stats"; }
[ "$read_bytes" -le $((16 << 20)) ] || fail "nbdcopy read $read_bytes bytes of a VDI with 8 MiB allocated"

start_nbdkit "$T/nbd.sock" vdi=big
PATH=/usr/bin:$PATH nbdsh -c "
import nbd
uri = 'nbd+unix:///?socket=$T/nbd.sock'
h1 = nbd.NBD(); h1.connect_uri(uri)
h2 = nbd.NBD(); h2.connect_uri(uri)
assert h1.can_multi_conn() and h2.can_multi_conn()
for i in range(20):
    data = bytes([i + 1]) * 65536
    off = (1 << 30) + i * (4 << 20) - 32768   # straddles object boundaries
    h1.pwrite(data, off)
    h1.flush()
    assert h2.pread(65536, off) == data, i
" || fail "writes on one connection not seen on the other after flush"
pass
