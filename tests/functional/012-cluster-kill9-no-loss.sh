#!/bin/bash
# Five sheep, 3 copies. Data written through the plugin on one gateway reads
# back identical through the plugin on another; after kill -9 of a node that
# holds copies, nothing acknowledged is lost, reads work through every
# remaining gateway, and writes go on.
source "$(dirname "$0")/lib.sh"

start_cluster 5
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 96M || fail "vdi create"
head -c 96M /dev/urandom >"$T/a"
start_nbdkit "$T/nbd3.sock" vdi=disk port=7003
nbdcopy "$T/a" "nbd+unix:///?socket=$T/nbd3.sock" || fail "nbdcopy write through node 3"
want=$(md5sum <"$T/a" | cut -d' ' -f1)

start_nbdkit "$T/nbd4.sock" vdi=disk port=7004 readonly=true  # a reader beside the writer
got=$(nbdcopy "nbd+unix:///?socket=$T/nbd4.sock" - | md5sum | cut -d' ' -f1)
assert_eq "$got" "$want" "read through node 4's plugin"

kill9_sheep 1
for i in 0 2 3 4; do wait_nodes "$i" 4; done
for i in 0 2 3 4; do
  got=$(dogn "$i" vdi read disk 0 96M | md5sum | cut -d' ' -f1)
  assert_eq "$got" "$want" "read through node $i after kill -9 of node 1"
done

# Writes go on through the plugin whose gateway survived.
head -c 32M /dev/urandom >"$T/b"
nbdcopy "$T/b" "nbd+unix:///?socket=$T/nbd3.sock" || fail "write after the kill"
want=$(md5sum <"$T/b" | cut -d' ' -f1)
for i in 0 2 4; do
  got=$(dogn "$i" vdi read disk 0 32M | md5sum | cut -d' ' -f1)
  assert_eq "$got" "$want" "new data through node $i"
done
# Every object ends on exactly its owners.
wait_recovered 0
pass
