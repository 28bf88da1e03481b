#!/bin/bash
# Three hosts with corosync (token 1000 ms). kill -9 of a sheep is seen at
# once; kill -9 of corosync on a host is seen by the others within the
# token time (plus consensus), and they keep serving; that host's sheep
# stops serving I/O. Detection times are printed.
source "$(dirname "$0")/lib.sh"
start_corosync_hosts 3
host_dog 1 cluster format -c 2 >/dev/null || fail "format"
host_dog 1 vdi create v 32M || fail "create"
head -c 16M /dev/urandom >"$T/d"
host_dog 2 vdi write v 0 16M <"$T/d" || fail "write"
want=$(md5sum <"$T/d" | cut -d' ' -f1)

now_ms() { date +%s%3N; }
# kill -9 of the sheep on host 3.
t0=$(now_ms)
pkill -9 -f "^$SHEEP $T/h3 " || fail "no sheep on host 3"
wait_for 10 host_nodes_are 1 2
echo "kill -9 of a sheep seen after $(($(now_ms) - t0)) ms"
assert_eq "$(host_dog 2 vdi read v 0 16M | md5sum | cut -d' ' -f1)" "$want" "read after the sheep died"
wait_for 20 host_sheep_gone 3
start_host_sheep 3
for i in 1 2 3; do wait_for 30 host_nodes_are "$i" 3; done

# kill -9 of corosync on host 3: its sheep is cut off.
t0=$(now_ms)
"$COROSYNC" stop "$T/coro3" --kill
wait_for 15 host_nodes_are 1 2
elapsed=$(($(now_ms) - t0))
echo "kill -9 of corosync seen after $elapsed ms"
[ "$elapsed" -lt 6000 ] || fail "corosync death took $elapsed ms to see (token 1000 ms)"
assert_eq "$(host_dog 1 vdi read v 0 16M | md5sum | cut -d' ' -f1)" "$want" "read on host 1"
head -c 4M /dev/urandom >"$T/e"
host_dog 2 vdi write v 0 4M <"$T/e" || fail "write on host 2 after host 3 lost corosync"
halted3() {
  local out
  out=$(host_dog 3 vdi read v 0 1 2>&1 || true)
  [[ $out == *"IO has halted"* ]]
}
wait_for 10 halted3
pass
