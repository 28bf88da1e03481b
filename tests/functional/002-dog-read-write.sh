#!/bin/bash
# dog vdi write/read on a one-node cluster behave as upstream's: exact
# bytes and zero-filled holes, reads clipped at the end of the VDI, writes
# at the very end doing nothing, offsets beyond the end refused, and large
# random round trips byte for byte.
source "$(dirname "$0")/lib.sh"

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "cluster format"
dogn 0 vdi create test 1G || fail "vdi create"

# Runs "$@" and prints its combined output, then "[exit N]".
run() {
  local rc=0
  "$@" 2>&1 || rc=$?
  echo "[exit $rc]"
}

out=$(echo -n 'hello sheepdog' | run dogn 0 vdi write test 0 14)
assert_eq "$out" "[exit 0]" "14-byte write"
assert_eq "$(run dogn 0 vdi read test 0 14)" "hello sheepdog[exit 0]" "14-byte read"
assert_eq "$(dogn 0 vdi read test 0 16 | od -c)" \
  "0000000   h   e   l   l   o       s   h   e   e   p   d   o   g  \\0  \\0
0000020" "16-byte read with a zero tail"

# A whole block of random data at 4M.
head -c 4194304 /dev/urandom >"$T/r4m"
dogn 0 vdi write test 4194304 4194304 <"$T/r4m" || fail "4 MiB write"
dogn 0 vdi read test 4194304 4194304 | cmp - "$T/r4m" || fail "4 MiB read back differs"

# Suffixes in offsets; the length limits what is taken from stdin.
dogn 0 vdi write test 1K 512 <"$T/r4m" || fail "512-byte write at 1K"
dogn 0 vdi read test 1K 512 | cmp - <(head -c 512 "$T/r4m") || fail "512 bytes at 1K differ"
assert_eq "$(dogn 0 vdi read test 0 14)" "hello sheepdog" "bytes before 1K untouched"

# Reads are clipped at the end of the VDI.
assert_eq "$(dogn 0 vdi read test 1073741820 8 | wc -c)" "4" "read across the end"
assert_eq "$(dogn 0 vdi read test 1G 1 | wc -c)" "0" "read at the end"
assert_eq "$(dogn 0 vdi read test 1073741820 | wc -c)" "4" "read to the end without a length"
# A write at the very end writes nothing and succeeds silently.
assert_eq "$(run dogn 0 vdi write test 1G 1 </dev/zero)" "[exit 0]" "write at the end"

# Beyond the end: refused.
assert_eq "$(run dogn 0 vdi read test 1073741825 1)" "Read offset is beyond the end of the VDI
[exit 1]" "read beyond the end"
assert_eq "$(run dogn 0 vdi read test 2G 1)" "Read offset is beyond the end of the VDI
[exit 1]" "read at 2G"
assert_eq "$(run dogn 0 vdi write test 1073741825 1 </dev/zero)" \
  "Write offset is beyond the end of the VDI
[exit 1]" "write beyond the end"
assert_eq "$(run dogn 0 vdi write test 2G 1 </dev/zero)" "Write offset is beyond the end of the VDI
[exit 1]" "write at 2G"

# Two blocks written (0 and 1): Used is 8 MB, as upstream shows.
out=$(dogn 0 vdi list | filter_dates)
assert_eq "$out" "  Name        Id    Size    Used  Shared    Creation time   VDI id  Copies  Tag   Block Size Shift
  test         0  1.0 GB  8.0 MB  0.0 MB DATE   7c2b25      1                22" "vdi list after the writes"

# Holes read as zeros.
assert_eq "$(dogn 0 vdi read test 100M 4096 | md5sum)" "$(head -c 4096 /dev/zero | md5sum)" \
  "unwritten area reads as zeros"

# 64 MiB of random data at an unaligned offset, spanning 17 blocks.
head -c 64M /dev/urandom >"$T/r64m"
off=$((200 * 1048576 + 12345))
dogn 0 vdi write test $off 64M <"$T/r64m" || fail "64 MiB write"
assert_eq "$(dogn 0 vdi read test $off 64M | md5sum)" "$(md5sum <"$T/r64m")" "64 MiB round trip"
# Its neighbours are still zero, and the earlier data is intact.
assert_eq "$(dogn 0 vdi read test $((off - 8)) 8 | od -An -tx1 | xargs)" "00 00 00 00 00 00 00 00" \
  "bytes before the 64 MiB write"
assert_eq "$(dogn 0 vdi read test $((off + 67108864)) 8 | od -An -tx1 | xargs)" \
  "00 00 00 00 00 00 00 00" "bytes after the 64 MiB write"
dogn 0 vdi read test 4194304 4194304 | cmp - "$T/r4m" || fail "block 1 changed"
pass
