#!/bin/bash
# `dog cluster recover disable` holds recovery after a node is lost (cluster
# info says so; I/O still works); `enable` lets it finish.
source "$(dirname "$0")/lib.sh"
start_cluster 4
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 64M || fail "create"
head -c 64M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 64M <"$T/d" || fail "write"
assert_eq "$(dogn 0 cluster recover disable)" "Cluster recovery: disable" "recover disable"
assert_eq "$(dogn 1 cluster info | head -n 1)" "Cluster status: running, auto-recovery disabled" "cluster info"
kill9_sheep 3
wait_nodes 0 3
placement_ok && fail "recovery ran while disabled"
assert_eq "$(dogn 1 vdi read disk 0 64M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/d" | cut -d' ' -f1)" "read while disabled"
assert_eq "$(dogn 0 cluster recover enable)" "Cluster recovery: enable" "recover enable"
wait_recovered 0
pass
