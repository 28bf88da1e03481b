#!/usr/bin/env python3
"""Measuring half of scripts/bench-scale.sh: watches the sheep's stores
(DIR/obj/<16 hex digits> are the live copies) instead of asking the
cluster, so a measurement costs no request to the sheep measured.

  scale_watch.py kill  STATE PIDS VICTIM_DIR DIR...  kill -9 PIDS (comma-
        separated), then wait
        until every object VICTIM_DIR held has min(copies, survivors) live
        copies among the surviving DIRs; prints the seconds taken.
  scale_watch.py join  STATE LAUNCH JOINED CHECK DIR...   starts a node with
        the shell command LAUNCH (its store: the last DIR), waits until JOINED
        passes, then until CHECK passes (run after the stores change); prints
        the seconds from the launch to the stores' last change, and the
        checks run
  scale_watch.py snap  STATE DIR...                  records which DIR holds
        which object live (STATE.snap)
  scale_watch.py moved STATE DIR...                  prints "NEW MIN": copies
        that appeared since the snapshot, and the minimum (NEW counted
        against copies any DIR lost: a copy made where one vanished is one
        move; MIN = copies that vanished with the victim, or, after a join,
        the copies the new node holds)
  scale_watch.py requests STATE PORT...              sums, over the sheep's
        metrics endpoints, the requests sheep answered, by opcode
        (STATE.req holds the last sums; prints the difference to them,
        less SUBTRACT="op=N ...", what the benchmark's checks sent)
  scale_watch.py rss PID...                          the largest VmHWM in MiB
"""
import json
import os
import re
import signal
import sys
import time
import urllib.request

HEX16 = re.compile(r"^[0-9a-f]{16}$")
COPIES = 3


def live_objects(d):
    try:
        return {e.name for e in os.scandir(os.path.join(d, "obj")) if HEX16.match(e.name)}
    except FileNotFoundError:
        return set()


def placement(dirs):
    return {d: live_objects(d) for d in dirs}


class Inotify:
    """The kernel's inotify through libc: names created in, renamed into,
    removed from or renamed out of a set of directories."""

    IN_CREATE, IN_MOVED_TO, IN_DELETE, IN_MOVED_FROM = 0x100, 0x80, 0x200, 0x40

    def __init__(self, dirs):
        import ctypes
        import ctypes.util
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = self.IN_CREATE | self.IN_MOVED_TO | self.IN_DELETE | self.IN_MOVED_FROM
        for d in dirs:
            if self.libc.inotify_add_watch(self.fd, os.path.join(d, "obj").encode(), mask) < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch " + d)

    def events(self, timeout):
        """(name, +1 appeared / -1 went) pairs; waits up to timeout."""
        import select
        import struct
        out = []
        if not select.select([self.fd], [], [], timeout)[0]:
            return out
        try:
            buf = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return out
        i = 0
        while i < len(buf):
            _, mask, _, size = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16:i + 16 + size].rstrip(b"\0").decode(errors="replace")
            i += 16 + size
            if mask & (self.IN_CREATE | self.IN_MOVED_TO):
                out.append((name, 1))
            elif mask & (self.IN_DELETE | self.IN_MOVED_FROM):
                out.append((name, -1))
        return out


def cmd_kill(state, pid, victim, dirs):
    # Events, not polling: a scan of every store each few milliseconds
    # would take a core from the sheep being measured.
    held = live_objects(victim)
    want = min(COPIES, len(dirs))
    watch = Inotify(dirs)
    counts = dict.fromkeys(held, 0)
    for d in dirs:
        for oid in live_objects(d) & held:
            counts[oid] += 1
    missing = sum(1 for c in counts.values() if c < want)
    start = time.monotonic()
    for p in pid.replace(",", " ").split():  # (upstream's sheep is two processes)
        os.kill(int(p), signal.SIGKILL)
    deadline = start + 600
    while missing > 0:
        if time.monotonic() > deadline:
            print("timeout")
            return 1
        for name, delta in watch.events(1.0):
            if name not in counts:
                continue
            before = counts[name] >= want
            counts[name] += delta
            missing += int(before) - int(counts[name] >= want)
    print("%.2f" % (time.monotonic() - start))
    return 0


def cmd_join(state, launch, joined, check, dirs):
    """Starts a node (shell command `launch`; its store is the last DIR,
    made beforehand), waits until `joined` passes (it is a member), then
    until `check` (check-placement) passes, running it after the stores
    changed; prints the seconds from the launch to the last change of any
    store before the check passed, and how many checks ran."""
    import subprocess

    def ok(cmd):
        return subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    os.makedirs(os.path.join(dirs[-1], "obj"), exist_ok=True)
    watch = Inotify(dirs)
    start = time.monotonic()
    last_change = start
    if not ok(launch):
        print("launch failed 0")
        return 1
    while not ok(joined):
        if time.monotonic() > start + 120:
            print("timeout 0")
            return 1
        time.sleep(0.01)
    runs = 0
    changed = True
    while time.monotonic() < start + 600:
        if changed:
            runs += 1
            if ok(check):
                print("%.2f %d" % (last_change - start, runs))
                return 0
        events = watch.events(0.5)
        changed = bool(events) or not changed  # else: again every second
        if events:
            last_change = time.monotonic()
            # Let a burst of changes end before checking again.
            while watch.events(0.05):
                last_change = time.monotonic()
    print("timeout %d" % runs)
    return 1


def cmd_snap(state, dirs):
    with open(state + ".snap", "w") as f:
        json.dump({d: sorted(s) for d, s in placement(dirs).items()}, f)
    return 0


def cmd_moved(state, dirs):
    with open(state + ".snap") as f:
        before = {d: set(s) for d, s in json.load(f).items()}
    after = placement(dirs)
    new = sum(len(after[d] - before.get(d, set())) for d in dirs)
    gone = {d: s for d, s in before.items() if d not in after}
    if gone:  # a node left: each copy it held must be made again (when
        # enough nodes are left to hold every copy)
        minimum = sum(len(s) for s in gone.values()) if len(dirs) >= COPIES else 0
    else:  # a node joined: it must get what it owns, and nothing else moves
        minimum = sum(len(after[d]) for d in dirs if d not in before)
    print(new, minimum)
    return 0


def scrape(port):
    sums = {}
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return sums
    for line in text.splitlines():
        m = re.match(r'^sheepdog_(client|peer)_requests_total\{op="([a-z_0-9]+)",[^}]*\} (\d+)', line)
        if m:
            sums[m.group(2)] = sums.get(m.group(2), 0) + int(m.group(3))
    return sums


# Requests only the benchmark's dog sends: never counted.
OWN_OPS = {"stat_recovery", "stat_cluster", "get_node_list"}


def cmd_requests(state, ports):
    total = {}
    for p in ports:
        for op, n in scrape(p).items():
            total[op] = total.get(op, 0) + n
    prev = {}
    if os.path.exists(state + ".req"):
        with open(state + ".req") as f:
            prev = json.load(f)
    with open(state + ".req", "w") as f:
        json.dump(total, f)
    diff = {op: n - prev.get(op, 0) for op, n in total.items() if n - prev.get(op, 0) > 0}
    # SUBTRACT="op=N ...": what the benchmark's own checks sent meanwhile.
    for item in os.environ.get("SUBTRACT", "").split():
        op, n = item.split("=")
        if op in diff:
            diff[op] = max(0, diff[op] - int(n))
    print(sum(n for op, n in diff.items() if op not in OWN_OPS),
          " ".join("%s=%d" % kv for kv in sorted(diff.items(), key=lambda kv: -kv[1])))
    return 0


def cmd_rss(pids):
    best = 0
    for pid in pids:
        try:
            with open("/proc/%s/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        best = max(best, int(line.split()[1]))
        except OSError:
            pass
    print("%.0f" % (best / 1024))
    return 0


def main(argv):
    cmd = argv[1]
    if cmd == "kill":
        return cmd_kill(argv[2], argv[3], argv[4], argv[5:])
    if cmd == "join":
        return cmd_join(argv[2], argv[3], argv[4], argv[5], argv[6:])
    if cmd == "snap":
        return cmd_snap(argv[2], argv[3:])
    if cmd == "moved":
        return cmd_moved(argv[2], argv[3:])
    if cmd == "requests":
        return cmd_requests(argv[2], argv[3:])
    if cmd == "rss":
        return cmd_rss(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
