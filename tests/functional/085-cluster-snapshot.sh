#!/bin/bash
# dog cluster snapshot (the "farm"): save a cluster holding a VDI with a
# snapshot and a clone with its own writes, a VDI of other copies, and a
# hyper volume; a second save of the unchanged cluster adds under 1% to
# the directory (objects are stored by content); list's format and the
# error messages of save/load/show; then load into a fresh cluster (load
# formats it): `vdi list -r` (names, snapshots, clones, vids, sizes,
# copies, times) and every VDI's bytes come back identical, the loaded
# VDIs take writes, snapshots and clones, and loading again over the
# now non-empty cluster asks first and gives the same result.
source "$(dirname "$0")/lib.sh"
FARM=$T/farm
raw() { /usr/bin/python3 "$(dirname "$0")/helpers/rawclient.py" "$@"; }

start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
head -c 12M /dev/urandom >"$T/a"
head -c 4M /dev/urandom >"$T/b"
head -c 2M /dev/urandom >"$T/c"
dogn 0 vdi create base 64M || fail "create base"
dogn 0 vdi write base 0 12M <"$T/a" || fail "write base"
dogn 0 vdi snapshot -s snap1 base || fail "snapshot"
dogn 0 vdi write base 8M 4M <"$T/b" || fail "write base after the snapshot"
dogn 0 vdi clone -s snap1 base clone1 || fail "clone"
dogn 1 vdi write clone1 20M 2M <"$T/c" || fail "write clone"
dogn 0 vdi create -c 3 small 8M || fail "create small"
head -c 1M /dev/urandom | dogn 2 vdi write small 1M 1M || fail "write small"
dogn 0 vdi create -y hv 1T || fail "create hyper volume"
dogn 0 vdi write hv 0 4M <"$T/b" || fail "write hv at 0"
dogn 1 vdi write hv $((512 << 30)) 2M <"$T/c" || fail "write hv at 512G"

# Every VDI's content, and the listing, as they must come back.
contents() {
  local n=$1
  echo "base $(dogn "$n" vdi read base | sum)"
  echo "snap1 $(dogn "$n" vdi read -s snap1 base | sum)"
  echo "clone1 $(dogn "$n" vdi read clone1 | sum)"
  echo "small $(dogn "$n" vdi read small | sum)"
  echo "hv0 $(dogn "$n" vdi read hv 0 8M | sum)"
  echo "hv512 $(dogn "$n" vdi read hv $((512 << 30)) 8M | sum)"
}
before=$(contents 0)
list_before=$(dogn 0 vdi list -r)
[ "$(printf '%s\n' "$list_before" | wc -l)" -eq 5 ] || fail "five VDIs expected: $list_before"

# save: a tag that starts with a number is refused.
# (Exit 64 prints the usage after the message, as upstream's dog does.)
out=$(dogn 0 cluster snapshot save 1st "$FARM" 2>&1; echo "[exit $?]")
assert_eq "$(printf '%s\n' "$out" | sed -n '1p;$p')" "Tag should not start with number.
[exit 64]" "numeric tag"

dogn 0 cluster snapshot save first "$FARM" || fail "first save"
size1=$(du -sb "$FARM" | cut -f1)
[ "$size1" -gt $((20 << 20)) ] || fail "the first save holds only $size1 bytes"
dogn 1 cluster snapshot save -m second "$FARM" || fail "second save"
size2=$(du -sb "$FARM" | cut -f1)
growth=$((size2 - size1))
[ $((growth * 100)) -lt "$size1" ] || fail "the second save added $growth bytes to $size1"
# Only the new trunk and the log changed: blobs are named by their SHA-1.
bad=$(find "$FARM/objects" -type f | while read -r f; do
  h=$(sha1sum "$f" | cut -d' ' -f1)
  [ "$h" = "$(basename "$(dirname "$f")")$(basename "$f")" ] || echo "$f"
done)
assert_eq "$bad" "" "every blob is named by the SHA-1 of its bytes"
[ -z "$(find "$FARM" -name '.tmp-*')" ] || fail "temporary files left behind"

out=$(dogn 0 cluster snapshot save first "$FARM" 2>&1; echo "[exit $?]")
assert_eq "$out" "Snapshot tag has already been used for another snapshot, please, use another one.
Fail to save snapshot to path: $FARM.
[exit 2]" "duplicate tag"

# list: a header, then index, tag and ctime(3) separated by two tabs.
out=$(dog cluster snapshot list "$FARM")
assert_eq "$(printf '%s\n' "$out" | sed -E 's/\t\t[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}$/\t\tCTIME/')" \
  "$(printf 'Index\t\tTag\t\tSnapshot Time\n1\t\tfirst\t\tCTIME\n2\t\tsecond\t\tCTIME')" "list"
out=$(dog cluster snapshot list "$T/empty-farm")
assert_eq "$out" "$(printf 'Index\t\tTag\t\tSnapshot Time')" "list of an empty directory"

# show: one line per VDI of the snapshot (vid order), or of the named ones.
vid_of() { printf '%s\n' "$list_before" | awk -v n="$1" -v t="$2" '$2 == n && $3 == t {print $8}'; }
out=$(dogn 0 cluster snapshot show first "$FARM" 2>&1)
assert_eq "$(printf '%s\n' "$out" | wc -l)" "5" "show lists five VDIs"
out=$(dogn 0 cluster snapshot show 2 "$FARM" clone1 2>&1)
assert_eq "$out" "1. VDI id: $(vid_of clone1 0), name: clone1, tag: " "show of one VDI"

# Index or tag missing.
out=$(dogn 0 cluster snapshot load 9 "$FARM" 2>&1; echo "[exit $?]")
assert_eq "$out" "Snapshot index or tag does not exist.
Fail to load snapshot
[exit 2]" "load of a missing index"
out=$(dogn 0 cluster snapshot show nosuch "$FARM" 2>&1; echo "[exit $?]")
assert_eq "$out" "Snapshot index or tag does not exist.
Fail to show snapshot
[exit 2]" "show of a missing tag"

# A fresh cluster (three other sheep, nothing formatted): load formats it
# as the saved cluster was and brings every VDI back.
for n in 0 1 2; do stop_sheep $n; done
for n in 3 4 5; do DRIVER=local:$T/cluster2 start_sheep $n; done
for n in 3 4 5; do wait_nodes $n 3; done
out=$(dogn 3 cluster snapshot load first "$FARM" 2>&1) || fail "load: $out"
assert_eq "$out" "using backend plain store" "load output"
assert_eq "$(dogn 4 cluster info -v | sed -n 2p)" "Cluster store: plain with 2 redundancy policy" \
  "the cluster is formatted as the saved one"
assert_eq "$(dogn 4 vdi list -r)" "$list_before" "vdi list after the load"
assert_eq "$(contents 5)" "$before" "VDI contents after the load"

# The loaded cluster works as the old one: a snapshot is read-only, the
# working VDIs take writes, and new VDIs get vids of their own.
snap_oid=$(printf '0x%06x00000000' $((0x$(vid_of base 1))))
out=$(raw 7003 req op=0x03 flags=0x01 oid="$snap_oid" payload=hex:00)
[[ $out == *"result=0x1a"* ]] || fail "a write to the snapshot's data was not refused: $out"
echo -n changed | dogn 3 vdi write clone1 0 7 || fail "write after the load"
assert_eq "$(dogn 4 vdi read -s snap1 base 0 7)" "$(head -c 7 "$T/a")" "the snapshot is unchanged"
dogn 3 vdi snapshot -s snap2 clone1 || fail "snapshot after the load"
dogn 3 vdi create newone 4M || fail "create after the load"
[ "$(dogn 3 vdi list -r | wc -l)" -eq 7 ] || fail "seven VDIs expected"

# Loading over the non-empty cluster asks first (as cluster format does).
out=$(echo no | dogn 3 cluster snapshot load second "$FARM" 2>&1)
[[ $out == *"Caution! The cluster is not empty."* ]] || fail "no prompt: $out"
[ "$(dogn 3 vdi list -r | wc -l)" -eq 7 ] || fail "answering no changed the cluster"
echo yes | dogn 4 cluster snapshot load second "$FARM" >/dev/null || fail "load over the cluster"
assert_eq "$(dogn 3 vdi list -r)" "$list_before" "vdi list after the second load"
assert_eq "$(contents 4)" "$before" "VDI contents after the second load"
pass
