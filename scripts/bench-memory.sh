#!/bin/bash
# Memory of a 16 PiB hyper volume in use (issue 20's limits: nbdkit and
# `dog vdi read` under 64 MiB resident, a sheep under 64 MiB under load).
# Builds, on one sheep, a hyper volume whose B-tree is as large as a full
# volume's leaves make it for the plugin: a depth-2 root over LEAVES full
# leaves (524,287 entries each, 4 MiB), spread over the whole index space.
# The entries name vid 0 (discarded blocks), so no data objects are needed
# and reads return zeros after the lookup. Then:
#   - nbdkit serves it while fio reads 4 KiB at random over all 16 PiB
#     (every read a lookup in some leaf, the leaf cache churning);
#   - dog vdi read reads a range in every leaf;
# and prints the peak resident size (VmHWM) of nbdkit, dog and the sheep;
# exits 1 if one is over 64 MiB.
# Release build; not part of the test suite.
#   scripts/bench-memory.sh [-l LEAVES] [BUILD_DIR]     (default 16 leaves)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LEAVES=16
[ "${1:-}" = "-l" ] && { LEAVES=$2; shift 2; }
BUILD=${1:-$ROOT/build}
PORT=7600 NAME=bench-memory
source "$ROOT/scripts/bench-one-sheep.sh"
"$DOG" vdi create -y big 16P -p "$PORT"
vid=$("$DOG" vdi list -r big -p "$PORT" | awk '{print $8}')

# The tree, written as upstream lays it out (docs/PROTOCOL.md §5.4).
python3 - "$ROOT/tests/functional/helpers" "$PORT" "$((0x$vid))" "$LEAVES" <<'PY'
import struct, sys
sys.path.insert(0, sys.argv[1])
import rawclient
port, vid, leaves = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per = 524287
span = (1 << 32) // leaves
def send(op, oid, payload, offset=0):
    s = rawclient.connect(port)
    s.sendall(rawclient.build({"op": hex(op), "flags": "1", "oid": hex(oid), "copies": "1",
                               "offset": str(offset), "payload": "hex:" + payload.hex()}))
    r = rawclient.read_reply(s)
    s.close()
    if r["result"] != 0:
        raise SystemExit("request 0x%x on %016x failed: 0x%x" % (op, oid, r["result"]))
root = struct.pack("<HHI", 0x6274, 2, leaves)
for k in range(leaves):
    oid = (1 << 60) | (vid << 32) | k
    step = span // per
    idx = [k * span + j * step for j in range(per)]
    body = struct.pack("<HHI", 0x6274, 1, per) + b"".join(struct.pack("<II", i, 0) for i in idx)
    send(0x01, oid, body)
    root += struct.pack("<IIQ", idx[-1], 0, oid)
inode = (1 << 63) | (vid << 32)
send(0x03, inode, struct.pack("<I", leaves), 568)
send(0x03, inode, root, 4664)
PY

nbdkit -U "$T/n.sock" -P "$T/n.pid" "$PLUGIN" vdi=big socket="$T/s0/sock"
wait_for 20 test -S "$T/n.sock"
fio --name=r --ioengine=nbd --uri="nbd+unix:///?socket=$T/n.sock" --rw=randread --bs=4k \
  --iodepth=16 --norandommap --random_generator=tausworthe64 --time_based --runtime=20 \
  --output="$T/fio.out" >/dev/null 2>&1 || { cat "$T/fio.out" >&2; exit 1; }
iops=$(grep -o 'IOPS=[^,]*' "$T/fio.out" | head -n 1)
nbdkit_kb=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$T/n.pid")/status")

span_bytes=$(((1 << 54) / LEAVES))
/usr/bin/time -f "%M" -o "$T/dog.kb" bash -c "for k in \$(seq 0 $((LEAVES - 1))); do \
  \"$DOG\" vdi read big \$((k * $span_bytes + 123 * 4194304)) 64M -p $PORT >/dev/null || exit 1; done"
sheep_kb=$(awk '/VmHWM/ {print $2}' "/proc/$(pgrep -f "^$SHEEP $T/s0")/status")
printf 'hyper volume 16 PiB, %d full leaves (%d MiB of B-tree)\n' "$LEAVES" "$((LEAVES * 4))"
printf 'nbdkit  peak RSS %6d KiB  (fio 4k random reads over 16 PiB, 20 s: %s)\n' "$nbdkit_kb" "$iops"
printf 'dog     peak RSS %6d KiB  (vdi read of 64 MiB in each leaf)\n' "$(cat "$T/dog.kb")"
printf 'sheep   peak RSS %6d KiB\n' "$sheep_kb"
limit=$((64 << 10))
for kb in "$nbdkit_kb" "$(cat "$T/dog.kb")" "$sheep_kb"; do
  [ "$kb" -le "$limit" ] || { echo "bench-memory: over the 64 MiB limit" >&2; exit 1; }
done
echo "all under 64 MiB"
