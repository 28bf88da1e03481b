#!/bin/bash
# Several NBD clients write through one nbdkit at the same time, each with
# several requests in flight: separate regions, interleaved stripes that
# allocate the same objects from different connections, and a multi-conn
# nbdcopy; everything reads back exactly through dog, and nbdinfo shows
# the export's size, multi-conn and the allocated extents.
source "$(dirname "$0")/lib.sh"

nbdwrite() { PATH=/usr/bin:$PATH /usr/bin/python3 "$(dirname "$0")/helpers/nbdwrite.py" "$@"; }
M=1048576

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "cluster format"
dogn 0 vdi create test 512M || fail "vdi create test"
dogn 0 vdi create multi 512M || fail "vdi create multi"
start_nbdkit "$T/nbd.sock" vdi=test port=7000
uri="nbd+unix:///?socket=$T/nbd.sock"

assert_eq "$(nbdinfo --size "$uri")" "536870912" "export size"
nbdinfo --can multi-conn "$uri" || fail "multi-conn not advertised"
nbdinfo --can write "$uri" || fail "export is not writable"

# Phase 1: four clients, one 64 MiB region each, in parallel; requests of
# 3 MiB + 512 bytes so they straddle object boundaries.
pids=()
for k in 0 1 2 3; do
  head -c 64M /dev/urandom >"$T/region$k"
  nbdwrite "$uri" "$T/region$k" $((k * 64 * M)) $((3 * M + 512)) 1 0 8 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a region writer failed"; done
for k in 0 1 2 3; do
  assert_eq "$(dogn 0 vdi read test $((k * 64 * M)) 64M | md5sum)" "$(md5sum <"$T/region$k")" \
    "region $k read back by dog"
done

# Phase 2: four clients write interleaved 64 KiB stripes of one 128 MiB
# area at 256M that nothing has allocated yet: every object is first
# written by several connections at once.
head -c 128M /dev/urandom >"$T/striped"
pids=()
for k in 0 1 2 3; do
  nbdwrite "$uri" "$T/striped" $((256 * M)) 65536 4 $k 16 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a stripe writer failed"; done
assert_eq "$(dogn 0 vdi read test 256M 128M | md5sum)" "$(md5sum <"$T/striped")" \
  "interleaved stripes read back by dog"
for k in 0 1 2 3; do
  assert_eq "$(dogn 0 vdi read test $((k * 64 * M)) 64M | md5sum)" "$(md5sum <"$T/region$k")" \
    "region $k unchanged by the stripes"
done
assert_eq "$(dogn 0 vdi read test 384M 128M | md5sum)" "$(head -c 128M /dev/zero | md5sum)" \
  "the last 128 MiB is still zero"
assert_eq "$(dogn 0 vdi list -r test | awk '{print $5}')" "$((96 * 4194304))" "used bytes of test"
assert_eq "$(nbdinfo --map "$uri" | awk '{print $1, $2, $4}')" "0 402653184 data
402653184 134217728 hole,zero" "extent map of test"

# Phase 3: nbdcopy with four connections and many requests in flight
# fills a second, empty VDI through its own nbdkit.
start_nbdkit "$T/multi.sock" vdi=multi port=7000
head -c 512M /dev/urandom >"$T/full"
nbdcopy --connections=4 --requests=16 "$T/full" "nbd+unix:///?socket=$T/multi.sock" \
  || fail "nbdcopy --connections=4"
assert_eq "$(dogn 0 vdi read multi | md5sum)" "$(md5sum <"$T/full")" "multi read back by dog"
assert_eq "$(dogn 0 vdi list -r multi | awk '{print $5}')" "536870912" "used bytes of multi"
pass
