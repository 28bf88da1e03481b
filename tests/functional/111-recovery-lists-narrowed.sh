#!/bin/bash
# Recovery after a node dies lists only the members the ring change
# touched (docs/SCALE.md, "Recovery lists"), and still brings every lost
# copy back; a re-formatted cluster (its epochs start again at 1) still
# recovers after the next death.
source "$(dirname "$0")/lib.sh"
start_cluster 20
alive() { local i; for ((i = 0; i < 20; i++)); do [[ " $* " == *" $i "* ]] || echo "$i"; done; }
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 200M || fail "create"
head -c 200M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 200M <"$T/d" || fail "write"
want=$(sum <"$T/d")
kill9_sheep 6
for i in $(alive 6); do wait_nodes "$i" 19; done
wait_recovered 0
assert_eq "$(dogn 3 vdi read disk 0 200M | sum)" "$want" "data after the death"
# Epoch 1 was recovered completely everywhere (a fresh format), so the
# survivors list only the members the ring change touched: with 128
# vnodes a node, most of them, but far from all 18 peers of all 19 nodes.
listed=0
for i in $(alive 6); do
  n=$(grep -o "epoch 2: listing the objects of [0-9]* of 18 members" "$T/$i/sheep.log" |
    awk '{print $7}') || true
  listed=$((listed + ${n:-18}))
done
[ "$listed" -lt $((19 * 18 * 9 / 10)) ] ||
  fail "the survivors listed $listed of $((19 * 18)) member lists after one death"

# Format again: epochs restart at 1 while recovery had seen epoch 2.
dogn 0 cluster format -c 3 -f >/dev/null </dev/null || fail "second format"
wait_for 20 epoch_is 0 1
dogn 0 vdi create disk2 40M || fail "create after format"
head -c 40M /dev/urandom >"$T/d2"
dogn 0 vdi write disk2 0 40M <"$T/d2" || fail "write after format"
kill9_sheep 9
for i in $(alive 6 9); do wait_nodes "$i" 18; done
wait_recovered 0
# Every object of disk2 has its 3 copies on the survivors' disks.
dirs=$(for i in $(alive 6 9); do echo "$T/$i/obj"; done)
# shellcheck disable=SC2086
for oid in $(ls $dirs | grep -E '^[0-9a-f]{16}$' | sort -u); do
  copies=0
  for d in $dirs; do if [ -e "$d/$oid" ]; then copies=$((copies + 1)); fi; done
  [ "$copies" -eq 3 ] || fail "object $oid has $copies live copies after the second death"
done
assert_eq "$(dogn 0 vdi read disk2 0 40M | sum)" "$(sum <"$T/d2")" "data after the second death"
pass
