#!/bin/bash
# A snapshot taken while fio writes through the plugin loses no write: the
# plugin's writes to the now-frozen vid get READONLY, it looks the VDI up
# again and redoes them as copy-on-write. fio's verify pass finds every
# block, and the snapshot itself stays readable.
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create disk 128M || fail "create"
start_nbdkit "$T/nbd.sock" vdi=disk
fio --name=snap --ioengine=nbd --uri="nbd+unix:///?socket=$T/nbd.sock" --rw=randwrite \
  --bs=64k --size=96M --iodepth=8 --verify=crc32c --verify_state_save=0 --verify_fatal=1 \
  --do_verify=1 --output="$T/fio.out" >/dev/null 2>"$T/fio.err" &
fio_pid=$!
on_exit "kill $fio_pid"
some_data() { [ "$(dogn 0 vdi list -r disk | awk '{print $5}')" -gt $((24 << 20)) ]; }
wait_for 60 some_data
dogn 1 vdi snapshot -s mid disk || fail "snapshot during the write"
wait $fio_pid || { cat "$T/fio.err" "$T/fio.out" >&2; fail "fio failed after a snapshot"; }
grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out" >&2; fail "fio errors"; }
out=$(dogn 0 vdi list -r disk | awk '{print $1, $3}' | tr '\n' ' ')
assert_eq "$out" "s 1 = 0 " "a snapshot and the working VDI"
dogn 2 vdi read -s mid disk 0 96M >/dev/null || fail "read the snapshot"
pass
