#!/bin/bash
# Before a connection proves the cluster key it costs the sheep a small,
# bounded amount: 100 clients streaming AUTH_CHALLENGE without reading the
# answers and 100 that say nothing (or half a header) leave its peak
# resident memory within a few MiB, an authenticated client is served
# meanwhile, and every stranger is disconnected within the handshake
# deadline (5 s) or at its second challenge. Then 400 silent strangers,
# each from its own address, more than the sheep keeps at once (256): the
# oldest go, the sheep keeps serving.
source "$(dirname "$0")/lib.sh"
# Freed memory goes back at once, so the peak measures what is held.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1"
head -c 32 /dev/urandom | base64 >"$T/key"
export SHEEPDOG_AUTH_KEY=$T/key
start_sheep 0 --auth-key "$T/key"
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create disk 4M || fail "create"
pid=$(sheep_pid 0)
peak() { awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; }
# Warm up the paths the flood and the checks use.
for _ in 1 2 3; do dogn 0 node list >/dev/null; done
before=$(peak)

python3 "$ROOT/tests/functional/helpers/auth_flood.py" 7000 100 100 15 "$T/flooded" >"$T/flood.out" 2>&1 &
flood=$!
wait_for 30 test -e "$T/flooded"
# Served while the strangers wait.
assert_eq "$(dogn 0 node list -r)" "0 127.0.0.1:7000 128 0" "an authenticated client during the flood"
rc=0
wait $flood || rc=$?
[ $rc -eq 0 ] || fail "strangers not disconnected: $(cat "$T/flood.out")"
after=$(peak)
echo "peak resident memory: ${before} KiB before, ${after} KiB after the flood"
[ $((after - before)) -le 8192 ] || fail "the flood grew the sheep by $(((after - before) / 1024)) MiB"
grep -q "did not prove the cluster key in time" "$T/0/sheep.log" || fail "no log of the handshake deadline"

python3 "$ROOT/tests/functional/helpers/auth_flood.py" 7000 0 400 15 "$T/flooded2" 400 >"$T/flood2.out" 2>&1 &
flood=$!
wait_for 30 test -e "$T/flooded2"
assert_eq "$(dogn 0 node list -r)" "0 127.0.0.1:7000 128 0" "an authenticated client beside 400 strangers"
rc=0
wait $flood || rc=$?
[ $rc -eq 0 ] || fail "strangers not disconnected: $(cat "$T/flood2.out")"
grep -q "too many connections that have not proved the cluster key" "$T/0/sheep.log" ||
  fail "no log of the cap"
assert_eq "$(dogn 0 vdi list -r disk | awk '{print $2}')" "disk" "the VDI after the flood"
pass
