#!/usr/bin/python3
"""Checks where a multi-disk sheep (`sheep META,DISK0,DISK1,...`) keeps its
objects: every object file must be on the disk the node's vdisk ring names
for its oid, and on no other disk.

The ring (daemon/store/object_store.cpp, hash functions of common/hash.h):
each disk's capacity is the u64 little-endian xattr user.md.size of its
directory; with V = 16 MiB, doubled while (sum of the capacities)/V > 2^18,
a disk has max(1, ceil(capacity/V)) vdisks whose hashes are
h = sd_hash(path), then n times h = sd_hash_next(h). An object lives on the
disk of the first vdisk whose hash is >= sd_hash_oid(oid), wrapping to the
first one. The path is the string given on sheep's command line (trailing
slashes stripped), so pass the disks exactly as the sheep was given them.

  md_placement.py [--meta META] [--shares SIGMAS] DISK[=CAPACITY]...

CAPACITY (bytes) overrides the xattr. With --meta, a vdisk size the sheep
recorded in META/obj/.md_disks (a line "vdisk BYTES": the size chosen when the
node first ran, kept so that the ring of the disks that stay never
changes) is used instead of the rule above; a disk has at most 2^18
vdisks.

Object files are `<16 hex>` or `<16 hex>_<strip>`, in the disk directory
or (tree layout) in its `meta/` and `XX/` subdirectories; dot-entries
(`.stale/`, ...) and `*.tmp*` files are ignored. Prints the ring ("vdisk
size BYTES, N vdisks"), one line per disk, "PATH COUNT", then one line
per misplaced object and a summary line "N objects, M misplaced". With
--shares, each disk's count must also be its capacity share of all the
objects within SIGMAS standard deviations (see check_shares). Exit 0 when
everything is in place, 1 otherwise, 2 on usage errors.
"""
import bisect
import math
import os
import re
import struct
import sys

MASK = (1 << 64) - 1
FNV_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
VDISK_SIZE = 16 << 20
MAX_VDISKS = 1 << 18


def fnv1a(data, h):
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & MASK
    return h


def fnv64(x, h):
    for i in range(8):
        h ^= (x >> (8 * i)) & 0xFF
        h = (h * FNV_PRIME) & MASK
    return h


def sd_hash(data):
    h = fnv1a(data, FNV_BASIS)
    return fnv64(h, h)


def sd_hash_next(h):
    return fnv64(h, h)


def sd_hash_oid(oid):
    h = fnv64(oid, FNV_BASIS)
    return fnv64(h, h)


def self_test():
    # The vectors of tests/unit/test_hash.cpp.
    assert fnv1a(b"test", FNV_BASIS) == 0xF9E6E6EF197C2B25
    assert sd_hash_oid(0x807C2B2500000000) == 0x8B4B18C243BEFA1A
    assert sd_hash_oid(0x007C2B2500000000) == 0x387358F0FB5C1275
    for oid in (0x807C2B2500000000, 0x007C2B2500000001, 0x0123456789ABCDEF):
        assert sd_hash(oid.to_bytes(8, "little")) == sd_hash_oid(oid)
    nid = bytes(12) + bytes([0x7F, 0, 0, 1]) + (7000).to_bytes(2, "little")
    h = sd_hash(nid)
    assert h == 0x9CB3D6DD0A4C0F9F
    assert sd_hash_next(h) == 0x3AF2CBA6E538CDF3


def vdisk_size(capacities):
    total = sum(max(c, 1) for c in capacities)
    v = VDISK_SIZE
    while total // v > MAX_VDISKS:
        v *= 2
    return v


def recorded_vdisk_size(meta):
    """The "vdisk BYTES" line of META/obj/.md_disks, or None."""
    try:
        lines = open(os.path.join(meta, "obj", ".md_disks")).read().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        if line.startswith("vdisk "):
            return int(line[6:])
    return None


def build_ring(disks, v=None):
    """disks: [(path, capacity)] -> sorted [(hash, index)], vdisk size."""
    if v is None:
        v = vdisk_size([c for _, c in disks])
    ring = []
    for i, (path, cap) in enumerate(disks):
        n = min(max(1, (cap + v - 1) // v), MAX_VDISKS)
        h = sd_hash(path.encode())
        for _ in range(n):
            h = sd_hash_next(h)
            ring.append((h, i))
    ring.sort()
    return ring, v


def home_of(ring, keys, oid):
    i = bisect.bisect_left(keys, sd_hash_oid(oid))
    if i == len(ring):
        i = 0
    return ring[i][1]


NAME = re.compile(r"^([0-9a-f]{16})(?:_[0-9]+)?$")
BUCKET = re.compile(r"^(meta|[0-9a-f]{2})$")


def object_files(disk):
    """(oid, file path) of every object file on a disk."""
    out = []

    def scan(d, top):
        for name in sorted(os.listdir(d)):
            if name.startswith(".") or ".tmp" in name:
                continue
            p = os.path.join(d, name)
            if top and BUCKET.match(name) and os.path.isdir(p):
                scan(p, False)
                continue
            m = NAME.match(name)
            if m and os.path.isfile(p):
                out.append((int(m.group(1), 16), p))

    scan(disk, True)
    return out


def capacity_of(path):
    raw = os.getxattr(path, "user.md.size")
    if len(raw) != 8:
        raise ValueError("%s: user.md.size is %d bytes, not 8" % (path, len(raw)))
    return struct.unpack("<Q", raw)[0]


def check_shares(disks, counts, sigmas, v):
    """Each disk's count against its capacity share p of the M objects.

    Two independent sources of spread: the ring (a disk with k of the N
    vdisks, at pseudo-random positions, owns a share of the hash space
    distributed as Beta(k, N-k): variance p(1-p)/(N+1)) and the objects
    (M pseudo-random hashes: binomial, variance M p(1-p) objects). So the
    count's standard deviation is sqrt(M p(1-p) + M^2 p(1-p)/(N+1)); a
    deviation beyond SIGMAS of them is a failure (at 5 sigmas a correct
    store fails with probability 5.7e-7 per disk, the normal tail).
    """
    ring, _ = build_ring(disks, v)
    n = len(ring)
    m = sum(counts)
    total = sum(c for _, c in disks)
    bad = []
    for (path, cap), count in zip(disks, counts):
        p = cap / total
        sd = math.sqrt(m * p * (1 - p) + m * m * p * (1 - p) / (n + 1))
        want = m * p
        line = "share %s: %d objects, expected %.1f +- %.1f (%.1f sigmas allowed)" % (
            path, count, want, sd, sigmas)
        print(line)
        if abs(count - want) > sigmas * sd:
            bad.append(line)
    return bad


def main(argv):
    self_test()
    sigmas = None
    v = None
    args = argv[1:]
    while len(args) >= 2 and args[0] in ("--shares", "--meta"):
        if args[0] == "--shares":
            sigmas = float(args[1])
        else:
            v = recorded_vdisk_size(args[1])
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    disks = []
    for a in args:
        path, _, cap = a.partition("=")
        while len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        disks.append((path, int(cap) if cap else capacity_of(path)))
    ring, v = build_ring(disks, v)
    print("vdisk size %d, %d vdisks" % (v, len(ring)))
    keys = [h for h, _ in ring]
    counts = []
    misplaced = []
    where = {}
    for i, (path, _) in enumerate(disks):
        files = object_files(path)
        counts.append(len(files))
        print("%s %d" % (path, len(files)))
        for oid, f in files:
            home = home_of(ring, keys, oid)
            if home != i:
                misplaced.append("misplaced %s: belongs on %s" % (f, disks[home][0]))
            where.setdefault(oid, []).append(f)
    for oid, fs in sorted(where.items()):
        if len(fs) > 1:
            misplaced.append("%016x on several disks: %s" % (oid, " ".join(fs)))
    for line in misplaced:
        print(line)
    print("%d objects, %d misplaced" % (sum(counts), len(misplaced)))
    bad = check_shares(disks, counts, sigmas, v) if sigmas is not None else []
    return 1 if misplaced or bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
