#!/bin/bash
# Torn writes: a sheep killed with -9 while it replaces objects never
# serves a half-written one afterwards. Three sheep, copies 3 (every node
# holds every object, so every copy can be compared):
# - recovery: node 2 misses a rewrite of the whole VDI, comes back with a
#   throttled recovery and is killed -9 while it replaces its stale
#   copies; started again, it serves the new data at once (before its
#   recovery is over), and once recovery ends every copy on every node is
#   the same bytes and no temporary file is left;
# - copy-on-write: after a snapshot, fio (verified) writes the VDI through
#   node 0 while node 1 is killed -9 amid the copy-on-write creations; fio
#   sees no error, node 1 comes back, its recovery ends, fio's verify pass
#   finds every block, the snapshot still holds what it held, and again
#   every copy agrees.
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create -z 20 v 64M || fail "create"
head -c 64M /dev/urandom >"$T/a"
dogn 0 vdi write v 0 64M <"$T/a" || fail "first write"

# copies_agree: every object's copies on nodes 0-2 are the same bytes,
# and no temporary file is left in any store.
copies_agree() {
  local f n files
  for f in $(ls "$T"/{0,1,2}/obj | grep -E '^[0-9a-f]{16}$' | sort -u); do
    files=()
    for n in 0 1 2; do [ -f "$T/$n/obj/$f" ] && files+=("$T/$n/obj/$f"); done
    assert_eq "${#files[@]}" 3 "copies of $f"
    [ "$(sha256sum "${files[@]}" | awk '{print $1}' | sort -u | wc -l)" = 1 ] || fail "copies of $f differ"
  done
  [ -z "$(find "$T"/{0,1,2}/obj -name '*.tmp*')" ] || fail "temporary files left: $(find "$T"/{0,1,2}/obj -name '*.tmp*')"
}
sum_via() { dogn "$1" vdi read "${@:2}" v | sha256sum | cut -d' ' -f1; }

# --- recovery replacing stale copies
stop_sheep 2
for i in 0 1; do wait_nodes "$i" 2; done
head -c 64M /dev/urandom >"$T/b"
dogn 0 vdi write v 0 64M <"$T/b" || fail "rewrite without node 2"
want=$(sha256sum <"$T/b" | cut -d' ' -f1)
touch "$T/mark"
start_sheep 2 -R max=1,interval=200
# Killed once it has replaced some copies, not all.
replaced() { [ "$(find "$T/2/obj" -maxdepth 1 -name '00*' -newer "$T/mark" | wc -l)" -ge 4 ]; }
wait_for 60 replaced
kill9_sheep 2
n=$(find "$T/2/obj" -maxdepth 1 -name '00*' -newer "$T/mark" | wc -l)
[ "$n" -lt 64 ] || fail "node 2 had replaced all 64 copies before it was killed"
echo "node 2 killed after replacing $n of 64 copies"
start_sheep 2
assert_eq "$(sum_via 2)" "$want" "VDI read through node 2 right after its restart"
wait_recovered 0
for i in 0 1 2; do assert_eq "$(sum_via "$i")" "$want" "VDI read through node $i after recovery"; done
copies_agree
pass "recovery killed amid replacing copies: the new data served at once, copies agree"

# --- copy-on-write creations
dogn 0 vdi snapshot -s s1 v || fail "snapshot"
start_nbdkit "$T/nbd.sock" vdi=v port=7000
fio_job() {  # OUT ARGS...
  local out=$1
  shift
  fio --ioengine=nbd --uri="nbd+unix:///?socket=$T/nbd.sock" --rw=randwrite --bs=64k --iodepth=16 \
    --size=64M --verify=crc32c --verify_fatal=1 --verify_state_save=0 --randseed=5 "$@" \
    --name=cow --output="$T/$out" >/dev/null 2>&1
}
fio_job fio1.out --do_verify=1 &
fio_pid=$!
on_exit "kill $fio_pid"
vid=$(dogn 0 vdi list -r v | awk '$1 == "=" {print $3}' | head -n 1)
cowed() { [ "$(find "$T/1/obj" -maxdepth 1 -newer "$T/mark2" -name '00*' | wc -l)" -ge 8 ]; }
touch "$T/mark2"
wait_for 60 cowed
kill -0 $fio_pid 2>/dev/null || fail "fio was over before node 1 was killed"
kill9_sheep 1
wait $fio_pid || { cat "$T/fio1.out" >&2; fail "fio through node 0 while node 1 was killed"; }
grep -q "err= 0" "$T/fio1.out" || { cat "$T/fio1.out" >&2; fail "fio errors"; }
start_sheep 1
for i in 0 1 2; do wait_nodes "$i" 3; done
wait_recovered 0
fio_job fio2.out --verify_only=1 || { cat "$T/fio2.out" >&2; fail "fio verify after node 1 came back"; }
grep -q "err= 0" "$T/fio2.out" || { cat "$T/fio2.out" >&2; fail "fio verify errors"; }
for i in 0 1 2; do assert_eq "$(sum_via "$i" -s s1)" "$want" "snapshot s1 read through node $i"; done
copies_agree
pass "copy-on-write creations killed amid: fio verified, the snapshot intact, copies agree"
