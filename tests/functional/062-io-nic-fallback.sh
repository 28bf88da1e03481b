#!/bin/bash
# `sheep -i host=IP,port=PORT`: a second address for I/O between sheep. It
# is advertised in the node list records, the sheep listen on it and peer
# I/O uses it; when it goes dark under connections in use (packets to and
# from one node's I/O port dropped), the sheep fall back to the main
# address, say "fallback" in the log, and the write completes intact
# (upstream's test 050).
source "$(dirname "$0")/lib.sh"

for i in 0 1 2; do start_sheep "$i" -i host=127.0.0.1,port=$((8000 + i)); done
for i in 0 1 2; do wait_nodes "$i" 3; done
for i in 0 1 2; do
  [ -n "$(ss -Hltn "sport = :$((8000 + i))")" ] || fail "node $i does not listen on its I/O port"
done
dogn 0 cluster format >/dev/null </dev/null || fail "format"
dogn 0 vdi create test 64M || fail "create"
head -c 64M /dev/urandom >"$T/d"
dogn 0 vdi write test 0 16M <"$T/d" || fail "first write"
# Peer I/O went to the I/O ports.
[ -n "$(ss -Htn "dport = :8001")" ] || fail "no connection to node 1's I/O port"

nft add table inet sdtest
nft add chain inet sdtest input '{ type filter hook input priority 0; }'
nft add rule inet sdtest input tcp dport 8001 drop
nft add rule inet sdtest input tcp sport 8001 drop
on_exit "nft delete table inet sdtest"
dogn 0 vdi write test 0 64M <"$T/d" || fail "the write failed"
wait_for 60 grep -q fallback "$T/0/sheep.log"
out=$(dogn 0 vdi check test 2>&1) || fail "vdi check: $out"
assert_eq "$(dogn 2 vdi read test 0 64M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data"
pass
