#!/bin/bash
# dog vdi alter-copy and cluster alter-copy, worded as upstream's dog words
# them: a standalone replicated VDI goes from 2 to 3 copies and every object
# ends on exactly its 3 owners, then back to 2 and the extra copies go;
# snapshots' families, erasure-coded shapes, the same count and unknown
# VDIs are refused, and so is a change while recovery is held; a served
# (locked) VDI is not changed under its writer;
# cluster alter-copy changes only the VDIs created later; the new count
# survives a restart of every sheep.
source "$(dirname "$0")/lib.sh"

start_cluster 4
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create a 12M || fail "create a"
head -c 12M /dev/urandom >"$T/a"
dogn 1 vdi write a 0 12M <"$T/a" || fail "write a"
want=$(md5sum <"$T/a")
vid=$(dogn 0 vdi list -r a | awk '{print $8}')
live_copies() { ls "$T"/[0-3]/obj | grep -c "^00$(printf %06x 0x$vid)0000000[0-2]$" || true; }
stale_copies() { ls "$T"/[0-3]/obj/.stale | grep -c "^00$(printf %06x 0x$vid)" || true; }
assert_eq "$(live_copies)" "6" "two copies of a's three objects"

# Up to 3, answering the prompt.
out=$(echo yes | dogn 0 vdi alter-copy -c 3 a 2>"$T/err") || fail "alter-copy 3"
assert_eq "$out" "    __
   ()'\`;
   /\\|\`  Caution! Changing VDI's redundancy level will affect
  /  |   the VDI itself only and trigger recovery.
(/_)_|_  Are you sure you want to continue? [yes/no]: " "the prompt"
assert_eq "$(cat "$T/err")" "a's redundancy level is set to 3, the old one was 2." "alter-copy message"
wait_recovered
assert_eq "$(live_copies)" "9" "three copies of each object"
assert_eq "$(dogn 2 vdi list -r a | awk '{print $9}')" "3" "Copies column"
for i in 0 1 2 3; do
  assert_eq "$(dogn "$i" vdi read a 0 12M | md5sum)" "$want" "a through node $i with 3 copies"
done

# Refusals, with upstream's words and exit codes.
expect() {  # expect CODE STDERR -- dog args...
  local code=$1 msg=$2 rc=0
  shift 3
  dogn 0 "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  assert_eq "$rc" "$code" "exit code of dog $*"
  assert_eq "$(cat "$T/err")" "$msg" "message of dog $*"
}
expect 1 "a's redundancy level is already set to 3, nothing changed." -- vdi alter-copy -c 3 a
expect 1 "Failed to open VDI nosuch (snapshot id: 0 snapshot tag: ): No VDI found
Reading nosuch's vdi object failure." -- vdi alter-copy -f -c 2 nosuch
expect 64 "Changing redundancy level of erasure coded vdi is not supported yet." -- \
  vdi alter-copy -c 4:2 a
grep -q "^Usage: dog vdi alter-copy \[-c copies\] \[-a address\] \[-p port\] \[-h\] \[-T\] \[-f\] <vdiname>$" \
  "$T/out" || fail "usage after an erasure-coded shape"
expect 1 "Invalid parameter 40
To create replicated vdi, set -c x
  x(1 to 31)   - number of replicated copies
To create erasure coded vdi, set -c x:y
  x(2,4,8,16)  - number of data strips
  y(1 to 15)   - number of parity strips" -- vdi alter-copy -c 40 a
dogn 0 vdi create b 8M || fail "create b"
head -c 4M /dev/urandom | dogn 0 vdi write b 0 4M || fail "write b"
dogn 0 vdi snapshot -s s1 b || fail "snapshot b"
expect 1 "Only standalone vdi supports changing redundancy level.
Please clone b with -n (--no-share) option first." -- vdi alter-copy -f -c 3 b
dogn 0 vdi clone -s s1 b c || fail "clone"
expect 1 "Only standalone vdi supports changing redundancy level.
Please clone c with -n (--no-share) option first." -- vdi alter-copy -f -c 3 c
# ... which a clone made with -n is: a VDI of its own, as upstream makes it.
dogn 0 vdi clone -n -s s1 b n || fail "clone -n"
expect 0 "n's redundancy level is set to 3, the old one was 2." -- vdi alter-copy -f -c 3 n
wait_recovered
assert_eq "$(dogn 1 vdi read n 0 8M | md5sum)" "$(dogn 2 vdi read -s s1 b 0 8M | md5sum)" \
  "the -n clone's data"
out=$(echo no | dogn 0 vdi alter-copy -c 5 a)
assert_eq "$out" "Number of copies (5) is larger than number of nodes (4).
Are you sure you want to continue? [yes/no]: " "more copies than nodes"
assert_eq "$(dogn 0 vdi list -r a | awk '{print $9}')" "3" "nothing changed by the refusals"

# Not while recovery is held: the sheep refuses, dog puts the inode back.
dogn 0 cluster recover disable >/dev/null || fail "recover disable"
expect 1 "Failed to change a's redundancy level: Targeted node is in recovery" -- \
  vdi alter-copy -f -c 2 a
assert_eq "$(dogn 0 vdi list -r a | awk '{print $9}')" "3" "inode put back after a refusal"
dogn 0 cluster recover enable >/dev/null || fail "recover enable"

# A VDI being written is not re-homed under its writer.
start_nbdkit "$T/w.sock" vdi=a
out=$(dogn 0 vdi alter-copy -f -c 2 a 2>&1) && fail "alter-copy of a served VDI: $out"
assert_eq "$(dogn 0 vdi list -r a | awk '{print $9}')" "3" "a served VDI keeps its copies"
pid=$(cat "$T/nbdkit.w.sock.pid")
kill "$pid"
wait_for 20 sh -c "! kill -0 $pid 2>/dev/null"
unlocked() { ! dogn 0 vdi lock list | grep -q "^ *a "; }
wait_for 20 unlocked

# Back down to 2: the third copies stop being live at once, and go once
# every node has recovered.
dogn 0 vdi alter-copy -f -c 2 a 2>"$T/err" || fail "alter-copy 2"
assert_eq "$(cat "$T/err")" "a's redundancy level is set to 2, the old one was 3." "down to 2"
wait_recovered
assert_eq "$(live_copies)" "6" "two copies of each object again"
no_stale() { [ "$(stale_copies)" = 0 ]; }
wait_for 30 no_stale
for i in 0 1 2 3; do
  assert_eq "$(dogn "$i" vdi read a 0 12M | md5sum)" "$want" "a through node $i with 2 copies"
done

# No -c: 3 by default, and a "no" changes nothing.
out=$(echo no | dogn 0 vdi alter-copy a)
[[ $out == "The vdi's redundancy level is not specified, use 3 as default."$'\n'"    __"* ]] ||
  fail "no -c: $out"
assert_eq "$(dogn 0 vdi list -r a | awk '{print $9}')" "2" "no change after a no"

# The cluster's default: VDIs created later only.
out=$(echo no | dogn 0 cluster alter-copy)
[[ $out == "The cluster's redundancy level is not specified, use 3 as default."$'\n'"    __"*"Caution! Changing cluster's redundancy level will affect"* ]] ||
  fail "cluster alter-copy without -c: $out"
expect 1 "The cluster's redundancy level is already set to 2, nothing changed." -- \
  cluster alter-copy -f -c 2
expect 64 "Changing redundancy level of erasure coded vdi is not supported yet." -- \
  cluster alter-copy -f -c 2:1
expect 0 "The cluster's redundancy level is set to 3, the old one was 2." -- cluster alter-copy -f -c 3
dogn 0 vdi create d 4M || fail "create d"
assert_eq "$(dogn 1 vdi list -r d | awk '{print $9}')" "3" "a VDI created later"
assert_eq "$(dogn 1 vdi list -r a | awk '{print $9}')" "2" "a VDI created before"

# Every sheep restarted: the counts come back from the inodes and config.
for i in 0 1 2 3; do kill -9 "$(sheep_pid "$i")"; done
for i in 0 1 2 3; do wait_for 20 sheep_gone "$i"; done
for i in 0 1 2 3; do start_sheep "$i"; done
wait_nodes 0 4
wait_recovered
assert_eq "$(live_copies)" "6" "a keeps 2 copies after the restart"
dogn 0 vdi create e 4M || fail "create e"
assert_eq "$(dogn 1 vdi list -r e | awk '{print $9}')" "3" "the cluster default after the restart"
assert_eq "$(dogn 2 vdi read a 0 12M | md5sum)" "$want" "a after the restart"
pass
