#!/bin/bash
# A hyper volume under fio with verification through the plugin (fio's
# nbd engine), writing near its start and beyond 4 TiB, so blocks are
# allocated in its B-tree concurrently, while a sheep is killed with -9:
# the verify pass finds no error; after the sheep is back and recovery
# is over, a second full verify (from another plugin, on another node)
# still finds every block, and the used space is what fio allocated.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create -y hv 16T || fail "create -y"
start_nbdkit "$T/nbd.sock" vdi=hv socket="$T/0/sock"
uri="nbd+unix:///?socket=$T/nbd.sock"
job() {  # job NAME VERIFY-MODE-ARGS...
  local name=$1
  shift
  fio --ioengine=nbd --uri="$1" --rw=randwrite --bs=16k --size=48M --iodepth=8 \
    --verify=crc32c --verify_fatal=1 --randseed=7 "${@:2}" --output="$T/$name.out" \
    --name=near --offset=0 --name=far --offset=$((5 << 40)) >/dev/null 2>&1
}
job fio1 "$uri" --do_verify=1 &
fio_pid=$!
on_exit "kill $fio_pid"
some_data() { [ "$(dogn 1 vdi list -r hv | awk '{print $5}')" -gt $((40 << 20)) ]; }
wait_for 120 some_data
kill9_sheep 2
wait $fio_pid || { cat "$T/fio1.out" >&2; fail "fio reported errors"; }
assert_eq "$(grep -c "err= 0" "$T/fio1.out")" "2" "both fio jobs without error"
for i in 0 1; do wait_nodes "$i" 2; done
start_sheep 2
for i in 0 1 2; do wait_nodes "$i" 3; done
wait_recovered 0
kill "$(cat "$T/nbdkit.nbd.sock.pid")"
start_nbdkit "$T/nbd2.sock" vdi=hv socket="$T/2/sock"
job fio2 "nbd+unix:///?socket=$T/nbd2.sock" --verify_only=1 || { cat "$T/fio2.out" >&2; fail "verify after recovery"; }
assert_eq "$(grep -c "err= 0" "$T/fio2.out")" "2" "verify after recovery"
assert_eq "$(dogn 1 vdi list -r hv | awk '{print $5}')" "$((2 * 12 * 4 << 20))" "used: 12 objects per 48M range"
pass
