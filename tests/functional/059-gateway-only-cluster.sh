#!/bin/bash
# Gateways (sheep -g) as upstream: listed with 0 vnodes, members of every
# epoch, and counted as zones by `dog cluster format`. A cluster of gateways
# only formats without a prompt and runs, but has nowhere to store a VDI:
# creating one fails with "Failed to write to requested VDI".
source "$(dirname "$0")/lib.sh"

for i in 0 1 2 3 4 5; do start_sheep "$i" -g; done
for i in 0 1 2 3 4 5; do wait_nodes "$i" 6; done
out=$(dogn 0 cluster format -c 3 </dev/null 2>&1) || fail "format: $out"
assert_eq "$out" "using backend plain store" "format output (no prompt)"
for i in 0 1 2 3 4 5; do
  wait_for 10 sh -c "$DOG_BIN cluster info -p $((7000 + i)) | head -n 1 | grep -q running"
done
out=$(dogn 0 vdi create test 100M 2>&1) && fail "a VDI was created without data nodes"
assert_eq "$out" "Failed to create VDI test: Failed to write to requested VDI" "vdi create"
for i in 0 1 2 3 4 5; do stop_sheep "$i"; done
rm -rf "$T"/[0-5] "$T/cluster"

# Two gateways and two data nodes: the gateways are in the epochs.
start_sheep 0 -g
start_sheep 1 -g
start_sheep 2
start_sheep 3
for i in 0 1 2 3; do wait_nodes "$i" 4; done
assert_eq "$(dogn 0 node list | sed -n '2,3p')" "   0   127.0.0.1:7000      	 0          0
   1   127.0.0.1:7001      	 0          1" "gateways in the node list"
dogn 0 cluster format -c 2 >/dev/null </dev/null || fail "format"
dogn 0 vdi create disk 16M || fail "create with data nodes"
head -c 8M /dev/urandom >"$T/d"
dogn 1 vdi write disk 0 8M <"$T/d" || fail "write through a gateway"
assert_eq "$(dogn 0 vdi read disk 0 8M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data"
ls "$T/0/obj" "$T/1/obj" | grep -q '^[0-9a-f]\{16\}$' && fail "a gateway stores objects"
assert_eq "$(dogn 3 cluster info | filter_dates | sed -n '5,$p')" "Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      1 [127.0.0.1:7000:0, 127.0.0.1:7001:0, 127.0.0.1:7002:128, 127.0.0.1:7003:128]" "history"
pass
