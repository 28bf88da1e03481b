#!/bin/bash
# Direct I/O (docs/PROTOCOL.md §7.8): with direct=true (the default) the
# plugin sends each write of an existing object its sheep holds no copy
# of to the object's first owner (DIRECT_WRITE), and reads such objects
# from an owner (READ_OBJ there):
# every write goes one way or the other, the owners count them, and every
# copy of every object is byte for byte the same afterwards. direct=false
# sends nothing direct. A sheep takes a DIRECT_WRITE only with the token of
# the VDI's current lock, for a data object of a live, writable VDI:
# forged and stale requests are refused and change nothing (raw
# requests). A writer whose lock is broken is refused, and its data stays
# as it was; a join and a kill -9 under direct writes lose nothing.
source "$(dirname "$0")/lib.sh"
RAW_DIR=$ROOT/tests/functional/helpers
nbdsh() { PATH=/usr/bin:$PATH command nbdsh "$@"; }
page() { curl -sf --max-time 10 "http://127.0.0.1:$1/metrics"; }
# count PORT OP: successful requests of OP (a label) on the sheep with metrics at PORT.
count() {
  local p
  p=$(page "$1") || { echo "no metrics page at $1" >&2; echo -1; return; }
  echo "$p" | awk -v op="$2" 'index($0, "op=\"" op "\",result=\"success\"}") { s += $2 } END { print s + 0 }'
}
total() {  # total OP: over the three sheep
  echo $(($(count 9100 "$1") + $(count 9101 "$1") + $(count 9102 "$1")))
}

for n in 0 1 2; do start_sheep $n --metrics $((9100 + n)); done
for n in 0 1 2; do wait_nodes $n 3; done
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 64M || fail "create"

stop_nbdkit() {  # stop_nbdkit SOCKNAME
  local pid
  pid=$(cat "$T/nbdkit.$1.pid")
  kill "$pid"
  wait_for 20 sh -c "! kill -0 $pid 2>/dev/null"
}
# copies_agree [NODES]: every data object's copies are the same bytes on
# every one of NODES (default 0 1 2) that has one.
copies_agree() {
  local nodes=${1:-0 1 2} f name n dirs=()
  for n in $nodes; do dirs+=("$T/$n/obj"); done
  for f in $(ls "${dirs[@]}" | grep '^00' | sort -u); do  # data objects (inodes begin with 80)
    local files=()
    for n in $nodes; do [ -f "$T/$n/obj/$f" ] && files+=("$T/$n/obj/$f"); done
    [ "$(sha256sum "${files[@]}" | awk '{print $1}' | sort -u | wc -l)" = 1 ] ||
      fail "copies of $f differ"
  done
}

start_nbdkit "$T/d.sock" vdi=disk address=127.0.0.1 port=7000
head -c $((64 << 20)) /dev/urandom >"$T/a"
nbdcopy "$T/a" "nbd+unix:///?socket=$T/d.sock" || fail "first copy (creates every object)"
gw_writes=$(count 9100 write_obj)
direct_writes=$(total direct_write)
head -c $((64 << 20)) /dev/urandom >"$T/b"
nbdcopy --request-size=65536 "$T/b" "nbd+unix:///?socket=$T/d.sock" || fail "second copy"
direct=$(($(total direct_write) - direct_writes))
through_gw=$(($(count 9100 write_obj) - gw_writes))
# With 2 copies on 3 nodes node 0 holds no copy of about a third.
[ "$direct" -gt 0 ] || fail "no write went direct"
assert_eq "$((direct + through_gw))" 1024 "writes direct and through the gateway (of 1024)"
reads=$(($(count 9101 read_obj) + $(count 9102 read_obj)))
nbdcopy --request-size=65536 "nbd+unix:///?socket=$T/d.sock" "$T/back" || fail "read back"
assert_eq "$(sum <"$T/back")" "$(sum <"$T/b")" "bytes read back"
[ $(($(count 9101 read_obj) + $(count 9102 read_obj))) -gt "$reads" ] ||
  fail "no direct reads of objects node 0 holds no copy of"
assert_eq "$(dogn 1 vdi read disk | sum)" "$(sum <"$T/b")" "bytes read through another sheep"
copies_agree
pass "writes went through their first owner, reads of others' objects to an owner, and the copies agree"

stop_nbdkit d.sock
start_nbdkit "$T/g.sock" vdi=disk address=127.0.0.1 port=7000 direct=false
direct_writes=$(total direct_write) reads=$(($(count 9101 read_obj) + $(count 9102 read_obj)))
nbdcopy --request-size=65536 "$T/a" "nbd+unix:///?socket=$T/g.sock" || fail "copy with direct=false"
nbdcopy "nbd+unix:///?socket=$T/g.sock" "$T/back" || fail "read with direct=false"
assert_eq "$(sum <"$T/back")" "$(sum <"$T/a")" "bytes with direct=false"
assert_eq "$(total direct_write) $(($(count 9101 read_obj) + $(count 9102 read_obj)))" \
  "$direct_writes $reads" "direct requests with direct=false"
copies_agree
stop_nbdkit g.sock
pass "direct=false sends everything through the sheep"

# Raw requests against a VDI "raw" whose block 0 exists, to every node.
dogn 0 vdi create raw 8M || fail "create raw"
head -c 4096 /dev/urandom | dogn 0 vdi write raw 0 4096 || fail "write raw"
vid=$(dogn 0 vdi list -r raw | awk '{print $8}')
oid=$(printf '0x%x%08x' "0x$vid" 0)
python3 - "$RAW_DIR" "$oid" "0x$vid" "$DOG_BIN" <<'EOP' || fail "raw direct writes"
import socket, struct, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import rawclient as rc
oid = int(sys.argv[2], 0)
inode = (0x80 << 56) | (int(sys.argv[3], 0) << 32)
NODES = (7000, 7001, 7002)
OK, INVALID, LOCKED, NOVDI, READONLY = 0, 0x05, 0x07, 0x08, 0x1A

def req(port, op, token=0, o=oid, offset=0, payload=b"", dlen=None):
    s = rc.connect(port)
    spec = {"op": hex(op), "flags": "1" if op == 0xe5 else "0", "oid": hex(o), "cow": hex(token),
            "copies": "2", "offset": str(offset), "dlen": str(len(payload) if dlen is None else dlen)}
    s.sendall(rc.build(spec) + payload)
    return rc.read_reply(s)

def expect(what, got, want):
    if got["result"] != want:
        raise SystemExit("%s: result 0x%02x, expected 0x%02x" % (what, got["result"], want))

def contents():  # block 0 as each node reads it (READ_OBJ, its own copy first)
    return [req(p, 0x02, dlen=4096)["data"] for p in NODES]

# The lock, taken on a connection of its own; the token is in the reply.
lk = rc.connect(7000)
name = b"raw".ljust(256, b"\0")
lk.sendall(rc.HDR.pack(2, 0x12, 1, 0, 7, len(name), bytes(32)) + name)
raw = rc.recv_exact(lk, 48)
result, = struct.unpack_from("<I", raw, 16)
token, = struct.unpack_from("<Q", raw, 40)
assert result == 0 and token, "LOCK_VDI: result %d token %x" % (result, token)

before = contents()
data = bytes([0x5a]) * 4096
for port in NODES:
    expect("no token", req(port, 0xe5, 0, payload=data), LOCKED)
    expect("a wrong token", req(port, 0xe5, token ^ 1, payload=data), LOCKED)
    expect("the inode", req(port, 0xe5, token, o=inode, payload=data), INVALID)
    expect("past the object's end", req(port, 0xe5, token, offset=(4 << 20) - 100, payload=data), INVALID)
    expect("a VDI that does not exist", req(port, 0xe5, token, o=(0xfffff << 32), payload=data), NOVDI)
assert contents() == before, "refused writes changed the object"
# With the token, through any node: every copy gets it.
for port in NODES:
    expect("the lock's token through %d" % port, req(port, 0xe5, token, payload=data), OK)
    assert contents() == [data] * 3, "a node reads other bytes after a write through %d" % port
    data = bytes([data[0] + 1]) * 4096

# A snapshot moves the lock to the new working VDI: the old one's objects
# are read-only, to the token too.
subprocess.run([sys.argv[4], "vdi", "snapshot", "-s", "snap", "raw"], check=True)
last = contents()
for port in NODES:
    expect("a write into the snapshot", req(port, 0xe5, token, payload=bytes(4096)), READONLY)
assert contents() == last, "the snapshot changed"

# The lock ends with its connection: the token proves nothing any more
# (tried on block 1 of the new working VDI, which does not exist: refused
# before anything is written).
s = rc.connect(7000)
s.sendall(rc.build({"op": "0x14", "flags": "1", "payload": "name:raw:512"}))
cur = rc.read_reply(s)["vdi_id"]
assert cur and cur != oid >> 32, "the working VDI after the snapshot: %x" % cur
work_oid = (cur << 32) | 1
lk.close()
deadline = time.time() + 20
def refused():
    got = [req(p, 0xe5, token, o=work_oid, payload=data)["result"] for p in NODES]
    return got == [LOCKED] * 3, got
while not refused()[0]:
    if time.time() > deadline:
        raise SystemExit("the token still works after the lock ended: %s" % refused()[1])
    time.sleep(0.05)
assert contents() == last, "block 0 changed after the lock ended"
EOP
copies_agree
pass "a direct write needs the lock's token and a live, writable VDI's data object"

# A writer whose lock is broken (through another sheep) is fenced: its
# writes fail, and the data stays as it was, on every copy.
start_nbdkit "$T/f.sock" vdi=disk address=127.0.0.1 port=7000
nbdsh -u "nbd+unix:///?socket=$T/f.sock" -c "h.pwrite(bytes([7]) * 65536, 0)" || fail "write before the break"
want=$(dogn 0 vdi read disk 0 1M | sum)
dogn 1 vdi lock unlock disk || fail "break the lock"
rc=0
nbdsh -u "nbd+unix:///?socket=$T/f.sock" -c "h.pwrite(bytes([9]) * 65536, 0)" 2>"$T/f.err" || rc=$?
[ $rc -ne 0 ] || fail "the fenced writer's write succeeded"
assert_eq "$(dogn 2 vdi read disk 0 1M | sum)" "$want" "data after the fenced write"
copies_agree
pass "a fenced writer is refused, and its data stays as it was"

# Membership changes under direct writes: a node joins during one copy and
# another is killed with -9 during the next: nothing is lost, and the
# copies agree. (Whether direct writes resume under the new epoch is not
# asserted: one CI run saw none during the copy after the join; see the
# closing note of 2026-12-07.)
stop_nbdkit f.sock
start_nbdkit "$T/m.sock" vdi=disk address=127.0.0.1 port=7000
nbdcopy --request-size=65536 "$T/a" "nbd+unix:///?socket=$T/m.sock" &
copy=$!
start_sheep 3 --metrics 9103
wait $copy || fail "copy while a node joined"
for n in 0 1 2 3; do wait_nodes $n 4; done
nbdcopy --request-size=65536 "$T/b" "nbd+unix:///?socket=$T/m.sock" || fail "copy after the join"
nbdcopy --request-size=65536 "$T/a" "nbd+unix:///?socket=$T/m.sock" &
copy=$!
kill9_sheep 1
wait $copy || fail "copy while a node was killed"
for n in 0 2 3; do wait_nodes $n 3; done
wait_recovered 0
nbdcopy "nbd+unix:///?socket=$T/m.sock" "$T/back" || fail "read after the kill"
assert_eq "$(sum <"$T/back")" "$(sum <"$T/a")" "bytes after a join and a kill under direct writes"
assert_eq "$(dogn 2 vdi read disk | sum)" "$(sum <"$T/a")" "bytes through another sheep"
copies_agree "0 2 3"
pass "a join and a kill -9 under direct writes lose nothing"
