#!/bin/bash
# A client that sends its requests and then half-closes its connection
# (shutdown(SHUT_WR), as `nc -N` or a batch client does) gets the reply of
# every request it sent whole, over DIR/sock and TCP alike; a request whose
# payload the end of stream cut short gets none, and the sheep then closes
# the connection. (The sheep used to close at the end of stream and drop
# the replies still queued or being worked on.)
source "$(dirname "$0")/lib.sh"
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"

pipeline() {  # unix PATH | tcp PORT; N requests; then a cut-short write: prints "REPLIES IDS-OK"
  python3 - "$@" <<'PY'
import socket, struct, sys
kind, where, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "unix":
    s = socket.socket(socket.AF_UNIX)
    s.connect(where)
else:
    s = socket.create_connection(("127.0.0.1", int(where)))
GET_LOGLEVEL, NEW_VDI, WRITE = 0xb9, 0x11, 1
stream = b"".join(struct.pack("<BBHIII", 0x0a, GET_LOGLEVEL, 0, 0, i, 4) + b"\0" * 32 for i in range(n))
# NEW_VDI announces a 256-byte name and sends 10 bytes of it.
stream += struct.pack("<BBHIII", 0x02, NEW_VDI, WRITE, 0, n, 256) + b"\0" * 32 + b"x" * 10
s.sendall(stream)
s.shutdown(socket.SHUT_WR)
s.settimeout(20)
data = b""
while True:
    d = s.recv(1 << 16)
    if not d:
        break
    data += d
ids, pos = [], 0
while pos + 48 <= len(data):
    _, _, _, _, rid, dlen, result = struct.unpack_from("<BBHIIII", data, pos)
    ids.append((rid, result))
    pos += 48 + dlen
ok = sorted(r for r, _ in ids) == list(range(n)) and all(res == 0 for _, res in ids) and pos == len(data)
print(len(ids), "ids-ok" if ok else "ids-wrong")
PY
}
for n in 100 300 1000; do
  assert_eq "$(pipeline unix "$T/0/sock" $n)" "$n ids-ok" "replies to $n pipelined requests over DIR/sock"
  assert_eq "$(pipeline tcp 7000 $n)" "$n ids-ok" "replies to $n pipelined requests over TCP"
done
# The sheep serves on: nothing was created by the cut-short request.
assert_eq "$(dogn 0 vdi list -r | wc -l)" 0 "VDIs after the cut-short NEW_VDI"
pass "half-closed clients get every reply"
