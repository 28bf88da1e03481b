#!/bin/bash
# The tree store (dog cluster format -b tree), upstream's second backend:
# inode objects under obj/meta, data objects under obj/XX (the VID's low
# byte); an unknown store lists the available ones, as upstream's dog
# prints them; data written through the plugin (local reads included)
# reads back; objects are recovered onto their owners after a kill -9, a
# full restart keeps the data and the layout, and a format back to plain
# leaves nothing behind in the tree's directories.
source "$(dirname "$0")/lib.sh"

start_cluster 3
rc=0
out=$(dogn 0 cluster format -b nosuch 2>"$T/err") || rc=$?
assert_eq "$rc" "2" "unknown store: exit"
assert_eq "$out" "using backend nosuch store
Available stores:
---------------------------------------
tree plain " "unknown store: the list"
assert_eq "$(cat "$T/err")" "Format failed: Targeted backend store is not found" "unknown store: error"

assert_eq "$(dogn 0 cluster format -b tree -c 2)" "using backend tree store" "format -b tree"
assert_eq "$(dogn 1 cluster info -v | sed -n 2p)" "Cluster store: tree with 2 redundancy policy" "cluster info -v"
dogn 0 vdi create t 32M || fail "create"
vid=$(dogn 0 vdi list -r t | awk '{print $8}')
bucket=$(printf %02x $((0x$vid & 0xff)))
inode=$(printf '80%06x00000000' "0x$vid")
head -c 32M /dev/urandom >"$T/d"
start_nbdkit "$T/nbd.sock" vdi=t socket="$T/0/sock"
nbdcopy "$T/d" "nbd+unix:///?socket=$T/nbd.sock" || fail "nbdcopy in"
nbdcopy "nbd+unix:///?socket=$T/nbd.sock" "$T/back" || fail "nbdcopy out"
cmp -s "$T/d" "$T/back" || fail "data through the plugin"
assert_eq "$(ls "$T"/[0-2]/obj/meta | grep -c "^$inode$")" "2" "the inode under obj/meta, 2 copies"
assert_eq "$(ls "$T"/[0-2]/obj/"$bucket" | grep -c "^00")" "16" "8 data objects under obj/$bucket, 2 copies"
assert_eq "$(ls "$T"/[0-2]/obj | grep -c '^[0-9a-f]\{16\}')" "0" "nothing in obj/ itself"
kill "$(cat "$T/nbdkit.nbd.sock.pid")"

# kill -9 and recovery; then a full restart.
kill9_sheep 2
for i in 0 1; do wait_nodes "$i" 2; done
start_sheep 3
for i in 0 1 3; do wait_nodes "$i" 3; done
wait_recovered 0
assert_eq "$(dogn 3 vdi read t | md5sum)" "$(md5sum <"$T/d")" "after recovery"
dogn 0 cluster shutdown || fail "shutdown"
for i in 0 1 3; do wait_for 20 sheep_gone "$i"; done
for i in 0 1 3; do start_sheep "$i"; done
for i in 0 1 3; do wait_nodes "$i" 3; done
wait_for 10 sh -c "$DOG_BIN cluster info -p 7001 | head -n 1 | grep -q running"
assert_eq "$(dogn 1 vdi read t | md5sum)" "$(md5sum <"$T/d")" "after a full restart"
dogn 0 vdi create u 4M || fail "create after restart"
echo -n fresh | dogn 0 vdi write u 0 5 || fail "write after restart"
uvid=$(dogn 0 vdi list -r u | awk '{print $8}')
ubucket=$(printf %02x $((0x$uvid & 0xff)))
assert_eq "$(ls "$T"/[0-3]/obj/"$ubucket" 2>/dev/null | grep -c "^00$(printf %06x "0x$uvid")" || true)" "2" "new objects still in the tree"

# Back to plain: the tree's directories are emptied.
dogn 0 cluster format -f -c 2 >/dev/null || fail "format back to plain"
assert_eq "$(find "$T"/[013]/obj -mindepth 2 -type f -name '[0-9a-f]*' | grep -v '/\.stale/' | wc -l)" "0" "no object left in meta/ or XX/"
dogn 0 vdi create p 4M || fail "create on plain"
echo -n plain | dogn 0 vdi write p 0 5 || fail "write on plain"
assert_eq "$(ls "$T"/[013]/obj | grep -c '^80[0-9a-f]\{14\}$')" "2" "inodes in obj/ again"
pass
