#!/bin/bash
# dog's tables and messages on a one-node cluster match upstream byte for
# byte: node list, cluster info before and after format, vdi create/list
# (plain and raw), duplicate names, unknown VDIs, delete.
source "$(dirname "$0")/lib.sh"

start_sheep 0

assert_eq "$(dogn 0 node list)" "  Id   Host:Port         V-Nodes       Zone
   0   127.0.0.1:7000      	128          0" "node list"
assert_eq "$(dogn 0 node list -r)" "0 127.0.0.1:7000 128 0" "node list -r"

out=$(dogn 0 cluster info; echo "[exit $?]")
assert_eq "$out" "Cluster status: Waiting for cluster to be formatted

[exit 0]" "cluster info before format"

out=$(dogn 0 vdi create x 1G 2>&1; echo "[exit $?]")
assert_eq "$out" "Failed to create VDI x: Waiting for cluster to be formatted
[exit 1]" "vdi create before format"

assert_eq "$(dogn 0 cluster format -c 1; echo "[exit $?]")" "using backend plain store
[exit 0]" "cluster format"

out=$(dogn 0 cluster info | filter_dates)
assert_eq "$out" "Cluster status: running, auto-recovery enabled

Cluster created at CTIME

Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      1 [127.0.0.1:7000:128]" "cluster info after format"

out=$(dogn 0 cluster info -v | filter_dates)
assert_eq "$out" "Cluster status: running, auto-recovery enabled
Cluster store: plain with 1 redundancy policy
Cluster vnodes strategy: auto
Cluster vnode mode: node
Cluster created at CTIME

Epoch Time           Version [Host:Port:V-Nodes,,,]
DATE      1 [127.0.0.1:7000:128]" "cluster info -v"

header="  Name        Id    Size    Used  Shared    Creation time   VDI id  Copies  Tag   Block Size Shift"
assert_eq "$(dogn 0 vdi list)" "$header" "empty vdi list"

dogn 0 vdi create test 1G || fail "vdi create"
out=$(dogn 0 vdi create test 1G 2>&1; echo "[exit $?]")
assert_eq "$out" "Failed to create VDI test: VDI exists already
[exit 1]" "duplicate vdi create"
dogn 0 vdi create -v verb 10M >"$T/verb.out" || fail "vdi create -v"
assert_eq "$(cat "$T/verb.out")" "VDI ID of newly created VDI: 773a20" "vdi create -v"

out=$(dogn 0 vdi list | filter_dates)
assert_eq "$out" "$header
  verb         0   10 MB  0.0 MB  0.0 MB DATE   773a20      1                22
  test         0  1.0 GB  0.0 MB  0.0 MB DATE   7c2b25      1                22" "vdi list (in VID order)"

echo -n 'hello sheepdog' | dogn 0 vdi write test 0 14 || fail "vdi write"
out=$(dogn 0 vdi list -r test | sed -E 's/^(. [^ ]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ )[0-9]+/\1UNIXTIME/')
assert_eq "$out" "= test 0 1073741824 4194304 0 UNIXTIME 7c2b25 1  22" "vdi list -r"

out=$(dogn 0 vdi read nonexist 0 1 2>&1; echo "[exit $?]")
assert_eq "$out" "Failed to open VDI nonexist (snapshot id: 0 snapshot tag: ): No VDI found
[exit 1]" "read of an unknown VDI"

assert_eq "$(dogn 0 vdi list nonexist)" "$header" "vdi list of an unknown name"
assert_eq "$(dogn 0 vdi list -r nonexist)" "" "vdi list -r of an unknown name"

out=$(dogn 0 vdi delete nonexist 2>&1; echo "[exit $?]")
assert_eq "$out" "Failed to open VDI nonexist (snapshot id: 0 snapshot tag: ): No VDI found
[exit 0]" "delete of an unknown VDI (exit 0, as upstream)"

dogn 0 vdi delete test || fail "vdi delete"
out=$(dogn 0 vdi list | filter_dates)
assert_eq "$out" "$header
  verb         0   10 MB  0.0 MB  0.0 MB DATE   773a20      1                22" "vdi list after delete"
# The deleted VDI's data object is gone from the store.
[ -z "$(ls "$T/0/obj" | grep '^007c2b25')" ] || fail "data object of a deleted VDI left behind"

out=$(dogn 0 node info | sed -E 's/[0-9.]+ [MGT]B/SIZE/g')
assert_eq "$out" "Id	Size	Used	Avail	Use%
 0	SIZE	SIZE	SIZE	  0%
Total	SIZE	SIZE	SIZE	  0%

Total virtual image size	SIZE" "node info"
pass
