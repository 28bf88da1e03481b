#!/bin/bash
# Split brain: host 3 is cut off by an nftables drop rule. The majority
# (hosts 1 and 2, quorate) keeps serving and writing; the minority refuses
# I/O. After the heal host 3 rejoins by itself, and every host reads the
# data the majority wrote. A writer served through host 3 loses its VDI
# lock with the partition: the majority lets a writer on host 1 take it,
# and host 3's writer stays refused after the heal.
source "$(dirname "$0")/lib.sh"
start_corosync_hosts 3
host_dog 1 cluster format -c 3 >/dev/null || fail "format"
host_dog 1 vdi create v 32M || fail "create"
head -c 16M /dev/urandom >"$T/a"
host_dog 1 vdi write v 0 16M <"$T/a" || fail "first write"
host_dog 1 vdi create w 16M || fail "create w"
preload=$(nbdkit_preload)
serve_w() {  # serve_w HOST: a writer of w through that host's sheep
  on_host "$1" env LD_PRELOAD="$preload" nbdkit -U "$T/w$1.sock" -P "$T/w$1.pid" "$PLUGIN" \
    vdi=w address="10.77.0.$1" || fail "nbdkit on host $1"
  on_exit "kill \$(cat $T/w$1.pid)"
  wait_for 20 test -S "$T/w$1.sock"
}
write_w() { PATH=/usr/bin:$PATH nbdsh -u "nbd+unix:///?socket=$T/w$1.sock" -c "h.pwrite(bytes([$2]) * 4096, 0)"; }
serve_w 3
write_w 3 3 || fail "write through host 3"

"$NETNS" partition 3 sdh || fail "partition"
on_exit "$NETNS heal 3 sdh"
wait_for 20 host_nodes_are 1 2
halted3() {
  local out
  out=$(host_dog 3 vdi write v 0 1 </dev/zero 2>&1 || true)
  [[ $out == *"IO has halted"* ]]
}
wait_for 20 halted3
# The majority dropped host 3's lock; a writer on host 1 takes it.
w_unlocked() { ! host_dog 1 vdi lock list | grep -q "^  w "; }
wait_for 20 w_unlocked
serve_w 1
write_w 1 1 || fail "write through host 1 during the partition"
head -c 16M /dev/urandom >"$T/b"
host_dog 2 vdi write v 0 16M <"$T/b" || fail "majority write during the partition"
want=$(md5sum <"$T/b" | cut -d' ' -f1)
assert_eq "$(host_dog 1 vdi read v 0 16M | md5sum | cut -d' ' -f1)" "$want" "majority read during the partition"

"$NETNS" heal 3 sdh || fail "heal"
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done
running3() {
  local out
  out=$(host_dog 3 cluster info 2>/dev/null || true)
  [[ $out == "Cluster status: running"* ]]
}
wait_for 20 running3
for i in 1 2 3; do
  assert_eq "$(host_dog "$i" vdi read v 0 16M | md5sum | cut -d' ' -f1)" "$want" "read on host $i after the heal"
done
# Host 3's writer is still refused: host 1's holds the lock.
for attempt in 1 2; do
  write_w 3 33 2>/dev/null && fail "host 3's writer wrote after the heal (attempt $attempt)"
done
host_dog 3 vdi lock list | grep -q "^  w .*ip:10.77.0.1 port:7000$" || fail "lock after the heal: $(host_dog 3 vdi lock list)"
assert_eq "$(host_dog 3 vdi read w 0 1 | od -An -tu1 | tr -d ' ')" "1" "w holds host 1's write"
grep -q "unlocked: this sheep was cut off from the cluster" "$T/h3/sheep.log" ||
  fail "host 3 did not drop its client's lock when it was cut off"
# Each host stamps an epoch with its own clock: compare without the times.
ref=$(host_dog 1 cluster info | filter_dates)
assert_eq "$(host_dog 3 cluster info | filter_dates)" "$ref" "epoch history on host 3 after the heal"
pass
