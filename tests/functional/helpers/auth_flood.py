#!/usr/bin/python3
"""Clients without the cluster key, as a flood: some stream AUTH_CHALLENGE
requests and never read the answers, some connect and say nothing, some
send half a header and stop. Then waits for the sheep to close every one
of them.

  auth_flood.py PORT STREAMERS SILENT SECONDS DONE_FILE [ADDRESSES]

The connections come from ADDRESSES loopback addresses (default 4:
127.0.0.2, .3, ..., then 127.0.1.x), as from that many hosts.

Writes DONE_FILE once everything is sent, then waits up to SECONDS for
the sheep to close all connections; prints "closed N of M" and exits 0
only if it closed them all.
"""
import select
import socket
import struct
import sys
import time

HDR = struct.Struct("<BBHIII32s")
AUTH_CHALLENGE = 0xE2


def challenge(i):
    return HDR.pack(0x0A, AUTH_CHALLENGE, 0, 0, i, 32, bytes(32))


def main():
    port, streamers, silent, seconds, done_file = (int(sys.argv[1]), int(sys.argv[2]),
                                                   int(sys.argv[3]), float(sys.argv[4]),
                                                   sys.argv[5])
    addresses = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    socks = []
    for i in range(streamers + silent):
        a = 2 + i % addresses
        s = socket.create_connection(("127.0.0.1", port),
                                     source_address=("127.0.%d.%d" % (a // 250, a % 250 + 2), 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # read nothing, buffer little
        socks.append(s)
    burst = b"".join(challenge(i) for i in range(2000))
    for s in socks[:streamers]:
        s.settimeout(2)
        try:
            s.sendall(burst)
        except OSError:
            pass  # closed on us, or it stopped reading: either way it is bounded
    for i, s in enumerate(socks[streamers:]):
        if i % 2:
            try:
                s.sendall(challenge(0)[:20])  # half a header, then nothing
            except OSError:
                pass
    open(done_file, "w").close()
    deadline = time.time() + seconds
    closed = set()
    while len(closed) < len(socks) and time.time() < deadline:
        live = [s for s in socks if s.fileno() not in closed]
        ready, _, _ = select.select(live, [], [], 0.2)
        for s in ready:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed.add(s.fileno())
    print("closed %d of %d" % (len(closed), len(socks)))
    sys.exit(0 if len(closed) == len(socks) else 1)


if __name__ == "__main__":
    main()
