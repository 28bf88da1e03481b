#!/usr/bin/env python3
"""Plays systemd's part for a Type=notify service, for test 099.

  sd_notify_run.py SOCKET CHECK_CMD -- SERVICE_CMD...

Listens on the datagram socket SOCKET (NOTIFY_SOCKET), starts SERVICE_CMD
with NOTIFY_SOCKET set, and waits (60 s at most) for READY=1. Each message
is checked to come from the service's main process (SCM_CREDENTIALS), as
NotifyAccess=main requires. At READY=1 it runs CHECK_CMD through the shell
at once: the service must already serve. Then it sends SIGTERM, waits for
STOPPING=1 and the exit. Prints one line per event:
  message <pid-is-main> <text>, check <rc>, exit <status>.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time


def main():
    path, check = sys.argv[1], sys.argv[2]
    service = sys.argv[sys.argv.index("--") + 1:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    proc = subprocess.Popen(service, env=env, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    stopping = False
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            break
        sender = -1
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                sender = struct.unpack("iII", payload[:12])[0]
        text = data.decode(errors="replace").replace("\n", " ")
        print("message", "main" if sender == proc.pid else "other:%d" % sender, text, flush=True)
        fields = data.decode(errors="replace").split("\n")
        if "READY=1" in fields and not stopping:
            rc = subprocess.call(check, shell=True)
            print("check", rc, flush=True)
            proc.send_signal(signal.SIGTERM)
            stopping = True
            deadline = time.monotonic() + 60
        if "STOPPING=1" in fields:
            break
    try:
        print("exit", proc.wait(timeout=max(1, deadline - time.monotonic())), flush=True)
    except subprocess.TimeoutExpired:
        proc.kill()
        print("exit timeout", flush=True)


if __name__ == "__main__":
    main()
