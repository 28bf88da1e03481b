#!/bin/bash
# Sixteen sheep, 6 copies. One 512-byte write into each of 25 objects; five
# nodes are killed one at a time (recovery finishes after each); all 25
# objects are overwritten; the five come back with their old data dirs.
# Every gateway must read the new data, at once and after recovery: a copy
# older than a write made in an epoch its node missed is never served.
source "$(dirname "$0")/lib.sh"

start_cluster 16
dogn 0 cluster format -c 6 >/dev/null || fail "format"
dogn 0 vdi create test 100M || fail "create"
obj=$((4 << 20))
for ((i = 0; i < 25; i++)); do
  printf 'old%04d%505s' "$i" "" | dogn $((i % 16)) vdi write test $((i * obj)) 512 || fail "write $i"
done
for n in 15 14 13 12 11; do
  kill9_sheep "$n"
  for ((i = 0; i < n; i++)); do wait_nodes "$i" "$n"; done
  wait_recovered 0
done
for ((i = 0; i < 25; i++)); do
  printf 'new%04d%505s' "$i" "" | dogn $((i % 11)) vdi write test $((i * obj)) 512 || fail "overwrite $i"
done
for n in 11 12 13 14 15; do start_sheep "$n"; done
for ((i = 0; i < 16; i++)); do wait_nodes "$i" 16; done

check_all() {
  local when=$1 g i got
  for ((g = 0; g < 16; g++)); do
    for ((i = 0; i < 25; i++)); do
      got=$(dogn "$g" vdi read test $((i * obj)) 7) || fail "read $i through node $g ($when)"
      [ "$got" = "$(printf 'new%04d' "$i")" ] || fail "node $g served '$got' for object $i ($when)"
    done
  done
}
check_all "right after the rejoin"
wait_recovered 0
check_all "after recovery"
pass
