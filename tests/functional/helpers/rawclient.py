#!/usr/bin/python3
"""Speaks the Sheepdog binary protocol directly, for tests that send
requests dog never would (bad versions, bad lengths, truncated headers,
pipelining).

  rawclient.py PORT req KEY=VALUE...     one request, prints the reply
  rawclient.py PORT pipeline REQSPEC...  all requests in one send, replies
                                         matched by id, printed in id order
  rawclient.py PORT truncated N [KEY=VALUE...]
                                         the first N bytes of a request (by
                                         default a READ_OBJ), then close

Request keys (all optional): proto (default 2, or 0x0a for opcodes >= 0x80),
op, flags, epoch, id, dlen (data_length; defaults to the payload length),
oid, cow, copies, policy (obj.copy_policy), ec (obj.ec_index), tgt
(obj.tgt_epoch), offset (obj union), snapid (vdi union, at offset 32),
nodes (STAT_CLUSTER's cluster.nodes_nr), forw (IPV4:PORT: REPAIR_REPLICA's forw.addr and forw.port, with oid its forw.oid),
payload: name:NAME:LEN (NAME NUL-padded to LEN), zeros:N, hex:HEX, text:STR;
send (how many payload bytes are really sent; default all of them);
check_close=1 (after the reply, report whether the server closed).
In pipeline mode each REQSPEC is one argument of comma-separated KEY=VALUE.

A reply is printed as
  id=N opcode=0xNN proto_ver=N flags=0xNNNN epoch=N result=0xNN data_length=N [data=HEX | data_md5=MD5]
with data= for replies of up to 64 bytes, and vdi_id=0xN after a successful
NEW_VDI, GET_VDI_INFO or DEL_VDI.
"""
import hashlib
import socket
import struct
import sys

HDR = struct.Struct("<BBHIII32s")


def parse_int(v):
    return int(v, 0)


def build(spec):
    op = parse_int(spec.get("op", "0"))
    proto = parse_int(spec.get("proto", "0x0a" if op >= 0x80 else "2"))
    payload = b""
    p = spec.get("payload")
    if p:
        kind, _, rest = p.partition(":")
        if kind == "name":
            name, _, ln = rest.rpartition(":")
            payload = name.encode().ljust(int(ln), b"\0")
        elif kind == "zeros":
            payload = bytes(int(rest))
        elif kind == "hex":
            payload = bytes.fromhex(rest)
        elif kind == "text":
            payload = rest.encode()
        else:
            raise SystemExit("bad payload spec " + p)
    dlen = parse_int(spec.get("dlen", str(len(payload))))
    union = bytearray(32)
    if any(k in spec for k in ("oid", "offset", "cow", "copies", "policy", "ec", "tgt")):
        struct.pack_into("<QQBBBBII", union, 0, parse_int(spec.get("oid", "0")),
                         parse_int(spec.get("cow", "0")), parse_int(spec.get("copies", "0")),
                         parse_int(spec.get("policy", "0")), parse_int(spec.get("ec", "0")), 0,
                         parse_int(spec.get("tgt", "0")), parse_int(spec.get("offset", "0")))
    if "snapid" in spec:
        struct.pack_into("<I", union, 16, parse_int(spec["snapid"]))
    if "nodes" in spec:  # STAT_CLUSTER's cluster.nodes_nr
        struct.pack_into("<I", union, 24, parse_int(spec["nodes"]))
    if "forw" in spec:  # REPAIR_REPLICA's source node, IPV4:PORT
        addr, _, port = spec["forw"].rpartition(":")
        union[8 + 12:8 + 16] = socket.inet_aton(addr)
        struct.pack_into("<H", union, 24, int(port))
    hdr = HDR.pack(proto, op, parse_int(spec.get("flags", "0")), parse_int(spec.get("epoch", "0")),
                   parse_int(spec.get("id", "0")), dlen, bytes(union))
    send = int(spec.get("send", str(len(payload))))
    return hdr + payload[:send]


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def read_reply(s):
    raw = recv_exact(s, 48)
    proto, op, flags, epoch, rid, dlen, union = HDR.unpack(raw)
    result = struct.unpack_from("<I", union, 0)[0]
    vdi_id = struct.unpack_from("<I", union, 8)[0]
    data = recv_exact(s, dlen) if dlen else b""
    return dict(proto=proto, op=op, flags=flags, epoch=epoch, id=rid, dlen=dlen, result=result,
                vdi_id=vdi_id, data=data)


def fmt(r):
    line = "id=%d opcode=0x%02x proto_ver=%d flags=0x%04x epoch=%d result=0x%02x data_length=%d" % (
        r["id"], r["op"], r["proto"], r["flags"], r["epoch"], r["result"], r["dlen"])
    if r["op"] in (0x11, 0x14, 0x17) and r["result"] == 0:
        line += " vdi_id=0x%x" % r["vdi_id"]
    if r["data"]:
        if len(r["data"]) <= 64:
            line += " data=" + r["data"].hex()
        else:
            line += " data_md5=" + hashlib.md5(r["data"]).hexdigest()
    return line


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(s):
    s.settimeout(5)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def kv(items):
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        out[k] = v
    return out


def main():
    port = int(sys.argv[1])
    mode = sys.argv[2]
    if mode == "req":
        spec = kv(sys.argv[3:])
        s = connect(port)
        s.sendall(build(spec))
        try:
            print(fmt(read_reply(s)))
        except EOFError as e:
            print("no reply: " + str(e))
        if spec.get("check_close") == "1":
            print("closed" if closed_by_peer(s) else "still open")
    elif mode == "pipeline":
        specs = [kv(a.split(",")) for a in sys.argv[3:]]
        s = connect(port)
        s.sendall(b"".join(build(sp) for sp in specs))
        replies = {}
        for _ in specs:
            r = read_reply(s)
            if r["id"] in replies:
                raise SystemExit("duplicate reply id %d" % r["id"])
            replies[r["id"]] = r
        for rid in sorted(replies):
            print(fmt(replies[rid]))
    elif mode == "truncated":
        s = connect(port)
        spec = kv(sys.argv[4:]) or {"op": "0x02", "dlen": "8", "oid": "0"}
        s.sendall(build(spec)[: int(sys.argv[3])])
        s.close()
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
