#!/bin/bash
# Requests forged against erasure-coded objects, on four sheep formatted
# 2:1: a peer write naming a strip index the object does not have, or a
# range beyond the strip, is refused with INVALID_PARMS and creates no
# file; a peer write that codes the object otherwise (as whole copies) is
# refused with OLD_NODE_VER and changes nothing; a client asking for 31
# copies of a coded object (of a VDI nobody created) gets its three
# strips, no more, and reads of a coded VDI's object work whatever count
# the client names; and every sheep is still up, the data intact.
source "$(dirname "$0")/lib.sh"
raw() { /usr/bin/python3 "$(dirname "$0")/helpers/rawclient.py" "$@"; }
result_of() { sed -n 's/.* result=\(0x[0-9a-f]*\).*/\1/p'; }

start_cluster 4
dogn 0 cluster format -c 2:1 >/dev/null || fail "format -c 2:1"
dogn 0 vdi create e 8M || fail "create"
head -c 8M /dev/urandom >"$T/d"
dogn 0 vdi write e 0 8M <"$T/d" || fail "write"
vid=$(dogn 0 vdi list -r e | awk '{print $8}')
oid=$(printf '0x00%06x00000000' "0x$vid")
name=$(printf '00%06x00000000' "0x$vid")
epoch=$(epoch_of 0)
holder=$(ls "$T"/[0-3]/obj/"${name}"_* | head -n 1)
node=$(basename "$(dirname "$(dirname "$holder")")")
index=${holder##*_}
port=$((7000 + node))
sum_before=$(md5sum <"$holder")

# A strip index the object does not have (2:1 has strips 0..2).
for ec in 3 200 255; do
  out=$(raw "$port" req op=0xa3 flags=1 epoch="$epoch" oid="$oid" ec="$ec" copies=3 policy=0x11 payload=zeros:512)
  assert_eq "$(echo "$out" | result_of)" "0x05" "CREATE_AND_WRITE_PEER with ec_index $ec"
done
# A range past the end of the strip (2 MiB for 2:1 and 4 MiB objects).
out=$(raw "$port" req op=0xa5 flags=1 epoch="$epoch" oid="$oid" ec="$index" copies=3 policy=0x11 offset=$((2 << 20)) payload=zeros:512)
assert_eq "$(echo "$out" | result_of)" "0x05" "WRITE_PEER past the strip"
assert_eq "$(ls "$T"/[0-3]/obj | grep -c "^${name}_\([3-9]\|[0-9][0-9]\+\)$" || true)" "0" "no file for a strip the object lacks"
# The same object coded otherwise by the sender (whole copies, 3 of them).
out=$(raw "$port" req op=0xa5 flags=1 epoch="$epoch" oid="$oid" ec=0 copies=3 policy=0 payload=zeros:4096)
assert_eq "$(echo "$out" | result_of)" "0x81" "WRITE_PEER as whole copies"
out=$(raw "$port" req op=0xa4 epoch="$epoch" oid="$oid" ec=0 copies=3 policy=0 dlen=4096)
assert_eq "$(echo "$out" | result_of)" "0x81" "READ_PEER as whole copies"
assert_eq "$(md5sum <"$holder")" "$sum_before" "the strip unchanged"

# 31 copies asked of a coded object: its strips, on three nodes.
stranger=0x00abcdef00000005
out=$(raw 7001 req op=0x01 flags=1 oid=$stranger copies=31 payload=zeros:4096)
assert_eq "$(echo "$out" | result_of)" "0x00" "CREATE_AND_WRITE_OBJ with 31 copies"
assert_eq "$(ls "$T"/[0-3]/obj | grep -c '^00abcdef00000005_[0-2]$')" "3" "three strips, no more"
out=$(raw 7002 req op=0x02 oid=$stranger copies=31 dlen=4096)
assert_eq "$(echo "$out" | result_of)" "0x00" "READ_OBJ with 31 copies"
# Of a VDI that exists, whatever count the client names.
for copies in 0 1 31; do
  out=$(raw 7003 req op=0x02 oid="$oid" copies=$copies dlen=4096)
  assert_eq "$(echo "$out" | sed -n 's/.*result=\(0x[0-9a-f]*\).*data_md5=\([0-9a-f]*\).*/\1 \2/p')" \
    "0x00 $(head -c 4096 "$T/d" | md5sum | cut -d' ' -f1)" "READ_OBJ of e with copies $copies"
done

for i in 0 1 2 3; do pgrep -f "^$SHEEP $T/$i " >/dev/null || fail "sheep $i is gone"; done
assert_eq "$(dogn 3 vdi read e | md5sum)" "$(md5sum <"$T/d")" "data intact"
pass
