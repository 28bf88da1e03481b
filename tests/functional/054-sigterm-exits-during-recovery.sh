#!/bin/bash
# A sheep exits within a few seconds of SIGTERM in every state: while its
# recovery is reading from a peer that no longer answers (SIGSTOP), and when
# every sheep of a recovering cluster is stopped at once (peers stopping
# too). A stopping sheep must never wait on its peers.
source "$(dirname "$0")/lib.sh"

start_cluster 3
dogn 0 cluster format -c 3 >/dev/null || fail "format"
dogn 0 vdi create disk 128M || fail "create"
head -c 128M /dev/urandom >"$T/d"
dogn 0 vdi write disk 0 128M <"$T/d" || fail "write"
for i in 0 1 2; do dogn "$i" node recovery set-throttle 1 1000 || fail "throttle"; done
start_sheep 3 -R max=1,interval=1000
for i in 0 1 2 3; do wait_nodes "$i" 4; done
in_recovery() { ! no_recovery 0; }
wait_for 20 in_recovery

# Node 1 stops answering; node 3's recovery may be waiting on it.
stopped=$(sheep_pid 1)
kill -STOP "$stopped"
on_exit "kill -CONT $stopped"
pids=()
for i in 0 2 3; do pids+=("$(sheep_pid "$i")"); done
kill -TERM "${pids[@]}"
for i in 0 2 3; do wait_for 10 sheep_gone "$i"; done
kill -CONT "$stopped"
kill -TERM "$stopped"
wait_for 10 sheep_gone 1

# All four again, recovering, then every one of them stopped at once.
for i in 0 1 2 3; do start_sheep "$i" -R max=1,interval=1000; done
for i in 0 1 2 3; do wait_nodes "$i" 4; done
pids=()
for i in 0 1 2 3; do pids+=("$(sheep_pid "$i")"); done
kill -TERM "${pids[@]}"
for i in 0 1 2 3; do wait_for 10 sheep_gone "$i"; done

# Nothing was lost: the cluster comes back and the data reads back.
for i in 0 1 2 3; do start_sheep "$i"; done
for i in 0 1 2 3; do wait_nodes "$i" 4; done
for i in 0 1 2 3; do
  wait_for 30 sh -c "$DOG_BIN cluster info -p $((7000 + i)) | head -n 1 | grep -q running"
done
got=$(dogn 3 vdi read disk 0 128M | md5sum | cut -d' ' -f1)
assert_eq "$got" "$(md5sum <"$T/d" | cut -d' ' -f1)" "data after the restarts"
wait_recovered 0
pass
