#!/bin/bash
# Scheduling and thread names: every thread of a sheep runs SCHED_BATCH
# (docs/PERFORMANCE.md: a woken thread does not preempt the worker that
# woke it) and carries its role's name in the kernel (gway, io, cluster,
# ...: top -H, ps -L, perf); a sheep started with a policy of its choice
# (chrt) keeps it, and serves I/O either way.
source "$(dirname "$0")/lib.sh"

# policies PID: each thread's policy, sorted and counted ("68 B").
policies() { ps -L -o policy= -p "$1" | sort | uniq -c | awk '{ print $1, $2 }' | xargs; }
threads() { ps -L -o policy= -p "$1" | wc -l; }

start_sheep 0
dog cluster format -c 1 </dev/null >/dev/null
dog vdi create disk 8M
head -c 1M /dev/urandom >"$T/data"
dog vdi write disk 0 1M <"$T/data"  # work for every pool
pid=$(sheep_pid 0)
n=$(threads "$pid")
assert_eq "$(policies "$pid")" "$n B" "scheduling policy of every thread"
names=$(ps -L -o comm= -p "$pid" | sed 's/ [0-9]*$//' | sort -u | xargs)
for role in gway io cluster; do
  [[ " $names " == *" $role "* ]] || fail "no thread named '$role' among: $names"
done
pass "$n threads, all SCHED_BATCH, named by role ($names)"

stop_sheep 0
# Started under chrt: the sheep leaves the policy alone.
chrt -i 0 "$SHEEP" "$T/0" -p 7000 -z 0 -c "local:$T/cluster" || fail "sheep under chrt did not start"
wait_for 20 sheep_listed 0
pid=$(sheep_pid 0)
n=$(threads "$pid")
assert_eq "$(policies "$pid")" "$n IDL" "policy of a sheep started with chrt -i 0"
assert_eq "$(dog vdi read disk 0 1M | sum)" "$(sum <"$T/data")" "data read from the sheep under chrt"
pass "a policy chosen by the caller is kept"
