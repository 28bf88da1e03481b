#!/bin/bash
# Erasure coding with too few zones. A strict cluster (-t) formatted 4:2
# halts writes of a coded VDI once one of its six zones is gone, with
# upstream's message, reads going on; a replicated VDI of 2 copies in the
# same cluster keeps taking writes (strict counts each object's copies).
# Without -t, a 4:2 VDI on three sheep (fewer zones than data strips)
# refuses writes with a system error and stores nothing.
source "$(dirname "$0")/lib.sh"

start_cluster 6
dogn 0 cluster format -t -c 4:2 >/dev/null || fail "format -t -c 4:2"
dogn 0 vdi create e 8M || fail "create e"
dogn 0 vdi create -c 2 r 8M || fail "create r"
echo -n before | dogn 0 vdi write e 0 6 || fail "write e"
kill9_sheep 5
for i in 0 1 2 3 4; do wait_nodes "$i" 5; done
out=$(echo -n after | dogn 0 vdi write e 0 5 2>&1; echo "[exit $?]")
echo "$out" | grep -q "IO has halted as there are not enough living nodes" || fail "no HALT: $out"
assert_eq "$(dogn 1 vdi read e 0 6)" "before" "read while halted"
echo -n works | dogn 2 vdi write r 0 5 || fail "a 2-copy VDI halted too"
assert_eq "$(dogn 3 vdi read r 0 5)" "works" "the 2-copy VDI"
start_sheep 6
for i in 0 1 2 3 4 6; do wait_nodes "$i" 6; done
echo -n after | dogn 1 vdi write e 0 5 || fail "write after a sixth zone came back"
assert_eq "$(dogn 0 vdi read e 0 6)" "aftere" "data after the halt"
wait_recovered 0

# Three zones for four data strips.
for i in 0 1 2 3 4 6; do stop_sheep "$i"; done
rm -rf "$T/cluster" "$T"/[0-9]
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format for the few-zones part"
dogn 0 vdi create -c 4:2 few 8M || fail "create few"
assert_eq "$(dogn 0 vdi list -r few | awk '{print $9}')" "4:2" "Copies column"
rc=0
out=$(echo -n data | dogn 0 vdi write few 0 4 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "a write with 3 zones for 4 data strips succeeded"
echo "$out" | grep -q "System error" || fail "not a system error: $out"
assert_eq "$(ls "$T"/[0-2]/obj | grep -c '_[0-9]$' || true)" "0" "no strip stored"
pass
