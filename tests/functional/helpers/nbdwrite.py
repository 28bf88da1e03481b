#!/usr/bin/python3
"""Writes parts of a file to an NBD export with libnbd, several requests in
flight on one connection.

  nbdwrite.py URI FILE DEST_OFFSET CHUNK [STRIDE INDEX] [INFLIGHT]

FILE is cut into CHUNK-byte pieces; piece i goes to DEST_OFFSET + i*CHUNK.
With STRIDE and INDEX only the pieces with i % STRIDE == INDEX are written,
so STRIDE writers with INDEX 0..STRIDE-1 together write the whole file.
Run with /usr/bin/python3 (Debian's python3-libnbd).
"""
import sys

import nbd


def main():
    uri, path, dest, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    stride = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    index = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    inflight = int(sys.argv[7]) if len(sys.argv) > 7 else 8
    with open(path, "rb") as f:
        data = f.read()
    h = nbd.NBD()
    h.connect_uri(uri)
    pieces = [i for i in range((len(data) + chunk - 1) // chunk) if i % stride == index]
    pending = {}  # cookie -> buffer, kept alive until the write completes

    def reap():
        for cookie in list(pending):
            if h.aio_command_completed(cookie):  # raises nbd.Error if the write failed
                del pending[cookie]

    for i in pieces:
        reap()
        while len(pending) >= inflight:
            h.poll(-1)
            reap()
        buf = nbd.Buffer.from_bytearray(bytearray(data[i * chunk:(i + 1) * chunk]))
        pending[h.aio_pwrite(buf, dest + i * chunk)] = buf
    reap()
    while pending:
        h.poll(-1)
        reap()
    h.shutdown()


if __name__ == "__main__":
    main()
