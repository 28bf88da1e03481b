#!/bin/bash
# With a cluster key, whoever can write to the local driver's log (the
# membership channel) but lacks the key changes nothing: a fake newcomer is
# refused and never listed, a format message under a member's name is
# dropped, the real format record replayed is dropped, a forged death of a
# member is ignored, and a stopped sheep's JOIN replayed does not bring a
# ghost back. Every member keeps its data and its view.
source "$(dirname "$0")/lib.sh"
LOGTOOL=$ROOT/tests/functional/helpers/cluster_log.py
head -c 32 /dev/urandom | base64 >"$T/key"
export SHEEPDOG_AUTH_KEY=$T/key
start_cluster 3 --auth-key "$T/key"
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 8M || fail "create"
head -c 4M /dev/urandom >"$T/a"
dogn 0 vdi write disk 0 4M <"$T/a" || fail "write"
want=$(md5sum <"$T/a")
LOG=$T/cluster/log
id_of() { "$LOGTOOL" ids "$LOG" | awk -v p="$1" '$2 == p {print $1; exit}'; }
id1=$(id_of 7001)
id2=$(id_of 7002)
[ -n "$id1" ] && [ -n "$id2" ] || fail "no member ids in the log"
objects() { find "$T/$1/obj" -maxdepth 1 -type f | wc -l; }
before=$(objects 0)

# 1. A newcomer without the key.
"$LOGTOOL" forge-join "$LOG" p4242-1 7009
# 2. A format under a member's name, with a fresh sequence number.
settings=$(python3 -c 'import struct; print((struct.pack("<QHBBBB", 1, 1, 1, 0, 22, 0) + b"plain".ljust(16, b"\0") + bytes(2)).hex())')
"$LOGTOOL" forge-msg "$LOG" "$id1" 1 "$settings"
# 3. The real format record again, byte for byte.
"$LOGTOOL" replay "$LOG" msg:1 >/dev/null || fail "no format record to replay"
# 4. A member's death, announced by someone without the key.
"$LOGTOOL" forge-gone "$LOG" "$id2"

# Everything above is in the log before this operation: once every node
# has applied it, they have all seen (and judged) the forgeries.
dogn 1 vdi create after 4M || fail "create after the forgeries"
for n in 0 1 2; do
  wait_for 10 sh -c "'$DOG_BIN' vdi list -r -p $((7000 + n)) | grep -q ' after '"
  nodes_are "$n" 3 || fail "node $n lists $(node_count "$n") nodes"
  dogn "$n" node list -r | grep -q ":7009 " && fail "node $n lists the fake newcomer"
  dogn "$n" vdi list -r | grep -q " disk " || fail "node $n lost VDI disk"
  assert_eq "$(dogn "$n" vdi read disk 0 4M | md5sum)" "$want" "data through node $n"
done
[ "$(objects 0)" -ge "$before" ] || fail "node 0's store lost objects"
grep -q "refused a join from p4242-1: the joining node 127.0.0.1:7009 does not hold the cluster key" \
  "$T/0/sheep.log" || fail "the master did not log the refused join"
grep -q "a replayed cluster record from" "$T"/*/sheep.log || fail "no node logged the replay"
grep -q "without a valid MAC" "$T"/*/sheep.log || fail "no node logged the forged records"

# 5. A stopped sheep's JOIN, replayed: no ghost comes back.
stop_sheep 2
for n in 0 1; do wait_nodes "$n" 2; done
"$LOGTOOL" replay "$LOG" join:7002 >/dev/null || fail "no JOIN of 7002 to replay"
dogn 0 vdi create after2 4M || fail "create after the replayed join"
wait_for 10 sh -c "'$DOG_BIN' vdi list -r -p 7001 | grep -q ' after2 '"
for n in 0 1; do nodes_are "$n" 2 || fail "node $n lists $(node_count "$n") nodes after the replayed join"; done
pass
