#!/usr/bin/env python3
"""A recording TCP proxy for seed corpora (tests/fuzz/capture-seeds.sh).

capture_proxy.py LISTEN_PORT TARGET_PORT OUTDIR: every connection to
127.0.0.1:LISTEN_PORT is forwarded to 127.0.0.1:TARGET_PORT, and what
each side sent is written to OUTDIR/NNNN.c2s (client to sheep) and
OUTDIR/NNNN.s2c (sheep to client) when the connection ends.
"""
import os
import socket
import sys
import threading

listen_port, target_port, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(outdir, exist_ok=True)
counter = [0]
lock = threading.Lock()


def pump(src, dst, buf, done):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            buf.extend(data)
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    done.set()


def serve(client):
    with lock:
        counter[0] += 1
        n = counter[0]
    upstream = socket.create_connection(("127.0.0.1", target_port))
    c2s, s2c = bytearray(), bytearray()
    d1, d2 = threading.Event(), threading.Event()
    threading.Thread(target=pump, args=(client, upstream, c2s, d1), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, s2c, d2), daemon=True).start()
    d1.wait()
    d2.wait()
    for suffix, data in (("c2s", c2s), ("s2c", s2c)):
        with open(os.path.join(outdir, "%04d.%s" % (n, suffix)), "wb") as f:
            f.write(data)
    client.close()
    upstream.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
