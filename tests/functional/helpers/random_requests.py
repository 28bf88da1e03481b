#!/usr/bin/python3
"""Sends COUNT random but well-framed Sheepdog requests (any opcode, any
flags and header fields, payloads of up to 512 bytes) to 127.0.0.1:PORT,
one connection per batch of 50, reading whatever comes back. Prints the
result codes seen, as "0xNN:count" pairs, and for successes the opcodes
("ok-op-0xNN:count").

  random_requests.py PORT COUNT [SEED]
"""
import collections
import random
import socket
import struct
import sys

HDR = struct.Struct("<BBHII32s")


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    seen = collections.Counter()
    sent = 0
    while sent < count:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            for _ in range(50):
                op = rng.randrange(256)
                flags = rng.randrange(65536)
                plen = rng.choice([0, 0, 4, 256, 512]) if flags & 1 else 0
                dlen = plen if flags & 1 else rng.choice([0, 8, 4096])
                union = bytes(rng.randrange(256) for _ in range(32))
                proto = 0x0A if op >= 0x80 else 2
                hdr = struct.pack("<BBHIII", proto, op, flags, 0, sent, dlen) + union
                s.sendall(hdr + bytes(rng.randrange(256) for _ in range(plen)))
                rsp = b""
                while len(rsp) < 48:
                    chunk = s.recv(48 - len(rsp))
                    if not chunk:
                        raise ConnectionError("closed")
                    rsp += chunk
                result, rlen = struct.unpack_from("<I", rsp, 16)[0], struct.unpack_from("<I", rsp, 12)[0]
                left = rlen
                while left:
                    chunk = s.recv(min(left, 65536))
                    if not chunk:
                        raise ConnectionError("closed")
                    left -= len(chunk)
                seen["0x%02x" % result] += 1
                if result == 0:
                    seen["ok-op-0x%02x" % op] += 1
                sent += 1
        except (ConnectionError, socket.timeout, OSError):
            seen["closed"] += 1
            sent += 1
        finally:
            s.close()
    print(" ".join("%s:%d" % kv for kv in sorted(seen.items())))


main()
