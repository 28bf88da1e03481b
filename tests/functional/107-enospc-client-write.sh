#!/bin/bash
# The disk of one replica fills up under a client's writes. Three sheep,
# copies 2, fixed vnodes; node 2 keeps its data on a 24 MiB tmpfs.
# Objects are 1 MiB and allocated whole when created, so node 2 holds
# about 20. A VDI "other" is written first; then each 1 MiB block of a
# 64 MiB VDI "full" is written through the plugin served by node 0:
# - the writes of blocks whose objects node 2 cannot store fail with
#   ENOSPC at the NBD client, the others succeed;
# - a failed block reads back as it was (zeros), a written one as written;
# - nothing is half-written: every object of "full" whose write was
#   acknowledged is on its two owners, the same bytes; an object a refused
#   write created on the owner with room stays there, whole, as upstream's
#   (its test 042 lists them), unnamed by the VDI's map (so the block
#   reads as it was) until the block's next write replaces it; no
#   temporary file is left;
# - "other" reads back and takes overwrites meanwhile;
# - once node 2's filesystem grows, the failed blocks are written and the
#   whole VDI reads back, every object on its two owners.
source "$(dirname "$0")/lib.sh"
mkdir -p "$T/2"
mount -t tmpfs -o size=24m tmpfs "$T/2" || fail "tmpfs"
on_exit "umount -l $T/2"
for i in 0 1 2; do start_sheep "$i" -V 128; done
for i in 0 1 2; do wait_nodes "$i" 3; done
dogn 0 cluster format -c 2 -V >/dev/null || fail "format"
dogn 0 vdi create -z 20 other 8M || fail "create other"
head -c 8M /dev/urandom >"$T/other"
dogn 0 vdi write other 0 8M <"$T/other" || fail "write other"
dogn 0 vdi create -z 20 full 64M || fail "create full"
vid=$(dogn 0 vdi list -r full | awk '{print $8}')  # hex
[ -n "$vid" ] || fail "no vid for full"
start_nbdkit "$T/nbd.sock" vdi=full port=7000
uri="nbd+unix:///?socket=$T/nbd.sock"

# write_blocks WHICH: writes block i (1 MiB of bytes derived from i) for
# each i in WHICH ("all" or a file of numbers); prints "i ok" / "i enospc".
write_blocks() {
  PATH=/usr/bin:$PATH nbdsh -u "$uri" -c "
import errno, hashlib, sys
which = '$1'
blocks = range(64) if which == 'all' else [int(x) for x in open(which).read().split()]
for i in blocks:
    data = hashlib.sha256(b'%d' % i).digest() * 32768
    try:
        h.pwrite(data, i << 20)
        print(i, 'ok')
    except nbd.Error as e:
        if e.errnum != errno.ENOSPC:
            print(i, 'error', e)
            sys.exit(1)
        print(i, 'enospc')
"
}
# check_blocks: every block reads back as written (listed ok) or zeros.
check_blocks() {  # RESULTS
  PATH=/usr/bin:$PATH nbdsh -u "$uri" -c "
import hashlib, sys
bad = 0
for line in open('$1'):
    i, what = line.split()[:2]
    i = int(i)
    want = hashlib.sha256(b'%d' % i).digest() * 32768 if what == 'ok' else bytes(1 << 20)
    if h.pread(1 << 20, i << 20) != want:
        print('block', i, 'reads back wrong after', what)
        bad += 1
sys.exit(1 if bad else 0)
"
}
# objects_whole RESULTS: the object of every block written (listed ok)
# on two nodes, alike; any object of a refused block whole (1 MiB); no
# temporary file anywhere.
objects_whole() {
  local i what f n files
  while read -r i what; do
    f=$(printf '00%06x%08x' "0x$vid" "$i")
    files=()
    for n in 0 1 2; do [ -f "$T/$n/obj/$f" ] && files+=("$T/$n/obj/$f"); done
    if [ "$what" = ok ]; then
      assert_eq "${#files[@]}" 2 "copies of $f (written)"
      [ "$(sha256sum "${files[@]}" | awk '{print $1}' | sort -u | wc -l)" = 1 ] || fail "copies of $f differ"
    fi
    for n in "${files[@]}"; do assert_eq "$(stat -c %s "$n")" $((1 << 20)) "size of $n"; done
  done <"$1"
  [ -z "$(find "$T"/{0,1,2}/obj -name '*.tmp*')" ] || fail "temporary files left"
}

write_blocks all >"$T/first" || { cat "$T/first" >&2; fail "writes failed otherwise than with ENOSPC"; }
nok=$(grep -c ' ok$' "$T/first" || true)
nfull=$(grep -c ' enospc$' "$T/first" || true)
echo "first pass: $nok blocks written, $nfull refused with ENOSPC"
[ "$nfull" -gt 0 ] || fail "no write met a full disk"
[ "$nok" -gt 0 ] || fail "no write succeeded"
check_blocks "$T/first" || fail "blocks after the first pass"
objects_whole "$T/first"
assert_eq "$(dogn 1 vdi read other | sha256sum | cut -d' ' -f1)" "$(sha256sum <"$T/other" | cut -d' ' -f1)" "other read back"
head -c 8M /dev/urandom >"$T/other"
dogn 1 vdi write other 0 8M <"$T/other" || fail "overwrite other while node 2 is full"
assert_eq "$(dogn 0 vdi read other | sha256sum | cut -d' ' -f1)" "$(sha256sum <"$T/other" | cut -d' ' -f1)" "other read back after its overwrite"

mount -o remount,size=128m "$T/2" || fail "grow node 2's tmpfs"
grep ' enospc$' "$T/first" | awk '{print $1}' >"$T/again"
write_blocks "$T/again" >"$T/second" || { cat "$T/second" >&2; fail "second pass"; }
[ "$(grep -c ' ok$' "$T/second")" = "$nfull" ] || { cat "$T/second" >&2; fail "some blocks still refused after node 2 grew"; }
write_blocks all >"$T/all" || fail "third pass"
check_blocks "$T/all" || fail "blocks after space was freed"
objects_whole "$T/all"
pass "ENOSPC reached the client, nothing half-written, other VDIs served, writes resumed once space was freed"
