#!/bin/bash
# Captures the seed corpora of tests/fuzz/ from real traffic: one sheep,
# dog's commands and the nbd plugin talking to it through a recording
# proxy (capture_proxy.py), then two more sheep joining and one killed.
# Each connection becomes
#   corpus/fuzz_request_stream/SHA1  what the client sent (its first 64 KiB)
#   corpus/fuzz_client_replies/SHA1  what the sheep answered, behind the
#                                    target's call byte and export name
# and the local driver's log (frames: length, kind, sender id, record)
# becomes corpus/fuzz_cluster_records/SHA1: the whole log as the target's
# steps, each group message alone, each JOIN alone (the senders' ids
# renamed to the target's origins).
# Run it after a protocol change; it needs a built tree (scripts/build.sh
# --test) and runs in its own network namespace.
#   tests/fuzz/capture-seeds.sh
set -euo pipefail
if [ -z "${SD_IN_NETNS:-}" ]; then
  exec env SD_IN_NETNS=1 unshare --net --fork bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
source "$(dirname "$0")/../functional/lib.sh"
FUZZ=$ROOT/tests/fuzz
cap=$T/capture
python3 "$FUZZ/capture_proxy.py" 7100 7000 "$cap" >"$T/proxy.log" 2>&1 &
on_exit "kill $!"
start_sheep 0
wait_for 10 grep -q ready "$T/proxy.log"
d() { _dog "$@" -p 7100; }

d cluster format -c 1
d node list
d node info
d cluster info
d vdi create a 64M
d vdi create -y h 8G
d vdi create -c 1 -z 20 small 16M
head -c 1M /dev/urandom | d vdi write a 0
head -c 4096 /dev/urandom | d vdi write h 4294967296
d vdi read a 0 4096 >/dev/null
d vdi read h 4294967296 4096 >/dev/null
d vdi list
d vdi snapshot -s snap1 a
d vdi clone -s snap1 a clone1
d vdi tree
d vdi setattr a key value
d vdi getattr a key
d vdi object map a
d vdi object location -i 0 a
d vdi lock list
d vdi resize a 128M
d vdi check a
d node md info
d cluster recover info || true
d vdi delete clone1
d vdi delete small

# The plugin: a lock, reads, writes and a flush through nbdkit over TCP.
start_nbdkit "$T/nbd.sock" vdi=a port=7100 direct=false
head -c 2M /dev/urandom >"$T/in"
nbdcopy "$T/in" "nbd+unix:///?socket=$T/nbd.sock"
nbdcopy "nbd+unix:///?socket=$T/nbd.sock" "$T/out"
cmp -n 2097152 "$T/in" "$T/out" || fail "the plugin read back other data"
nbdkit_pid=$(cat "$T/nbdkit.nbd.sock.pid")
kill "$nbdkit_pid"
wait_for 20 bash -c "! kill -0 $nbdkit_pid"
# Two more sheep join, a VDI is made and locked, one sheep dies: the
# cluster log now holds JOINs, JOIN_RESPONSEs, group messages and a GONE.
start_sheep 1
start_sheep 2
wait_nodes 0 3
d vdi create b 16M
d vdi lock list
kill9_sheep 2
wait_nodes 0 2
cp "$T/cluster/log" "$T/cluster.log"
# Every connection closed: the proxy has written them all.
wait_for 20 bash -c "[ \$(ls $cap/*.s2c | wc -l) -eq \$(ls $cap/*.c2s | wc -l) ]"

python3 - "$cap" "$FUZZ/corpus" "$T/cluster.log" <<'PY'
import hashlib, os, struct, sys
cap, corpus, cluster_log = sys.argv[1], sys.argv[2], sys.argv[3]
LIMIT = 65536
def put(target, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
n = 0
for name in sorted(os.listdir(cap)):
    if not name.endswith(".c2s"):
        continue
    c2s = open(os.path.join(cap, name), "rb").read()
    s2c = open(os.path.join(cap, name[:-4] + ".s2c"), "rb").read()
    if c2s:
        put("fuzz_request_stream", c2s[:LIMIT])
    if s2c:
        # Every call (open, lock, lists), export name "a".
        put("fuzz_client_replies", bytes([0xff, 1]) + b"a" + s2c[:LIMIT - 3])
    n += 1
print("captured %d connections" % n)

# The cluster log, as fuzz_cluster_records steps: kind (0 record, 1 gone,
# 4 group message), origin index, length (u16), bytes.
ORIGINS = [b"p1-1", b"p2-1", b"p3-7"]  # the target's origins 1..3
log = open(cluster_log, "rb").read()
frames, ids = [], []
pos = 0
while pos + 4 <= len(log):
    (flen,) = struct.unpack_from("<I", log, pos)
    frame = log[pos + 4:pos + 4 + flen]
    pos += 4 + flen
    kind = frame[0]
    (idlen,) = struct.unpack_from("<I", frame, 1)
    who = frame[5:5 + idlen]
    if who not in ids:
        ids.append(who)
    frames.append((kind, who, frame[5 + idlen:]))
def rename(b):
    for i, who in enumerate(ids[:len(ORIGINS)]):
        b = b.replace(struct.pack("<I", len(who)) + who, struct.pack("<I", len(ORIGINS[i])) + ORIGINS[i])
    return b
def step(kind, who, body):
    origin = 1 + ids.index(who) if ids.index(who) < len(ORIGINS) else 0
    return bytes([kind, origin]) + struct.pack("<H", len(body)) + body
whole = b""
for kind, who, rec in frames:
    rec = rename(rec)[:65535]
    whole += step(0 if kind == 1 else 1, who, rec if kind == 1 else b"")
    if kind != 1:
        continue
    rtype = rec[0] & 0x7f
    if rtype == 1:  # JOIN
        put("fuzz_cluster_records", step(0, who, rec))
    if rtype == 3:  # MSG: type, id, incarnation, sequence, then the message
        (idlen,) = struct.unpack_from("<I", rec, 1)
        off = 1 + 4 + idlen + 16
        (mlen,) = struct.unpack_from("<I", rec, off)
        put("fuzz_cluster_records", step(4, who, rec[off + 4:off + 4 + mlen]))
put("fuzz_cluster_records", whole[:65536])
print("captured %d cluster frames from %d senders" % (len(frames), len(ids)))
PY
pass "seeds captured"
