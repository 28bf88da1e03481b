#!/bin/bash
# Recovery never fills a disk: a node whose data dir is a tiny tmpfs joins
# a cluster holding more than it can take. Its recovery stops with a clear
# log line, the cluster keeps serving every byte, and once the disk grows
# the recovery resumes and finishes.
source "$(dirname "$0")/lib.sh"
for i in 0 1 2; do start_sheep "$i" -V 128; done
for i in 0 1 2; do wait_nodes "$i" 3; done
dogn 0 cluster format -c 2 -V >/dev/null || fail "format"
dogn 0 vdi create disk 96M || fail "create"
head -c 96M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 96M <"$T/d" || fail "write"
want=$(md5sum <"$T/d" | cut -d' ' -f1)

mkdir -p "$T/3"
mount -t tmpfs -o size=20m tmpfs "$T/3" || fail "tmpfs"
on_exit "umount -l $T/3"
start_sheep 3 -V 128
for i in 0 1 2 3; do wait_nodes "$i" 4; done
stopped() { grep -q "recovery stopped, no space left" "$T/3/sheep.log"; }
wait_for 60 stopped
assert_eq "$(dogn 1 vdi read disk 0 96M | md5sum | cut -d' ' -f1)" "$want" "read while node 3 is full"
in_recovery() { ! no_recovery 0; }
in_recovery || fail "node 3 does not show as recovering"

mount -o remount,size=400m "$T/3" || fail "remount"
wait_recovered 0
assert_eq "$(dogn 3 vdi read disk 0 96M | md5sum | cut -d' ' -f1)" "$want" "read through node 3 after the disk grew"
pass
