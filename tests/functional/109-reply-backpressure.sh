#!/bin/bash
# A client that pipelines large reads and does not read the replies cannot
# make the sheep hold them all: once a connection's unsent replies (and the
# replies its running requests may get) pass the cap, the sheep stops
# reading that connection, and reads on once the client takes its replies.
# Here 400 READ_OBJ of 4 MiB each (1.6 GiB of replies) go out on one TCP
# connection, which is then half-closed; while the client reads nothing the
# sheep's RSS must stop growing well below that; then the client reads
# every reply, each with the data written, and the end of stream after the
# last (the sheep used to read them all and hold every reply in memory).
source "$(dirname "$0")/lib.sh"
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create test 16M || fail "vdi create"
head -c $((16 << 20)) /dev/urandom >"$T/data"
dogn 0 vdi write test 0 $((16 << 20)) <"$T/data" || fail "vdi write"
vid=$(dogn 0 vdi list -r test | awk '{print $8}')
pid=$(sheep_pid 0)
N=400
# Growth of the sheep's RSS allowed while the client reads nothing: the
# cap (32 MiB) with room for the sanitizers' allocator; the replies the
# client asks for are 1600 MiB.
LIMIT_MIB=100

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# The sheep's side of the client's connection (half-closed: CLOSE-WAIT)
# has replies the client has not taken (its Send-Q).
sheep_blocked() {
  local out
  out=$(ss -Htn "sport = :7000") || return 1
  [ -n "$out" ] && [ "$(echo "$out" | awk '{print $3}' | sort -n | tail -n 1)" -gt 0 ]
}
client_gone() { ! kill -0 "$client" 2>/dev/null; }

base=$(rss_kib)
python3 - "$vid" "$N" "$T" >"$T/client.out" 2>&1 <<'PY' &
import os, socket, struct, sys, time
vid, n, tdir = int(sys.argv[1], 16), int(sys.argv[2]), sys.argv[3]
OBJ = 4 << 20
data = open(os.path.join(tdir, "data"), "rb").read()
objs = [data[i * OBJ:(i + 1) * OBJ] for i in range(4)]
READ_OBJ = 0x02
s = socket.create_connection(("127.0.0.1", 7000))
# Request i reads the whole data object i % 4.
reqs = b"".join(struct.pack("<BBHIII", 0x02, READ_OBJ, 0, 0, i, OBJ) +
                struct.pack("<QQBBBBIII", (vid << 32) | (i % 4), 0, 0, 0, 0, 0, 0, 0, 0)
                for i in range(n))
s.sendall(reqs)
s.shutdown(socket.SHUT_WR)
open(os.path.join(tdir, "sent"), "w").close()
end = time.monotonic() + 120
while not os.path.exists(os.path.join(tdir, "go")):
    if time.monotonic() > end:
        sys.exit("never told to read")
    time.sleep(0.05)
s.settimeout(60)
buf = bytearray(48 + OBJ)

def read_exact(k):
    view, got = memoryview(buf), 0
    while got < k:
        r = s.recv_into(view[got:k])
        if not r:
            return got
        got += r
    return got

seen, bad = [], []
while True:
    got = read_exact(48)
    if got == 0:
        break  # the sheep closed after the last reply
    if got < 48:
        bad.append("a cut reply header")
        break
    _, op, _, _, rid, dlen, result = struct.unpack_from("<BBHIIII", buf, 0)
    if dlen > OBJ or read_exact(dlen) < dlen:
        bad.append(f"reply {rid}: {dlen} bytes announced, fewer came")
        break
    if op != READ_OBJ or result != 0 or dlen != OBJ or buf[:OBJ] != objs[rid % 4]:
        bad.append(f"reply {rid}: opcode {op:#x} result {result:#x} {dlen} bytes, data wrong or short")
    seen.append(rid)
if sorted(seen) != list(range(n)):
    bad.append(f"{len(seen)} replies, {len(set(seen))} distinct ids of {n}")
print(len(seen), "ok" if not bad else "wrong: " + "; ".join(bad[:5]))
PY
client=$!
on_exit "kill $client"
wait_for 30 test -f "$T/sent"
# The sheep has answered what it will and the client's socket is full.
wait_for 30 sheep_blocked

# While the client reads nothing, the RSS grows no more than the limit and
# stops growing: no increase above 1 MiB for 3 s (after at least 4 s).
start=$(now_ms)
grew_at=$start
peak=$base
while :; do
  r=$(rss_kib)
  if [ "$r" -gt $((peak + 1024)) ]; then
    grew_at=$(now_ms)
  fi
  [ "$r" -gt "$peak" ] && peak=$r
  [ $((peak - base)) -gt $((LIMIT_MIB * 1024)) ] &&
    fail "the sheep's RSS grew by $(((peak - base) / 1024)) MiB (from $((base / 1024)) MiB) while the client read no replies (limit $LIMIT_MIB MiB)"
  t=$(now_ms)
  [ $((t - grew_at)) -ge 3000 ] && [ $((t - start)) -ge 4000 ] && break
  [ $((t - start)) -ge 30000 ] && fail "the sheep's RSS still grows after 30 s ($((peak / 1024)) MiB)"
  sleep 0.1
done
client_gone && fail "the client ended early: $(cat "$T/client.out")"
sheep_blocked || fail "the sheep has no replies waiting for the client"
echo "sheep RSS: $((base / 1024)) MiB before, at most $((peak / 1024)) MiB while the client read nothing"

# Now the client reads: every reply comes, with the right data, and then
# the end of stream (the half-closed connection is closed once done).
touch "$T/go"
wait_for 120 client_gone
wait "$client" || fail "client failed: $(cat "$T/client.out")"
assert_eq "$(cat "$T/client.out")" "$N ok" "replies to $N pipelined 4 MiB reads"
assert_eq "$(dogn 0 vdi read test 0 $((16 << 20)) | sum)" "$(sum <"$T/data")" "the VDI's data"
pass "a client that reads no replies holds $(((peak - base) / 1024)) MiB of the sheep's memory, then gets all $N"
