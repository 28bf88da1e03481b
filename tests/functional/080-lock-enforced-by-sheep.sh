#!/bin/bash
# One writer per VDI is the sheep's rule, not only the plugin's: while a
# writer holds a VDI's lock, writes from any other client (dog vdi write,
# raw requests through either sheep) are refused with VDI_LOCKED and
# change nothing, a client that sets the forwarded flag gets no lock it did
# not take, and rollback of the served VDI is refused; once the lock is
# broken through another sheep, the writer's writes fail. Administrators keep
# the inode's header: a snapshot of the served VDI works, and the writer
# follows it (its lock moves to the new working VDI). GET_HASH of a 256 MiB
# object (block_size_shift 28; 31 gives 2 GiB) costs the sheep about 1 MiB,
# not the object's size.
source "$(dirname "$0")/lib.sh"
RAW=$ROOT/tests/functional/helpers/rawclient.py
result_of() { sed -n 's/.*result=\(0x[0-9a-f]*\).*/\1/p'; }
nbdsh() { PATH=/usr/bin:$PATH command nbdsh "$@"; }
write_at() {  # write_at SOCK BYTE OFFSET LEN
  nbdsh -u "nbd+unix:///?socket=$1" -c "h.pwrite(bytes([$2]) * $4, $3)"
}
start_cluster 2
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 16M || fail "create"
start_nbdkit "$T/w.sock" vdi=disk port=7001
write_at "$T/w.sock" 5 0 1048576 || fail "the writer's write"
want=$(dogn 0 vdi read disk 0 1M | md5sum)
vid=$(dogn 0 vdi list -r disk | awk '{print $8}')

# dog writes nothing behind the writer's back, through either sheep.
for n in 0 1; do
  rc=0
  head -c 4096 /dev/zero | dogn "$n" vdi write disk 0 4096 2>"$T/dw.err" || rc=$?
  [ $rc -ne 0 ] || fail "dog vdi write through node $n succeeded"
  grep -q "VDI is already locked" "$T/dw.err" || fail "dog vdi write through node $n: $(cat "$T/dw.err")"
done
# Raw requests: a data write, a write into the block map, a removal.
oid=$(printf '0x%x%08x' "0x$vid" 0)
inode=$(printf '0x80%06x00000000' "0x$vid")
for port in 7000 7001; do
  assert_eq "$("$RAW" $port req op=0x03 flags=1 oid="$oid" offset=0 payload=zeros:4096 | result_of)" \
    "0x07" "raw WRITE_OBJ through $port"
  assert_eq "$("$RAW" $port req op=0x03 flags=1 oid="$inode" offset=4664 payload=zeros:4 | result_of)" \
    "0x07" "raw write into the block map through $port"
  assert_eq "$("$RAW" $port req op=0x04 oid="$oid" | result_of)" "0x07" "raw REMOVE_OBJ through $port"
done
assert_eq "$(dogn 0 vdi read disk 0 1M | md5sum)" "$want" "the writer's data"

# Upstream's dog resizes by writing the whole inode header back: allowed
# when only the size (or tag) changes, refused when anything else does.
python3 - "$ROOT/tests/functional/helpers" "$inode" <<'EOP' || fail "whole-header writes"
import struct, sys
sys.path.insert(0, sys.argv[1])
import rawclient as rc
oid = int(sys.argv[2], 0)
def call(spec, payload=b""):
    s = rc.connect(7000)
    s.sendall(rc.build(spec) + payload)
    return rc.read_reply(s)
hdr = bytearray(call({"op": "0x02", "oid": hex(oid), "dlen": "4664"})["data"])
assert len(hdr) == 4664
size_off, copies_off = 536, 554
new = bytearray(hdr)
struct.pack_into("<Q", new, size_off, 32 << 20)
r = call({"op": "0x03", "flags": "1", "oid": hex(oid), "dlen": "4664"}, bytes(new))
assert r["result"] == 0, "size change refused: 0x%x" % r["result"]
bad = bytearray(new)
bad[copies_off] = 1
r = call({"op": "0x03", "flags": "1", "oid": hex(oid), "dlen": "4664"}, bytes(bad))
assert r["result"] == 7, "copies change not refused: 0x%x" % r["result"]
EOP
assert_eq "$(dogn 0 vdi list -r disk | awk '{print $4}')" "33554432" "the size after the header write"

# The forwarded flag: on the master (node 0) the request is an ordinary
# LOCK_VDI and is refused; elsewhere it is not run at all.
assert_eq "$("$RAW" 7000 req op=0x12 flags=0x41 payload=name:disk:256 | result_of)" "0x07" \
  "LOCK_VDI with the forwarded flag on the master"
assert_eq "$("$RAW" 7001 req op=0x12 flags=0x41 payload=name:disk:256 | result_of)" "0x8f" \
  "LOCK_VDI with the forwarded flag elsewhere"
assert_eq "$(dogn 0 vdi lock list | grep -c disk)" "1" "one lock"
dogn 0 vdi lock list | grep -q "port:7001$" || fail "the writer keeps its lock"

# A snapshot of the served VDI: the lock moves with the writer, who goes
# on writing the new working VDI; rollback of it is refused.
dogn 0 vdi snapshot -s s1 disk || fail "snapshot of the served VDI"
write_at "$T/w.sock" 6 0 4096 || fail "the writer after the snapshot"
new_vid=$(dogn 0 vdi list -r disk | awk '$1 == "=" {print $8}')
dogn 0 vdi lock list | grep -q "  $new_vid  " || fail "the lock did not move to the new working VDI"
rc=0
dogn 0 vdi rollback -f -s s1 disk 2>"$T/rb.err" || rc=$?
grep -q "VDI is already locked" "$T/rb.err" || fail "rollback of the served VDI: $(cat "$T/rb.err")"
assert_eq "$(dogn 0 vdi read disk 0 1 | od -An -tu1 | tr -d ' ')" "6" "the writer's data after the refused rollback"

# The lock broken through the other sheep: the writer's gateway closes its
# connection, and the writer is fenced.
dogn 0 vdi lock unlock disk || fail "unlock through node 0"
if write_at "$T/w.sock" 7 0 4096 2>/dev/null; then fail "the writer wrote after its lock was broken"; fi
assert_eq "$(dogn 0 vdi read disk 0 1 | od -An -tu1 | tr -d ' ')" "6" "data after the broken writer's attempt"
grep -q "unlocked: the lock was broken by a client of 127.0.0.1:7000" "$T/1/sheep.log" ||
  fail "the writer's gateway did not log the break"

# GET_HASH of a 256 MiB object.
dogn 0 vdi create -z 28 big 1G || fail "create big"
head -c 4096 /dev/urandom | dogn 0 vdi write big 0 4096 || fail "write big"
bigvid=$(dogn 0 vdi list -r big | awk '{print $8}')
pid=$(sheep_pid 0)
peak() { awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; }
before=$(peak)
assert_eq "$("$RAW" 7000 req op=0xb4 oid="$(printf '0x%x%08x' "0x$bigvid" 0)" | result_of)" "0x00" "GET_HASH"
after=$(peak)
echo "peak resident memory around GET_HASH of a 256 MiB object: $before KiB, then $after KiB"
[ $((after - before)) -lt 65536 ] || fail "GET_HASH took $(((after - before) / 1024)) MiB"
pass
