#!/bin/bash
# A writer on another host holds a VDI's lock; its link goes down and it is
# killed, so no FIN or reset ever reaches the sheep. The sheep's TCP
# keepalive and TCP_USER_TIMEOUT (--tcp-timeout, default 30 s) notice the
# silent peer: the connection closes and the lock ends by itself within a
# minute, and a new writer takes the VDI once the host is back.
source "$(dirname "$0")/lib.sh"
hosts_up 2
on_host 1 "$SHEEP" "$T/h1" -p 7000 -z 1 -c "local:$T/cluster" -b 10.77.0.1 -y 10.77.0.1 ||
  fail "sheep on host 1"
wait_for 20 host_listed 1
host_dog 1 cluster format -c 1 >/dev/null || fail "format"
host_dog 1 vdi create disk 16M || fail "create"

# The writer runs on host 2 (its own namespace), over TCP to host 1.
start_writer() {  # start_writer NAME
  on_host 2 env LD_PRELOAD="$(nbdkit_preload)" nbdkit -U "$T/$1.sock" -P "$T/$1.pid" "$PLUGIN" \
    vdi=disk address=10.77.0.1 || fail "nbdkit $1 on host 2"
  on_exit "kill \$(cat $T/$1.pid)"
  wait_for 20 test -S "$T/$1.sock"
}
nbdsh() { PATH=/usr/bin:$PATH command nbdsh "$@"; }
write_at() { nbdsh -u "nbd+unix:///?socket=$1" -c "h.pwrite(bytes([$2]) * 4096, 0)"; }
start_writer w1
write_at "$T/w1.sock" 1 || fail "first writer"
host_dog 1 vdi lock list | grep -q "disk" || fail "no lock"
ss -Htn -N sdh-1 -o state established "sport = :7000" >"$T/ss.out"

# Host 2 vanishes: link down, then the writer dies unheard.
ip -n sdh-2 link set eth0 down
kill -9 "$(cat "$T/w1.pid")"
t0=$SECONDS
unlocked() { [ "$(host_dog 1 vdi lock list | wc -l)" -eq 1 ]; }
wait_for 60 unlocked
echo "the dead writer's lock ended after $((SECONDS - t0)) s"
grep -q keepalive "$T/ss.out" || fail "the sheep's end of the writer's connection had no keepalive timer"
grep -q "unlocked: its client connection closed" "$T/h1/sheep.log" || fail "no log of the release"

# The host is back: a new writer takes the VDI.
ip -n sdh-2 link set eth0 up
start_writer w2
write_at "$T/w2.sock" 2 || fail "the new writer"
assert_eq "$(host_dog 1 vdi read disk 0 1 | od -An -tu1 | tr -d ' ')" "2" "the new writer's data"
pass
