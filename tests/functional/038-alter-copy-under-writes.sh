#!/bin/bash
# alter-copy while a client that takes no lock (as upstream's old clients
# do) keeps writing, pipelined and with the copy count it read from the
# inode before the change: no write is lost on the way to the new owners.
# Afterwards every copy of every object is identical (vdi check repairs
# nothing) and holds the last round written.
source "$(dirname "$0")/lib.sh"
raw() { /usr/bin/python3 "$(dirname "$0")/helpers/rawclient.py" "$@"; }

start_cluster 4
dogn 0 cluster format -c 2 >/dev/null || fail "format"
dogn 0 vdi create w 12M || fail "create"
head -c 12M /dev/zero | dogn 0 vdi write w 0 12M || fail "fill"
vid=$(dogn 0 vdi list -r w | awk '{print $8}')

# One round: 4 KiB of byte R at 8 places in each of the 3 objects, all in
# one send through node R % 4 (gateways differ from round to round).
round() {
  local r=$1 specs=() obj off hex
  hex=$(printf '%02x' "$r")
  hex=$(printf "$hex%.0s" $(seq 1 4096))
  for obj in 0 1 2; do
    for off in 0 512 1024 1536 2048 2560 3072 3584; do
      specs+=("op=0x03,flags=1,id=$((obj * 100 + off / 512)),oid=0x00$(printf %06x 0x$vid)0000000$obj,copies=2,offset=$((off * 1024)),payload=hex:$hex")
    done
  done
  raw $((7000 + r % 4)) pipeline "${specs[@]}" >"$T/round.$r" || return 1
  ! grep -v "result=0x00" "$T/round.$r" | grep -q .
}
writer() {
  local r
  for r in $(seq 1 60); do round "$r" || { echo "round $r failed: $(grep -v result=0x00 "$T/round.$r" | head -n 2)"; return 1; }; done
}
writer >"$T/writer.out" 2>&1 &
wpid=$!
on_exit "kill $wpid"
# The change lands while rounds are in flight (each takes a few ms).
wait_for 20 test -e "$T/round.5"
dogn 0 vdi alter-copy -f -c 3 w 2>"$T/err" || fail "alter-copy: $(cat "$T/err")"
wait $wpid || fail "writes during the change: $(cat "$T/writer.out")"
wait_recovered
assert_eq "$(dogn 1 vdi check w)" "finish check&repair w" "vdi check after the change"
want=$(python3 -c "import sys; sys.stdout.write(chr(60) * 4096)" | md5sum)
for obj in 0 1 2; do
  got=$(dogn 2 vdi read w $((obj * 4194304 + 3584 * 1024)) 4096 | md5sum)
  assert_eq "$got" "$want" "the last round in object $obj"
done
pass
