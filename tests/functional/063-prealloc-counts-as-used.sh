#!/bin/bash
# `vdi create -P` takes the VDI's whole space at once: `vdi list` shows it
# as Used, and `node info` counts it on the nodes that hold the objects
# (copies 2: twice the size in all), as upstream (tests 088, 113).
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 2 >/dev/null </dev/null || fail "format"
dogn 0 vdi create -P foo 100M || fail "create -P"
assert_eq "$(dogn 0 vdi list | awk 'NR == 2 {print $3 " " $4 " " $5 " " $6}')" "100 MB 100 MB" "size and used in vdi list"
out=$(dogn 0 node info)
total_used=$(echo "$out" | awk -F'\t' '$1 == "Total" {print $3}')
assert_eq "$total_used" "200 MB" "Total Used in node info"
assert_eq "$(echo "$out" | tail -n 1)" "Total virtual image size	100 MB" "virtual size line"
# Each node's share is what its object files take on disk.
for i in 0 1 2; do
  blocks=$(du -sm --block-size=1M "$T/$i/obj" | awk '{print $1}')
  used=$(echo "$out" | awk -F'\t' -v id=" $i" '$1 == id {print $3}' | awk '{print $1}')
  [ $((blocks - used)) -le 1 ] && [ $((used - blocks)) -le 1 ] ||
    fail "node $i: node info says $used MB, its objects take $blocks MB"
done
pass
