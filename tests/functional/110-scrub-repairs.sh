#!/bin/bash
# Block checksums and the scrubber (docs/PROTOCOL.md §9.7). Three sheep;
# bytes of object files are changed behind the daemons' backs, as a bad
# disk would:
# - a read that meets a changed byte returns the right data (from another
#   copy), the log names the block, and the bad copy is repaired at once;
# - a changed byte nobody reads is found by `dog cluster scrub start` and
#   repaired; status counts it;
# - a copy without checksums (an older daemon's) that differs from the two
#   others is replaced by the majority's content, and gets checksums;
# - that replacement is conditional on the hashes compared (a copy written
#   since is left alone);
# - with one copy, a read of a changed block fails (EIO) instead of
#   returning the bad bytes, and the other blocks still read;
# - a plugin's local reads (object files read in the plugin) check too.
source "$(dirname "$0")/lib.sh"
start_cluster 3
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create a 12M || fail "create a"
dogn 0 vdi create -c 3 b 4M || fail "create b"
dogn 0 vdi create -c 1 one 8M || fail "create one"
head -c 12M /dev/urandom >"$T/a"
head -c 4M /dev/urandom >"$T/b"
head -c 8M /dev/urandom >"$T/one"
dogn 0 vdi write a <"$T/a" || fail "write a"
dogn 0 vdi write b <"$T/b" || fail "write b"
dogn 0 vdi write one <"$T/one" || fail "write one"

vid_of() { dogn 0 vdi list -r "$1" | awk '{print $8}'; }
# copies_of VDI INDEX: the object files of data object INDEX, one a line.
copies_of() { find "$T"/[0-9]/obj -name "$(printf '%016x' $(((0x$(vid_of "$1") << 32) | $2)))" | sort; }
flip() { python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
b = os.pread(fd, 1, int(sys.argv[2]))
os.pwrite(fd, bytes([b[0] ^ 0x5a]), int(sys.argv[2]))
os.close(fd)" "$1" "$2"; }
node_of() { echo "$1" | sed -E "s|^$T/([0-9])/.*|\1|"; }
same_file() { cmp -s "$1" "$2"; }
has_sums() { python3 -c "import os, sys; os.getxattr(sys.argv[1], 'user.sd.crc')" "$1" 2>/dev/null; }

# Every object file got checksums when it was written.
for f in $(find "$T"/[0-9]/obj -maxdepth 1 -name '00*'); do
  has_sums "$f" || fail "$f has no user.sd.crc"
done

# 1. A read meets the changed byte.
mapfile -t c0 < <(copies_of a 0)
[ "${#c0[@]}" = 2 ] || fail "object 0 of a: ${#c0[@]} copies"
bad=${c0[0]} good=${c0[1]}
n=$(node_of "$bad")
flip "$bad" 5000
same_file "$bad" "$good" && fail "the byte did not change"
for i in 0 1 2; do
  dogn "$i" vdi read a 0 1M | cmp - <(head -c 1M "$T/a") || fail "read of a through node $i: other bytes"
done
grep -q "block 0 does not match its checksum (read" "$T/$n/sheep.log" ||
  fail "node $n's log does not name the bad block: $(grep -i checksum "$T/$n/sheep.log" | head -3)"
wait_for 20 same_file "$bad" "$good"
grep -q "bad block(s) repaired from" "$T/$n/sheep.log" || fail "no repair in node $n's log"
echo "read path: node $n repaired $(grep -o 'repaired from .*' "$T/$n/sheep.log" | head -1)"

# 2. The scrubber finds and repairs a byte nobody reads.
mapfile -t c2 < <(copies_of a 2)
bad=${c2[1]} good=${c2[0]}
n=$(node_of "$bad")
flip "$bad" $((3 << 20))
reads_before=$(grep -c "(read" "$T/$n/sheep.log" || true)
dogn 0 cluster scrub start 1000 | grep -q "Scrubbing started at 1000 MiB/s per node" || fail "scrub start"
scrub_done() { [ "$(dogn 0 cluster scrub status -r | awk '$3 == "idle" && $4 >= 1' | wc -l)" = 3 ]; }
wait_for 60 scrub_done
same_file "$bad" "$good" || fail "the scrubber did not repair $bad"
assert_eq "$(grep -c "(read" "$T/$n/sheep.log" || true)" "$reads_before" "reads that met a bad block during the scrub"
grep -q "(scrub, " "$T/$n/sheep.log" || fail "node $n's log does not say the scrubber found it"
line=$(dogn 0 cluster scrub status -r | awk -v n="$n" '$1 == n')
re="^$n [^ ]+ idle [0-9]+ [0-9]+ [0-9]+ ([0-9]+) ([0-9]+) 0$"
[[ $line =~ $re ]] || fail "node $n's scrub status: $line"
[ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[2]}" -ge 1 ] || fail "node $n found/repaired: $line"
dogn 0 cluster scrub status | head -1 | grep -q "Id   Host:Port          State     Passes   Checked/Objects   Found  Repaired  Unrepaired" ||
  fail "status header: $(dogn 0 cluster scrub status | head -1)"

# 3. A copy without checksums that differs from the majority.
mapfile -t cb < <(copies_of b 0)
[ "${#cb[@]}" = 3 ] || fail "object 0 of b: ${#cb[@]} copies"
odd=${cb[2]}
python3 -c "import os, sys; os.removexattr(sys.argv[1], 'user.sd.crc')" "$odd"
flip "$odd" 100
dogn 0 cluster scrub start 1000 >/dev/null || fail "second scrub start"
scrub_twice() { [ "$(dogn 0 cluster scrub status -r | awk '$3 == "idle" && $4 >= 2' | wc -l)" = 3 ]; }
wait_for 60 scrub_twice
same_file "$odd" "${cb[0]}" || fail "the odd copy was not replaced by the majority's"
has_sums "$odd" || fail "the replaced copy has no checksums"
grep -q "differed from the majority; replaced" "$T"/[0-9]/sheep.log || fail "no majority repair logged"
dogn 1 vdi read b | cmp - "$T/b" || fail "b after the majority repair"

# 4. The scrubber's REPAIR_REPLICA carries the hashes it compared: a copy
# written since it was hashed (or a source that was) is left alone, AGAIN,
# so a client write landing between the comparison and the repair is
# never undone (docs/PROTOCOL.md §9.7).
mapfile -t cb < <(copies_of b 0)
tgt=${cb[2]} src=${cb[0]}
tn=$(node_of "$tgt") sn=$(node_of "$src")
python3 -c "import os, sys; os.removexattr(sys.argv[1], 'user.sd.crc')" "$tgt"
flip "$tgt" 300
sha() { python3 -c "import hashlib, sys; print(hashlib.sha1(open(sys.argv[1], 'rb').read()).hexdigest())" "$1"; }
changed=$(sha "$tgt")
oid=$(printf '0x%016x' $(((0x$(vid_of b) << 32) | 0)))
repair() { python3 "$(dirname "$0")/helpers/rawclient.py" $((7000 + tn)) req op=0xc5 flags=1 oid="$oid" \
  forw=127.0.0.1:$((7000 + sn)) payload=hex:"$1$2"; }
zeros=0000000000000000000000000000000000000000
repair "$(sha "$src")" "$zeros" | grep -q "result=0x8f " || fail "a repair of a copy changed since: $(repair "$(sha "$src")" "$zeros")"
assert_eq "$(sha "$tgt")" "$changed" "the copy after a refused repair"
repair "$zeros" "$changed" | grep -q "result=0x8f " || fail "a repair from a source changed since"
assert_eq "$(sha "$tgt")" "$changed" "the copy after a refused repair"
repair "$(sha "$src")" "$changed" | grep -q "result=0x00 " || fail "a repair with the right hashes"
same_file "$tgt" "$src" || fail "the copy was not replaced"
has_sums "$tgt" || fail "the replaced copy has no checksums"

# 5. One copy only: the changed block is never returned.
mapfile -t c1 < <(copies_of one 0)
[ "${#c1[@]}" = 1 ] || fail "object 0 of one: ${#c1[@]} copies"
flip "${c1[0]}" 9000
if dogn 0 vdi read one 8192 4096 >"$T/out" 2>"$T/err"; then fail "a read of the bad block succeeded"; fi
cat "$T/err"
dogn 0 vdi read one 16384 4096 | cmp - <(tail -c +16385 "$T/one" | head -c 4096) || fail "a good block of one"
n=$(node_of "${c1[0]}")
wait_for 20 grep -q "no other owner served a good copy" "$T/$n/sheep.log"
# Every read that meets it fails, but the copy no other owner can mend is
# not tried, counted or logged again for a while: a client retrying a bad
# block does not flood the log. (Object 1's bad block, read last, shows
# that the scrubber has looked at every report of the reads before it.)
for i in 1 2 3 4; do dogn 0 vdi read one 8192 4096 >/dev/null 2>&1 && fail "read $i of the bad block"; done
mapfile -t c1b < <(copies_of one 1)
flip "${c1b[0]}" 9000
nb=$(node_of "${c1b[0]}")
dogn 0 vdi read one $((4194304 + 8192)) 4096 >/dev/null 2>&1 && fail "a read of object 1's bad block"
oid1=$(printf '%016x' $(((0x$(vid_of one) << 32) | 1)))
wait_for 20 grep -q "scrub: $oid1: bad block(s) and no other owner" "$T/$nb/sheep.log"
oid0=$(printf '%016x' $(((0x$(vid_of one) << 32) | 0)))
assert_eq "$(grep -c "scrub: $oid0: bad block(s) and no other owner" "$T/$n/sheep.log")" 1 \
  "reports of one unrepairable copy after five reads"
grep -q "\[scrub\] .*scrub: $oid0" "$T/$n/sheep.log" || fail "the scrubber's lines carry its thread's name"

# 5. A plugin reading a sheep's object files itself (local reads) checks
# them too: the bad block is left to the sheep, which serves another copy.
mapfile -t c1 < <(copies_of a 1)
bad=${c1[0]} good=${c1[1]}
n=$(node_of "$bad")
LD_PRELOAD="$(nbdkit_preload)" nbdkit -v -U "$T/local.sock" -P "$T/local.pid" "$PLUGIN" \
  vdi=a socket="$T/$n/sock" readonly=true 2>"$T/local.log" &
on_exit "kill \$(cat $T/local.pid) 2>/dev/null"
wait_for 20 test -S "$T/local.sock"
wait_for 20 grep -q "local reads on" "$T/local.log"
flip "$bad" 70000
nbdcopy "nbd+unix:///?socket=$T/local.sock" - | cmp - "$T/a" || fail "local reads returned a changed byte"
wait_for 20 same_file "$bad" "$good"

dogn 0 vdi read a | cmp - "$T/a" || fail "a at the end"
pass "reads never return a changed byte; the read path and the scrubber repair it"
