# Functional test helpers, sourced by every tests/functional/NNN-*.sh.
#
# Each test runs real sheep, dog and nbdkit processes in a fresh temporary
# directory ($T), normally inside its own network/mount/pid namespaces
# (scripts/run-tests.sh arranges that). Waits are on conditions with a
# deadline, never fixed sleeps. Everything a test starts is torn down by
# the EXIT trap, in reverse order, even when the test fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-test}
SHEEP=$BUILD/daemon/sheep
DOG_BIN=$BUILD/cli/dog
PLUGIN=$BUILD/nbd-plugin/nbdkit-sheepdog-plugin.so
T=$(mktemp -d /tmp/sdtest.XXXXXX)
# Sanitizer reports of daemons (whose stderr is /dev/null) land in $T.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:log_path=$T/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:log_path=$T/ubsan}
TEST_NAME=$(basename "$0" .sh)${SD_STORE:+[$SD_STORE]}

_cleanups=()
on_exit() { _cleanups+=("$*"); }
_run_cleanups() {
  local rc=$?
  set +e
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" >/dev/null 2>&1; done
  pkill -9 -f "$SHEEP $T/" >/dev/null 2>&1
  if [ $rc -ne 0 ] && [ -n "${KEEP_LOGS:-}" ]; then
    echo "logs kept in $T"
  else
    rm -rf "$T"
  fi
  exit $rc
}
trap _run_cleanups EXIT
# A command failing under set -e names itself instead of exiting silently.
trap 'echo "FAIL [$TEST_NAME]: line $LINENO: $BASH_COMMAND (status $?)" >&2' ERR

fail() {
  echo "FAIL [$TEST_NAME]: $*" >&2
  echo "--- sheep processes: $(pgrep -f "$SHEEP $T/" | tr '\n' ' ')" >&2
  for log in "$T"/*/sheep.log; do
    [ -f "$log" ] && { echo "--- tail of $log" >&2; tail -n 15 "$log" >&2; }
  done
  for log in "$T"/hung.log "$T"/asan.* "$T"/ubsan.*; do
    [ -f "$log" ] && { echo "--- $log" >&2; head -n 40 "$log" >&2; }
  done
  # Once more at the end: the runner shows only the last lines.
  echo "FAIL [$TEST_NAME]: $*" >&2
  exit 1
}
pass() { echo "ok [$TEST_NAME] $*"; }

# wait_for SECONDS CMD...: polls CMD until it succeeds; fails the test at
# the deadline.
wait_for() {
  local secs=$1
  shift
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && fail "timed out after ${secs}s waiting for: $*"
    sleep 0.05
  done
}

# dog against node N (port 7000+N): dogn N args...
# dog never waits forever on a sheep: one that hangs for 120 s is recorded
# in $T/hung.log (which fail prints) and counts as failed.
# With SD_STORE set (scripts/run-tests.sh runs the store tests a second time
# with SD_STORE=tree), a `cluster format` that names no store gets -b SD_STORE.
_dog() {
  local rc=0
  if [ -n "${SD_STORE:-}" ] && [ "${1:-}" = cluster ] && [ "${2:-}" = format ] &&
    [[ " $* " != *" -b "* ]]; then
    set -- "$@" -b "$SD_STORE"
  fi
  timeout -k 5 120 "$DOG_BIN" "$@" || rc=$?
  [ $rc -eq 124 ] && echo "dog $* hung for 120 s" >>"$T/hung.log"
  return $rc
}
dogn() {
  local n=$1
  shift
  local port=$((7000 + n))
  _dog "$@" -p "$port"
}
dog() { _dog "$@"; }

# start_sheep N [extra args]: data dir $T/N, port 7000+N, zone N; waits
# until it answers and lists itself.
start_sheep() {
  local n=$1
  shift
  "$SHEEP" "$T/$n" -p $((7000 + n)) -z "$n" -c "${DRIVER:-local:$T/cluster}" "$@" || fail "sheep $n did not start"
  wait_for 20 sheep_listed "$n"
}
# (Outputs are captured before matching: with pipefail, grep -q closing a
# pipe early would make the check fail.)
sheep_listed() {
  local out
  out=$(dogn "$1" node list -r 2>/dev/null) || return 1
  [[ $out == *" 127.0.0.1:$((7000 + $1)) "* ]]
}

sheep_pid() { pgrep -f "^$SHEEP $T/$1 " | head -n 1; }
stop_sheep() {
  local pid
  pid=$(sheep_pid "$1") || true
  [ -n "$pid" ] && kill "$pid"
  wait_for 20 sheep_gone "$1"
}
kill9_sheep() {
  local pid
  pid=$(sheep_pid "$1") || true
  [ -n "$pid" ] && kill -9 "$pid"
  wait_for 20 sheep_gone "$1"
}
# Gone means no process and its port closed: after kill -9 a thread can
# linger in the kernel for a moment with the listening socket still open.
sheep_gone() {
  ! pgrep -f "^$SHEEP $T/$1 " >/dev/null && [ -z "$(ss -Hltn "sport = :$((7000 + $1))" 2>/dev/null)" ]
}

# nbdkit serving a VDI on a unix socket: start_nbdkit NAME SOCK [plugin args]
# The plugin is sanitizer-instrumented in test builds; nbdkit is not, so
# the sanitizer runtime is preloaded.
nbdkit_preload() {
  local asan
  asan=$(ldd "$PLUGIN" 2>/dev/null | awk '/libasan/ {print $3}')
  local ubsan
  ubsan=$(ldd "$PLUGIN" 2>/dev/null | awk '/libubsan/ {print $3}')
  echo "$asan $ubsan" | xargs
}
start_nbdkit() {
  local sock=$1
  shift
  local preload
  preload=$(nbdkit_preload)
  LD_PRELOAD="$preload" timeout 60 nbdkit -U "$sock" -P "$T/nbdkit.$(basename "$sock").pid" "$PLUGIN" "$@" \
    || fail "nbdkit did not start"
  on_exit "kill \$(cat $T/nbdkit.$(basename "$sock").pid)"
  wait_for 20 test -S "$sock"
}

# block_device SOCK BYTES: the export on unix socket SOCK as a kernel block
# device, as docs say to test it here: nbdfuse makes it a file of BYTES
# bytes, a direct-I/O loop device makes that a block device. Sets $dev and
# $nbdfuse_pid; both are torn down at exit (after any later mount).
block_device() {
  local sock=$1 bytes=$2
  mkdir -p "$T/fuse"
  nbdfuse "$T/fuse/disk" --unix "$sock" >"$T/nbdfuse.log" 2>&1 &
  nbdfuse_pid=$!
  on_exit "fusermount3 -u $T/fuse; kill $nbdfuse_pid"
  _fuse_disk_ready() { [ "$(stat -c %s "$T/fuse/disk" 2>/dev/null)" = "$bytes" ]; }
  wait_for 20 _fuse_disk_ready
  dev=$(losetup -f --show --direct-io=on "$T/fuse/disk") || fail "losetup"
  on_exit "losetup -d $dev"
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
  if [ "$1" != "$2" ]; then
    echo "--- expected ($3):" >&2
    printf '%s\n' "$2" >&2
    echo "--- actual:" >&2
    printf '%s\n' "$1" >&2
    fail "$3 differs"
  fi
}

# Replaces dates and times so outputs can be compared byte for byte.
filter_dates() {
  sed -E -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?/DATE/g' \
    -e 's/^(Cluster created at ).*/\1CTIME/' -e 's/^[0-9]{10} /UNIXTIME /' \
    -e 's/ [0-9]{10} ([0-9a-f]+ [0-9:]+ )/ UNIXTIME \1/'
}

# ---- clusters of several sheep (local driver, one shared $T/cluster) ----
CHECK_PLACEMENT=$BUILD/tests/tools/check-placement
CPG_FORGE=$BUILD/tests/tools/cpg-forge

node_count() { dogn "$1" node list -r | wc -l; }
# wait_nodes N COUNT: node N lists COUNT nodes.
nodes_are() { [ "$(node_count "$1")" -eq "$2" ]; }
wait_nodes() { wait_for 30 nodes_are "$1" "$2"; }
# start_cluster COUNT [extra sheep args]: sheep 0..COUNT-1 in zones 0..COUNT-1,
# each seeing all of them.
start_cluster() {
  local count=$1
  shift
  for ((i = 0; i < count; i++)); do start_sheep "$i" "$@"; done
  for ((i = 0; i < count; i++)); do wait_nodes "$i" "$count"; done
}
# epoch_of N: the current epoch as node N reports it (newest line of cluster info -r).
epoch_of() { dogn "$1" cluster info -r | sed -n '3p' | awk '{print $2}'; }
epoch_is() { [ "$(epoch_of "$1")" = "$2" ]; }
# sha256 of stdin, the hash alone.
sum() { sha256sum | cut -d' ' -f1; }
# list_of "PORTS" "VNODES": an epoch's members as cluster info prints them.
list_of() {
  local ports vn out="" i
  read -ra ports <<<"$1"
  read -ra vn <<<"$2"
  for i in "${!ports[@]}"; do out+="${out:+, }127.0.0.1:${ports[i]}:${vn[i]}"; done
  echo "$out"
}
# epoch_list N E: the members of epoch E as node N lists them.
epoch_list() { dogn "$1" cluster info -r | awk -v e="$2" '$2 == e { sub(/^[^[]*\[/, ""); sub(/\]$/, ""); print }'; }
# vnodes_of N: the vnodes column of node N's node list, on one line.
vnodes_of() { dogn "$1" node list -r | awk '{print $3}' | xargs; }
vnodes_are() { [ "$(vnodes_of "$1")" = "$2" ]; }
# same_history N...: nodes N... print the same epoch history as node 0.
same_history() {
  local ref
  ref=$(dogn 0 cluster info | filter_dates)
  for i in "$@"; do [ "$(dogn "$i" cluster info | filter_dates)" = "$ref" ] || return 1; done
}

# ---- corosync and namespace hosts ----
COROSYNC=$ROOT/scripts/corosync.sh
NETNS=$ROOT/scripts/netns-hosts.sh

# corosync locks /run/corosync.pid and keeps IPC rings in /dev/shm: give
# this test its own of both (the runner gives every test a private mount
# namespace).
private_run_and_shm() {
  mount -t tmpfs tmpfs /run || fail "cannot mount a private /run"
  mount -t tmpfs tmpfs /dev/shm || fail "cannot mount a private /dev/shm"
}
# start_corosync DIR [--netns NS]
start_corosync() {
  "$COROSYNC" start "$@" || fail "corosync did not start in $1"
  on_exit "$COROSYNC stop $1 --kill"
}
# Hosts in network namespaces sdh-1..N (10.77.0.1..N), torn down at exit.
hosts_up() {
  "$NETNS" up "$1" sdh || fail "cannot create $1 namespace hosts"
  on_exit "$NETNS down $1 sdh"
}
on_host() {
  local i=$1
  shift
  ip netns exec "sdh-$i" "$@"
}
host_dog() {
  local i=$1
  shift
  timeout -k 5 120 ip netns exec "sdh-$i" "$DOG_BIN" "$@" -a "10.77.0.$i"
}
host_listed() {
  local out
  out=$(host_dog "$1" node list -r 2>/dev/null) || return 1
  [[ $out == *" 10.77.0.$1:7000 "* ]]
}
host_nodes_are() { [ "$(host_dog "$1" node list -r | wc -l)" -eq "$2" ]; }
# start_host_sheep I [extra args]: sheep on host I, data in $T/hI.
start_host_sheep() {
  local i=$1
  shift
  # shellcheck disable=SC2086  # HOST_SHEEP_ARGS: extra options for every host's sheep
  on_host "$i" "$SHEEP" "$T/h$i" -p 7000 -z "$i" -c corosync -b "10.77.0.$i" -y "10.77.0.$i" \
    ${HOST_SHEEP_ARGS:-} "$@" ||
    fail "sheep on host $i did not start"
  wait_for 30 host_listed "$i"
}
host_sheep_gone() { ! pgrep -f "^$SHEEP $T/h$1 " >/dev/null; }

# ---- ZooKeeper ----
ZOOKEEPER=$ROOT/scripts/zookeeper.sh
ZK_TOOL=$BUILD/tests/tools/zk-tool
# start_zookeeper DIR [scripts/zookeeper.sh start options]: stopped at exit.
start_zookeeper() {
  "$ZOOKEEPER" start "$@" || fail "zookeeper did not start in $1"
  on_exit "$ZOOKEEPER stop $1 --kill"
}

# ---- recovery ----
# Every object on exactly its owners (no missing, no extra copies).
placement_ok() { "$CHECK_PLACEMENT" -p "${1:-7000}" >/dev/null 2>&1; }
# No node lists itself in recovery.
no_recovery() {
  local out
  out=$(dogn "${1:-0}" node recovery 2>/dev/null) || return 1
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
}
# wait_recovered [NODE]: recovery finished and placement exact.
wait_recovered() {
  wait_for 60 no_recovery "${1:-0}"
  local end=$((SECONDS + 60))
  until placement_ok $((7000 + ${1:-0})); do
    if [ $SECONDS -ge $end ]; then
      "$CHECK_PLACEMENT" -p $((7000 + ${1:-0})) 2>&1 | head -n 20 >&2
      fail "objects not on exactly their owners after 60s"
    fi
    sleep 0.1
  done
}
# start_corosync_hosts N: N namespace hosts, each with its corosync (knet,
# token 1000 ms) and a sheep, all in one cluster. With COROSYNC_CRYPTO=1,
# knet encrypts and authenticates with one authkey ($T/corosync-authkey).
start_corosync_hosts() {
  local n=$1 addrs="" i crypto=()
  for ((i = 1; i <= n; i++)); do addrs+="${addrs:+,}10.77.0.$i"; done
  [ "${COROSYNC_CRYPTO:-}" = 1 ] && crypto=(--crypto "$T/corosync-authkey")
  private_run_and_shm
  hosts_up "$n"
  for ((i = 1; i <= n; i++)); do
    "$COROSYNC" conf "$T/coro$i" --addrs "$addrs" --token 1000 "${crypto[@]}"
    start_corosync "$T/coro$i" --netns "sdh-$i"
  done
  for ((i = 1; i <= n; i++)); do start_host_sheep "$i"; done
  for ((i = 1; i <= n; i++)); do wait_for 30 host_nodes_are "$i" "$n"; done
}
