#!/bin/bash
# Five sheep, 3 copies. fio writes with verification through the plugin
# while a node is killed with kill -9; fio's verify pass, run after the
# node is gone, finds zero errors, and once recovery is done every object
# has exactly its copies in distinct zones.
source "$(dirname "$0")/lib.sh"
start_cluster 5
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 128M || fail "create"
start_nbdkit "$T/nbd.sock" vdi=disk port=7004

fio --name=verify --ioengine=nbd --uri="nbd+unix:///?socket=$T/nbd.sock" --rw=randwrite \
  --bs=64k --size=96M --iodepth=8 --verify=crc32c --verify_state_save=0 --verify_fatal=1 --do_verify=1 \
  --output="$T/fio.out" >/dev/null 2>&1 &
fio_pid=$!
on_exit "kill $fio_pid"
# Kill a node once fio has written something.
some_data() { [ "$(dogn 0 vdi list -r disk | awk '{print $5}')" -gt $((16 << 20)) ]; }
wait_for 60 some_data
kill9_sheep 2
wait $fio_pid || { cat "$T/fio.out" >&2; fail "fio reported errors"; }
grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out" >&2; fail "fio errors"; }
for i in 0 1 3 4; do wait_nodes "$i" 4; done
wait_recovered 0
pass
