#!/bin/bash
# Malformed and unusual requests on the raw binary protocol get the right
# result codes and header fields, never take the daemon down, and leave
# the data untouched: unknown opcode, protocol versions, oversized and
# wrongly sized payloads and reads, truncated requests, writes past the
# end of an object, and pipelined requests matched by id, also by the
# thousand.
source "$(dirname "$0")/lib.sh"

raw() { /usr/bin/python3 "$(dirname "$0")/helpers/rawclient.py" 7000 "$@"; }

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "cluster format"
dogn 0 vdi create test 1G || fail "vdi create"
echo -n 'hello sheepdog' | dogn 0 vdi write test 0 14 || fail "vdi write"
printf 'TAILDATA' | dogn 0 vdi write test 4194296 8 || fail "vdi write at the end of object 0"
vid=$(dogn 0 vdi list -r test | awk '{print $8}')
assert_eq "$vid" "7c2b25" "vid of test"
oid=0x007c2b2500000000
epoch=$(dogn 0 cluster info -r | awk 'NR == 3 {print $2}')
assert_eq "$epoch" "1" "current epoch"

# Header fields echoed: opcode and id copied, proto_ver and flags 0, epoch
# the current epoch, even on errors.
hdr() { echo "id=$1 opcode=$2 proto_ver=0 flags=0x0000 epoch=$epoch result=$3 data_length=$4"; }

# (a) unknown opcode.
assert_eq "$(raw req op=0x7e id=101 flags=0x0004)" "$(hdr 101 0x7e 0x05 0)" "unknown opcode 0x7e"
assert_eq "$(raw req op=0x7e id=102 flags=1 payload=zeros:100)" "$(hdr 102 0x7e 0x05 0)" \
  "unknown opcode with a payload"

# (b) protocol versions: 0, 1 and 2 accepted below 0x80, anything else
# refused; exactly 0x0a required from 0x80 on.
hello=68656c6c6f207368656570646f67
for v in 0 1 2; do
  assert_eq "$(raw req op=0x02 proto=$v id=$((110 + v)) oid=$oid dlen=14)" \
    "$(hdr $((110 + v)) 0x02 0x00 14) data=$hello" "READ_OBJ with proto_ver $v"
done
assert_eq "$(raw req op=0x02 proto=3 id=113 oid=$oid dlen=14)" "$(hdr 113 0x02 0x14 0)" \
  "READ_OBJ with proto_ver 3"
assert_eq "$(raw req op=0x02 proto=0x0a id=114 oid=$oid dlen=14)" "$(hdr 114 0x02 0x14 0)" \
  "READ_OBJ with proto_ver 0x0a"
assert_eq "$(raw req op=0x82 proto=2 id=115 dlen=491520)" "$(hdr 115 0x82 0x14 0)" \
  "GET_NODE_LIST with proto_ver 2"
out=$(raw req op=0x82 proto=0x0a id=116 dlen=491520)
[[ $out == "$(hdr 116 0x82 0x00 80) data_md5="* ]] || fail "GET_NODE_LIST with proto_ver 0x0a: $out"

# (c) a 1 GiB write payload is refused at once and the connection closed
# (the payload cannot be skipped).
assert_eq "$(raw req op=0x03 flags=1 id=120 oid=$oid dlen=0x40000000 check_close=1)" \
  "$(hdr 120 0x03 0x05 0)
closed" "WRITE_OBJ with a 1 GiB payload"

# (d) a read far larger than any object.
assert_eq "$(raw req op=0x02 id=121 oid=$oid dlen=0x7fffffff)" "$(hdr 121 0x02 0x05 0)" \
  "READ_OBJ of 0x7fffffff bytes"
assert_eq "$(raw req op=0x02 id=122 oid=$oid offset=4194300 dlen=8)" "$(hdr 122 0x02 0x05 0)" \
  "READ_OBJ across the end of the object"

# (e) GET_VDI_INFO: unknown name, known name, bad payload length.
assert_eq "$(raw req op=0x14 flags=1 id=130 payload=name:nosuch:512)" "$(hdr 130 0x14 0x08 0)" \
  "GET_VDI_INFO of an unknown name"
assert_eq "$(raw req op=0x14 flags=1 id=131 payload=name:test:512)" \
  "$(hdr 131 0x14 0x00 0) vdi_id=0x7c2b25" "GET_VDI_INFO of test"
assert_eq "$(raw req op=0x14 flags=1 id=132 payload=name:test:100)" "$(hdr 132 0x14 0x05 0)" \
  "GET_VDI_INFO with a 100-byte payload"

# (f) NEW_VDI needs exactly 256 bytes of name.
assert_eq "$(raw req op=0x11 flags=1 id=140 payload=name:new:100)" "$(hdr 140 0x11 0x05 0)" \
  "NEW_VDI with a 100-byte payload"
assert_eq "$(dogn 0 vdi list -r new)" "" "no VDI created by the bad NEW_VDI"

# (g) truncated requests: 20 bytes of a header; a header promising a
# 100-byte payload followed by 50 bytes; then the client goes away.
raw truncated 20 || fail "sending a truncated header"
raw truncated 98 op=0x03 flags=1 oid=$oid offset=64 payload="text:$(printf "Z%.0s" {1..100})" \
  || fail "sending a truncated payload"
[ -n "$(sheep_pid 0)" ] || fail "sheep died after truncated requests"
assert_eq "$(dogn 0 vdi read test 64 8 | od -An -tx1 | xargs)" "00 00 00 00 00 00 00 00" \
  "a truncated WRITE_OBJ wrote nothing"

# (h) pipelined requests in one send: replies matched by id, whatever
# order they come back in. The write goes to another object (block 1) than
# the reads, as pipelined requests may run in any order.
printf 'x' | dogn 0 vdi write test $((4194304 + 2000)) 1 || fail "vdi write to block 1"
zeros_md5=$({ printf 'hello sheepdog'; head -c $((4194304 - 22)) /dev/zero; printf 'TAILDATA'; } \
  | md5sum | cut -d' ' -f1)
out=$(raw pipeline \
  op=0x02,id=1,oid=$oid,dlen=5 \
  op=0x7e,id=2 \
  op=0x14,flags=1,id=3,payload=name:test:256 \
  op=0x02,id=4,oid=$oid,offset=6,dlen=8 \
  op=0x02,id=5,oid=$oid,dlen=4194304 \
  op=0x03,flags=1,id=6,oid=0x007c2b2500000001,offset=1000,payload=text:pipelined \
  op=0x14,flags=1,id=7,payload=name:nosuch:256 \
  op=0x02,proto=3,id=8,oid=$oid,dlen=4 \
  op=0x02,id=9,oid=$oid,offset=4194296,dlen=8)
assert_eq "$out" "$(hdr 1 0x02 0x00 5) data=68656c6c6f
$(hdr 2 0x7e 0x05 0)
$(hdr 3 0x14 0x00 0) vdi_id=0x7c2b25
$(hdr 4 0x02 0x00 8) data=7368656570646f67
$(hdr 5 0x02 0x00 4194304) data_md5=$zeros_md5
$(hdr 6 0x03 0x00 0)
$(hdr 7 0x14 0x08 0)
$(hdr 8 0x02 0x14 0)
$(hdr 9 0x02 0x00 8) data=5441494c44415441" "pipelined replies"
assert_eq "$(dogn 0 vdi read test $((4194304 + 1000)) 9)" "pipelined" "the pipelined write"

# (i) WRITE_OBJ across the end of the object is refused and changes
# nothing.
assert_eq "$(raw req op=0x03 flags=1 id=150 oid=$oid offset=4194303 payload=hex:5858)" \
  "$(hdr 150 0x03 0x05 0)" "WRITE_OBJ across the end of the object"
assert_eq "$(raw req op=0x03 flags=1 id=151 oid=$oid offset=4194304 payload=hex:5858)" \
  "$(hdr 151 0x03 0x05 0)" "WRITE_OBJ just past the end of the object"
# The same range check for every request that addresses bytes of an
# object, made once where the request is parsed: CREATE_AND_WRITE_OBJ and
# the peer opcodes other sheep send (read, write, create and write).
assert_eq "$(raw req op=0x01 flags=1 id=153 oid=$oid offset=4194303 payload=hex:5858)" \
  "$(hdr 153 0x01 0x05 0)" "CREATE_AND_WRITE_OBJ across the end of the object"
assert_eq "$(raw req op=0xa5 flags=1 epoch=$epoch id=154 oid=$oid offset=4194303 payload=hex:5858)" \
  "$(hdr 154 0xa5 0x05 0)" "WRITE_PEER across the end of the object"
assert_eq "$(raw req op=0xa3 flags=1 epoch=$epoch id=155 oid=$oid offset=4194304 payload=hex:5858)" \
  "$(hdr 155 0xa3 0x05 0)" "CREATE_AND_WRITE_PEER past the end of the object"
assert_eq "$(raw req op=0xa4 epoch=$epoch id=156 oid=$oid offset=4194300 dlen=8)" \
  "$(hdr 156 0xa4 0x05 0)" "READ_PEER across the end of the object"
assert_eq "$(raw req op=0xa4 epoch=$epoch id=157 oid=$oid offset=4194296 dlen=8)" \
  "$(hdr 157 0xa4 0x00 8) data=5441494c44415441" "READ_PEER within the object"
# More copies than a VDI may have (31): refused, not placed (a placement
# holds at most 32 nodes).
assert_eq "$(raw req op=0x02 id=158 oid=$oid copies=200 dlen=8)" "$(hdr 158 0x02 0x05 0)" \
  "READ_OBJ asking for 200 copies"
assert_eq "$(raw req op=0x03 flags=1 id=159 oid=$oid copies=32 offset=64 payload=hex:5858)" \
  "$(hdr 159 0x03 0x05 0)" "WRITE_OBJ asking for 32 copies"
# RELEASE_OBJECTS (ours, sheep to sheep) naming a block index past any
# flat inode's map: nothing is read or freed, and the sheep stays up.
assert_eq "$(raw req op=0xe0 flags=1 id=160 payload=hex:252b7c00ffffffff252b7c0000001000)" \
  "$(hdr 160 0xe0 0x00 0)" "RELEASE_OBJECTS with indexes past the map"
[ -n "$(sheep_pid 0)" ] || fail "sheep died on RELEASE_OBJECTS past the map"
assert_eq "$(raw req op=0x02 id=152 oid=$oid offset=4194296 dlen=8)" \
  "$(hdr 152 0x02 0x00 8) data=5441494c44415441" "object tail after the refused writes"
assert_eq "$(dogn 0 vdi read test 4194296 8)" "TAILDATA" "object tail read by dog"
assert_eq "$(dogn 0 vdi read test 4194304 2 | od -An -tx1 | xargs)" "00 00" \
  "nothing spilled into the next block"

# (j) Far more pipelined requests than one turn of the event loop parses
# (reads answered from the page cache) or than may be in flight at once
# (writes): every one is answered, none waits for more bytes on the socket.
specs=()
for i in $(seq 1 1000); do specs+=("op=0x02,id=$((1000 + i)),oid=$oid,dlen=5"); done
out=$(raw pipeline "${specs[@]}")
assert_eq "$(printf '%s\n' "$out" | grep -c "result=0x00 data_length=5 data=68656c6c6f")" "1000" \
  "answers to 1000 pipelined reads"
specs=()
for i in $(seq 1 600); do
  specs+=("op=0x03,flags=1,id=$((3000 + i)),oid=0x007c2b2500000001,offset=$((8192 + 8 * i)),payload=text:pipeline")
done
out=$(raw pipeline "${specs[@]}")
assert_eq "$(printf '%s\n' "$out" | grep -c "opcode=0x03 .*result=0x00 data_length=0")" "600" \
  "answers to 600 pipelined writes"
assert_eq "$(dogn 0 vdi read test $((4194304 + 8192 + 8 * 600)) 8)" "pipeline" "the last pipelined write"

# (k) STAT_CLUSTER builds its reply whole: node slots past twice the
# largest cluster are refused, and however much data_length asks for, the
# reply holds the epochs there are (a fuzzed one made a sheep allocate GiBs).
assert_eq "$(raw req op=0x87 id=160 nodes=12289 dlen=4294967295 | grep -o 'result=0x[0-9a-f]* data_length=[0-9]*')" \
  "result=0x05 data_length=0" "STAT_CLUSTER with too many node slots"
epochs=$(dogn 0 cluster info -r | awk 'NR == 3 {print $2}')
assert_eq "$(raw req op=0x87 id=161 nodes=12288 dlen=4294967295 | grep -o 'result=0x[0-9a-f]* data_length=[0-9]*')" \
  "result=0x00 data_length=$((epochs * (48 + 80 * 12288)))" "STAT_CLUSTER asking for 4 GiB"

# (l) A recovery read "from" an epoch far ahead is answered at once
# (NEW_NODE_VER): epochs come one membership change at a time, and waiting
# for that one held a worker thread for ten seconds per request.
out=$(timeout 5 /usr/bin/python3 "$(dirname "$0")/helpers/rawclient.py" 7000 req op=0xa4 flags=0x80 \
  id=170 epoch=$((epoch + 1000)) oid=$oid dlen=8) || fail "a recovery read of epoch $((epoch + 1000)) was not answered in 5 s"
echo "$out" | grep -q "result=0x82 " || fail "a recovery read of a far epoch: $out"

# (m) An inode whose block size shift names no layout (2^236-byte
# objects: damaged, or written so through the object interface) is not
# believed: a snapshot of it is refused, and the sheep lives on.
dogn 0 vdi create badshift 8M || fail "create badshift"
bvid=$(dogn 0 vdi list -r badshift | awk '{print $8}')
boid=$(printf '0x%016x' $(((1 << 63) | (0x$bvid << 32))))
raw req op=0x03 flags=1 id=180 oid="$boid" offset=555 payload=hex:ec | grep -q "result=0x00 " ||
  fail "writing the inode's block size shift"
if dogn 0 vdi snapshot badshift >"$T/out" 2>&1; then fail "a snapshot of an inode with shift 236 was taken"; fi
[ -n "$(sheep_pid 0)" ] || fail "sheep died on a snapshot of an inode with shift 236"

# The daemon still serves after all of that.
[ -n "$(sheep_pid 0)" ] || fail "sheep is gone"
assert_eq "$(dogn 0 node list -r)" "0 127.0.0.1:7000 128 0" "node list at the end"
assert_eq "$(dogn 0 vdi read test 0 14)" "hello sheepdog" "vdi read at the end"
assert_eq "$(dogn 0 cluster info -r | awk 'NR == 3 {print $2}')" "$epoch" "epoch unchanged"
pass
