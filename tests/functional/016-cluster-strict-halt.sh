#!/bin/bash
# A cluster formatted --strict (-t) with 3 copies refuses writes with HALT
# once fewer than 3 zones remain; reads go on; writes resume when a third
# zone is back.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 3 -t >/dev/null || fail "format"
dogn 0 vdi create v 16M || fail "create"
echo -n before | dogn 0 vdi write v 0 6 || fail "write"
kill9_sheep 2
wait_nodes 0 2
out=$(echo -n after | dogn 0 vdi write v 0 5 2>&1; echo "[exit $?]")
echo "$out" | grep -q "IO has halted as there are not enough living nodes" || fail "no HALT: $out"
assert_eq "$(dogn 1 vdi read v 0 6)" "before" "read while halted"
start_sheep 3
wait_nodes 0 3
echo -n after | dogn 1 vdi write v 0 5 || fail "write after a third zone came back"
assert_eq "$(dogn 0 vdi read v 0 6)" "aftere" "data after the halt"
# Every object ends on exactly its owners.
wait_recovered 0
pass
