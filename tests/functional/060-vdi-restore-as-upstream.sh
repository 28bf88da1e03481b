#!/bin/bash
# dog vdi backup/restore as upstream (its test 041): a restore makes the
# restored state a new snapshot branching from the chosen one, and the new
# working VDI starts again from the old working VDI's parent (it is not put
# under the new snapshot). A restore to a tag that does not exist changes
# nothing and says so.
source "$(dirname "$0")/lib.sh"

start_cluster 5
dogn 0 cluster format >/dev/null </dev/null || fail "format"
dogn 0 vdi create test 12M || fail "create"
echo 0 | dogn 0 vdi write test 0 512
dogn 0 vdi snapshot test -s snap1 >/dev/null
echo 1 | dogn 0 vdi write test $((4 << 20)) 512
dogn 0 vdi snapshot test -s snap2 >/dev/null
echo 2 | dogn 0 vdi write test 0 512
dogn 0 vdi snapshot test -s snap3 >/dev/null
image() {  # "OFFSET:TEXT"...: the md5 of a 12M image holding them
  python3 -c "
import sys
b = bytearray(12 << 20)
for a in sys.argv[1:]:
    off, text = a.split(':')
    s = (text + '\n').encode()
    b[int(off):int(off) + len(s)] = s
sys.stdout.buffer.write(b)" "$@" | md5sum | cut -d' ' -f1
}
m1=$(image 0:0) m2=$(image 0:0 4194304:1) m3=$(image 0:2 4194304:1)
for i in 1 2 3; do
  v="m$i"
  assert_eq "$(dogn 0 vdi read test -s "snap$i" | md5sum | cut -d' ' -f1)" "${!v}" "snap$i"
done
dogn 0 vdi backup test -F snap1 -s snap2 >"$T/backup.1.2" || fail "backup 1.2"
dogn 0 vdi backup test -F snap1 -s snap3 >"$T/backup.1.3" || fail "backup 1.3"
dogn 0 vdi backup test -F snap2 -s snap3 >"$T/backup.2.3" || fail "backup 2.3"

tree() { dogn 0 vdi tree | sed -E 's/\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}\]/[DATE]/g'; }
vids() { dogn 0 vdi list -r | awk '{print $3 " " $8}'; }
dogn 0 vdi restore test -s snap1 <"$T/backup.1.2" || fail "restore 1"
assert_eq "$(tree)" 'test---[DATE]-+-[DATE]---[DATE]---(you are here)
                          `-[DATE]' "tree after the first restore"
assert_eq "$(vids)" "1 7c2b25
2 7c2b26
3 7c2b27
4 7c2b29
0 7c2b2a" "snapshot ids and vids after the first restore"
dogn 0 vdi restore test -s 4 <"$T/backup.2.3" || fail "restore 2"
dogn 0 vdi restore test -s snap1 <"$T/backup.1.3" || fail "restore 3"
dogn 0 vdi restore test -s snap2 <"$T/backup.2.3" || fail "restore 4"
assert_eq "$(tree)" 'test---[DATE]-+-[DATE]-+-[DATE]---(you are here)
                          |                    `-[DATE]
                          |-[DATE]---[DATE]
                          `-[DATE]' "tree after four restores"
got="$(dogn 0 vdi read test | md5sum | cut -d' ' -f1)"
for i in 1 2 3 4 5 6 7; do got+=" $(dogn 0 vdi read test -s "$i" | md5sum | cut -d' ' -f1)"; done
assert_eq "$got" "$m3 $m1 $m2 $m3 $m2 $m3 $m3 $m3" "contents of the working VDI and snapshots 1-7"

before=$(dogn 0 vdi list)
out=$(dogn 0 vdi restore test -s non-existence-tag <"$T/backup.2.3" 2>&1) && fail "restore to a missing tag worked"
assert_eq "$out" "Failed to open VDI test (snapshot id: 0 snapshot tag: non-existence-tag): Failed to find requested tag
Snapshot ID 0 or tag non-existence-tag doesn't exist" "restore to a missing tag"
assert_eq "$(dogn 0 vdi list)" "$before" "nothing changed"
pass
