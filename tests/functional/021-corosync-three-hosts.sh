#!/bin/bash
# Three hosts (network namespaces joined by a bridge), each with its own
# corosync and one sheep, as the README's corosync section sets them up:
# one cluster, formatted with 3 copies; data written through the plugin on
# host 1 reads back identical through host 3.
source "$(dirname "$0")/lib.sh"
start_corosync_hosts 3
out=$(host_dog 2 node list)
assert_eq "$out" "  Id   Host:Port         V-Nodes       Zone
   0   10.77.0.1:7000      	128          1
   1   10.77.0.2:7000      	128          2
   2   10.77.0.3:7000      	128          3" "node list on host 2"

host_dog 1 cluster format -c 3 >/dev/null || fail "format"
host_dog 3 vdi create disk 64M || fail "create"
head -c 48M /dev/urandom >"$T/d"
want=$(md5sum <"$T/d" | cut -d' ' -f1)
# nbdkit on host 1, talking to its own sheep.
preload=$(nbdkit_preload)
on_host 1 env LD_PRELOAD="$preload" nbdkit -U "$T/h1.sock" -P "$T/h1.pid" "$PLUGIN" \
  vdi=disk address=10.77.0.1 || fail "nbdkit on host 1"
on_exit "kill \$(cat $T/h1.pid)"
wait_for 20 test -S "$T/h1.sock"
nbdcopy "$T/d" "nbd+unix:///?socket=$T/h1.sock" || fail "write through host 1"
got=$(host_dog 3 vdi read disk 0 48M | md5sum | cut -d' ' -f1)
assert_eq "$got" "$want" "read through host 3"
# Each host stamps an epoch with its own clock: compare without the times.
ref=$(host_dog 1 cluster info | filter_dates)
assert_eq "$(host_dog 3 cluster info | filter_dates)" "$ref" "cluster info on hosts 1 and 3"
pass
