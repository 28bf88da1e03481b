#!/bin/bash
# Bulk data through the nbdkit plugin: 256 MiB of random data copied in
# with nbdcopy reads back identically through dog and through nbdcopy, the
# rest of the export reads as zeros, and qemu-img convert -n writes a
# file (data and zero runs) over existing data exactly.
source "$(dirname "$0")/lib.sh"

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "cluster format"
dogn 0 vdi create test 512M || fail "vdi create"
start_nbdkit "$T/nbd.sock" vdi=test port=7000
uri="nbd+unix:///?socket=$T/nbd.sock"
assert_eq "$(nbdinfo --size "$uri")" "536870912" "export size"

head -c 256M /dev/urandom >"$T/r256"
sum=$(md5sum <"$T/r256")
nbdcopy "$T/r256" "$uri" || fail "nbdcopy into the export"

assert_eq "$(dogn 0 vdi read test 0 256M | md5sum)" "$sum" "256 MiB read back by dog"
nbdcopy "$uri" "$T/back" || fail "nbdcopy out of the export"
assert_eq "$(stat -c %s "$T/back")" "536870912" "size of the copy"
assert_eq "$(head -c 256M "$T/back" | md5sum)" "$sum" "256 MiB read back by nbdcopy"
assert_eq "$(tail -c 256M "$T/back" | md5sum)" "$(head -c 256M /dev/zero | md5sum)" \
  "the unwritten half reads as zeros"
rm -f "$T/back"
# 64 blocks written, none in the second half.
assert_eq "$(dogn 0 vdi list -r test | awk '{print $5}')" "$((64 * 4194304))" "used bytes"

# qemu-img convert -n over the existing data: random data, a 5 MiB zero
# run at an unaligned offset (over the random data written above) and
# more random data, 32 MiB in all, starting at the beginning.
{
  head -c 13M "$T/r256" | tr '\000-\377' '\001-\377\000'
  head -c $((5 * 1048576)) /dev/zero
  head -c $((14 * 1048576)) /dev/urandom
} >"$T/img"
head -c 1000 /dev/zero | dd of="$T/img" bs=1 seek=$((3 * 1048576 + 17)) conv=notrunc status=none
assert_eq "$(stat -c %s "$T/img")" "$((32 * 1048576))" "image size"
qemu-img convert -n -f raw -O raw "$T/img" "$uri" || fail "qemu-img convert into the export"
assert_eq "$(dogn 0 vdi read test 0 32M | md5sum)" "$(md5sum <"$T/img")" "image read back by dog"
assert_eq "$(nbdcopy "$uri" - | head -c 32M | md5sum)" "$(md5sum <"$T/img")" \
  "image read back by nbdcopy"
# Past the image, the nbdcopy data is untouched.
assert_eq "$(dogn 0 vdi read test 32M 224M | md5sum)" "$(tail -c 224M "$T/r256" | md5sum)" \
  "data after the image"
pass
