#!/bin/bash
# Deleting a VDI that a writer serves is refused, naming the writer, by dog
# and by the sheep (a client that skips dog's check gets VDI_LOCKED, and
# the data stays). Breaking the lock closes the writer's connection: its
# writes fail from then on (EROFS), so once the VDI is deleted and its vid
# handed to a new VDI (format -R), nothing of the old writer lands there.
# Without -R, nothing lands in the deleted VDI's objects either.
source "$(dirname "$0")/lib.sh"
RAW=$ROOT/tests/functional/helpers/rawclient.py
nbdsh() { PATH=/usr/bin:$PATH command nbdsh "$@"; }
write_at() {  # write_at SOCK BYTE OFFSET LEN: fails on an NBD error
  nbdsh -u "nbd+unix:///?socket=$1" -c "h.pwrite(bytes([$2]) * $4, $3)"
}
start_sheep 0

for recycle in -R ""; do
  dogn 0 cluster format -c 1 $recycle -f >/dev/null || fail "format $recycle"
  dogn 0 vdi create alpha 16M || fail "create alpha"
  sock=$T/w$recycle.sock
  start_nbdkit "$sock" vdi=alpha
  write_at "$sock" 7 0 1048576 || fail "the writer's first write"
  want=$(dogn 0 vdi read alpha 0 1M | md5sum)

  # dog refuses, naming the holder; exit 0 as upstream's delete always does.
  rc=0
  out=$(dogn 0 vdi delete alpha 2>&1) || rc=$?
  assert_eq "$rc" "0" "exit status of a refused delete"
  expect="Failed to delete alpha: VDI is already locked
VDI alpha is locked by a client of the sheep at IPv4 ip:127.0.0.1 port:7000: it is being served. Stop that writer, or break its lock first with: dog vdi lock unlock alpha"
  assert_eq "$out" "$expect" "dog vdi delete of a served VDI"
  # A client that does not ask first: the sheep refuses the deletion, and
  # the block map writes dog would make before it.
  assert_eq "$("$RAW" 7000 req op=0x17 flags=1 payload=name:alpha:256 | sed -n 's/.*result=\(0x[0-9a-f]*\).*/\1/p')" \
    "0x07" "raw DEL_VDI of a served VDI"
  dogn 0 vdi list -r alpha | grep -q " alpha " || fail "the VDI is gone"
  assert_eq "$(dogn 0 vdi read alpha 0 1M | md5sum)" "$want" "the served VDI's data"

  # Breaking the lock closes the writer's connection: it writes no more.
  dogn 0 vdi lock unlock alpha || fail "unlock"
  if write_at "$sock" 9 0 4096 2>/dev/null; then fail "the old writer wrote after its lock was broken"; fi
  assert_eq "$(dogn 0 vdi read alpha 0 1M | md5sum)" "$want" "data after the refused write"
  dogn 0 vdi lock list | grep -q alpha && fail "the old writer took the lock again"

  dogn 0 vdi delete alpha 2>"$T/del.err" || fail "delete after the unlock"
  [ -s "$T/del.err" ] && fail "delete after the unlock: $(cat "$T/del.err")"
  dogn 0 vdi create beta 16M || fail "create beta"
  if [ -n "$recycle" ]; then
    assert_eq "$(dogn 0 vdi list -r beta | awk '{print $8}')" "1" "beta got alpha's recycled vid"
  fi
  if write_at "$sock" 9 0 1048576 2>/dev/null; then fail "the old writer wrote after the delete"; fi
  assert_eq "$(dogn 0 vdi read beta 0 1M | md5sum)" "$(head -c 1M /dev/zero | md5sum)" \
    "beta's first MiB"
  kill "$(cat "$T/nbdkit.$(basename "$sock").pid")"
done
pass
