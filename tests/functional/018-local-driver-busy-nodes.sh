#!/bin/bash
# The local driver never takes a live sheep for a dead one: twelve sheep
# started at the same moment, then four more while the CPUs are saturated
# and I/O runs, form one cluster with exactly one epoch per join and no
# leave at all; and a sheep that has run out of file descriptors (clients
# holding hundreds of connections) cannot check on the others for a while,
# but declares nobody dead and serves again once they let go.
source "$(dirname "$0")/lib.sh"

start_bg() {
  "$SHEEP" "$T/$1" -p $((7000 + $1)) -z "$1" -c "local:$T/cluster" || echo "sheep $1 failed" >>"$T/errors"
}
for i in $(seq 0 11); do start_bg "$i" & done
wait
[ ! -f "$T/errors" ] || fail "$(cat "$T/errors")"
for i in $(seq 0 11); do wait_nodes "$i" 12; done
dogn 0 cluster format -c 3 >/dev/null || fail "format"

# Saturate both CPUs, then add four more sheep at once and write.
for _ in 1 2 3; do (while :; do :; done) & on_exit "kill $!"; done
starters=()
for i in 12 13 14 15; do start_bg "$i" & starters+=($!); done
for p in "${starters[@]}"; do wait "$p"; done
[ ! -f "$T/errors" ] || fail "$(cat "$T/errors")"
wait_started() { for i in 12 13 14 15; do sheep_pid "$i" >/dev/null || return 1; done; }
wait_for 30 wait_started
for i in $(seq 0 15); do wait_for 60 nodes_are "$i" 16; done
dogn 0 vdi create disk 64M || fail "create"
head -c 64M /dev/urandom >"$T/d"
writers=()
for k in 0 1 2 3; do
  dd if="$T/d" bs=1M skip=$((k * 16)) count=16 status=none |
    dogn $((k * 4)) vdi write disk $((k * 16))M 16M &
  writers+=($!)
done
for p in "${writers[@]}"; do wait "$p" || fail "a write failed"; done
assert_eq "$(dogn 15 vdi read disk 0 64M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data"
assert_eq "$(epoch_of 0)" "5" "epochs: the format and four joins"

# Node 16, limited to 128 descriptors, is flooded with connections for two
# seconds of liveness checks (every 100 ms) at the limit.
prlimit --nofile=128:128 "$SHEEP" "$T/16" -p 7016 -z 16 -c "local:$T/cluster" || fail "sheep 16"
for i in 0 16; do wait_for 60 nodes_are "$i" 17; done
pid16=$(sheep_pid 16)
python3 - "$pid16" <<'EOT' || fail "could not exhaust node 16's descriptors"
import os, socket, sys, time
pid = sys.argv[1]
socks, full_since, deadline = [], None, time.time() + 30
while time.time() < deadline:
    if len(socks) < 400:
        s = socket.socket()
        s.connect(("127.0.0.1", 7016))
        socks.append(s)
    n = len(os.listdir("/proc/%s/fd" % pid))
    if n >= 126 and full_since is None:
        full_since = time.time()
    if full_since is not None and time.time() - full_since >= 2:
        sys.exit(0)
    time.sleep(0.005)
sys.exit(1)
EOT
wait_for 30 nodes_are 16 17
assert_eq "$(dogn 16 vdi read disk 0 64M | md5sum | cut -d' ' -f1)" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data through node 16"
assert_eq "$(epoch_of 0)" "6" "epochs after the flood: one more join, no leave"
if grep -l " left (" "$T"/*/sheep.log >/dev/null 2>&1; then
  grep -h " left (\|declared gone" "$T"/*/sheep.log | head >&2
  fail "a live sheep was taken for a dead one"
fi
pass
