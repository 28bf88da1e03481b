#!/usr/bin/python3
"""Reads and forges the local cluster driver's log, as an attacker who can
write to it would (tests of authenticated membership).

The log is a sequence of frames: u32 length, u8 kind (1 record, 2 gone),
a string id (u32 length + bytes), then for records the membership
protocol's record: u8 type (bit 0x80: sealed, a 32-byte MAC at the end),
string sender, u64 incarnation, u64 seq, then per type: JOIN (1) an 80-byte node and a
byte string of join info; JOIN_RESPONSE (2); MSG (3) a byte string whose
first u32 is the cluster message type (1 format, 10 lock release, ...).
Appends take the log's flock, as sheep do.

  cluster_log.py ids LOG                   "ID PORT" of every JOIN record
  cluster_log.py forge-join LOG ID PORT    an unsealed JOIN from ID for 127.0.0.1:PORT
  cluster_log.py forge-msg LOG ID TYPE HEX an unsealed MSG from ID (cluster message TYPE, payload HEX)
  cluster_log.py forge-gone LOG ID         an unsealed GONE of ID
  cluster_log.py replay LOG msg:TYPE       the first MSG record of cluster message TYPE, again
  cluster_log.py replay LOG join:PORT      the first JOIN record for PORT, again
"""
import fcntl
import struct
import sys


def frames(path):
    data = open(path, "rb").read()
    pos = 0
    while pos + 4 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        if pos + 4 + n > len(data):
            break
        yield data[pos:pos + 4 + n]
        pos += 4 + n


def parse(frame):
    """(kind, id, record type without the seal bit, sender, seq, rest)."""
    body = frame[4:]
    kind = body[0]
    (idlen,) = struct.unpack_from("<I", body, 1)
    fid = body[5:5 + idlen].decode()
    rec = body[5 + idlen:]
    if kind != 1 or not rec:
        return kind, fid, None, None, None, b""
    rtype = rec[0] & 0x7F
    (slen,) = struct.unpack_from("<I", rec, 1)
    sender = rec[5:5 + slen].decode()
    (seq,) = struct.unpack_from("<Q", rec, 13 + slen)
    return kind, fid, rtype, sender, seq, rec[21 + slen:]


def node_port(rest):
    # SdNode: 24 bytes, then node_id (16-byte address, u16 port, ...)
    (port,) = struct.unpack_from("<H", rest, 24 + 16)
    return port


def string(s):
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def append(path, kind, fid, payload):
    body = bytes([kind]) + string(fid) + payload
    with open(path, "ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(struct.pack("<I", len(body)) + body)
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


def node(port):
    n = bytearray(80)
    n[24 + 15] = 1  # ::127.0.0.1 as 12 zero bytes + 127.0.0.1
    n[24 + 12] = 127
    struct.pack_into("<H", n, 24 + 16, port)
    struct.pack_into("<H", n, 64, 128)  # vnodes
    struct.pack_into("<I", n, 68, port)  # zone
    return bytes(n)


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "ids":
        for fr in frames(path):
            kind, fid, rtype, sender, seq, rest = parse(fr)
            if rtype == 1:
                print(sender, node_port(rest))
    elif cmd == "forge-join":
        fid, port = sys.argv[3], int(sys.argv[4])
        rec = bytes([1]) + string(fid) + struct.pack("<QQ", 7, 1) + node(port) + struct.pack("<I", 0)
        append(path, 1, fid, rec)
    elif cmd == "forge-msg":
        fid, mtype, payload = sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5])
        msg = struct.pack("<II", mtype, 999) + payload
        rec = bytes([3]) + string(fid) + struct.pack("<QQ", 7, 1 << 40) + struct.pack("<I", len(msg)) + msg
        append(path, 1, fid, rec)
    elif cmd == "forge-gone":
        append(path, 2, sys.argv[3], b"")
    elif cmd == "replay":
        what, _, arg = sys.argv[3].partition(":")
        for fr in frames(path):
            kind, fid, rtype, sender, seq, rest = parse(fr)
            hit = False
            if what == "msg" and rtype == 3:
                (mlen,) = struct.unpack_from("<I", rest, 0)
                hit = mlen >= 4 and struct.unpack_from("<I", rest, 4)[0] == int(arg)
            elif what == "join" and rtype == 1:
                hit = node_port(rest) == int(arg)
            if hit:
                with open(path, "ab") as f:
                    fcntl.flock(f, fcntl.LOCK_EX)
                    f.write(fr)
                    f.flush()
                    fcntl.flock(f, fcntl.LOCK_UN)
                print("replayed %s from %s seq %d" % (sys.argv[3], sender, seq))
                return
        sys.exit("no record for " + sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
