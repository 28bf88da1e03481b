#!/bin/bash
# sheep's command line: option validation messages and exit codes, help
# and version, the data-directory lock against a second daemon, the data
# directory's contents and log after start, and a clean stop on SIGTERM.
source "$(dirname "$0")/lib.sh"

# A killed sheep's port is released only once every thread of it has
# exited, which can be a moment after pgrep stops listing it.
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# bad_option EXPECTED_STDERR ARGS...: sheep must fail with exit 1, print
# exactly EXPECTED_STDERR on stderr, nothing on stdout, and create nothing.
bad_option() {
  local expected=$1
  shift
  local rc=0
  "$SHEEP" "$T/bad" -c local "$@" >"$T/out" 2>"$T/err" || rc=$?
  assert_eq "$(cat "$T/err")[exit $rc]" "${expected}[exit 1]" "sheep $* (stderr and exit)"
  assert_eq "$(cat "$T/out")" "" "sheep $* (stdout)"
  [ ! -e "$T/bad" ] || fail "sheep $* created its data directory"
}
bad_option "Invalid port number '0'" -p 0
bad_option "Invalid port number '70000'" -p 70000
bad_option "Invalid port number '12a'" -p 12a
bad_option "Invalid port number ''" -p ''
bad_option "Invalid zone id '-1': must be an integer between 0 and 4294967295" -z -1
bad_option "Invalid zone id '4294967296': must be an integer between 0 and 4294967295" -z 4294967296
bad_option "Invalid number of vnodes '0': must be an integer between 1 and 65535" -V 0
bad_option "Invalid number of vnodes '65536': must be an integer between 1 and 65535" -V 65536
bad_option "Options '-g' and '-V' can not be both specified" -g -V 5

rc=0
"$SHEEP" -h >"$T/help" 2>&1 || rc=$?
assert_eq "$rc" "0" "sheep -h exit status"
[[ $(head -n 1 "$T/help") == "Sheepdog daemon (version "*")" ]] || fail "sheep -h first line: $(head -n 1 "$T/help")"
assert_eq "$(sed -n 2p "$T/help")" "Usage: sheep [OPTION]... [PATH] (default: /tmp)" "sheep -h usage line"
grep -q -- '^  -p, --port              specify the TCP port on which to listen (default: 7000)$' "$T/help" \
  || fail "sheep -h does not describe -p"
rc=0
"$SHEEP" -v >"$T/version" 2>&1 || rc=$?
assert_eq "$rc" "0" "sheep -v exit status"
[[ $(head -n 1 "$T/version") == "Sheepdog daemon version "* ]] || fail "sheep -v: $(head -n 1 "$T/version")"

# Start: the data directory holds exactly upstream's entries.
dir_entries() { (cd "$1" && printf '%s ' *) | sed 's/ $//'; }
start_sheep 0
assert_eq "$(dir_entries "$T/0")" "config epoch lock obj sheep.log sock" "data directory contents"
[ -S "$T/0/sock" ] || fail "$T/0/sock is not a socket"
grep -q 'sheepdog daemon (version .*) started' "$T/0/sheep.log" || fail "no start line in sheep.log"
pid=$(sheep_pid 0)

# A second daemon on the same directory (another port) is refused.
rc=0
"$SHEEP" "$T/0" -p 7005 -z 5 -c local >"$T/out2" 2>"$T/err2" || rc=$?
assert_eq "$rc" "1" "exit status of a second sheep on the same directory"
grep -q "another sheep daemon is using $T/0\$" "$T/err2" || fail "second sheep's stderr: $(cat "$T/err2")"
assert_eq "$(sheep_pid 0)" "$pid" "the first sheep is still the one running"
# (It reports its failure before it has finished exiting: wait for that.)
second_gone() { ! pgrep -f "$SHEEP $T/0 -p 7005" >/dev/null; }
wait_for 10 second_gone
assert_eq "$(dogn 0 node list -r)" "0 127.0.0.1:7000 128 0" "first sheep still serves"
assert_eq "$(dir_entries "$T/0")" "config epoch lock obj sheep.log sock" "directory after the refused start"

# SIGTERM stops it cleanly: the process exits, the socket is removed and
# the directory can be used again at once.
kill -TERM "$pid"
wait_for 20 sheep_gone 0
[ ! -e "$T/0/sock" ] || fail "unix socket left behind after SIGTERM"
wait_for 20 port_free 7000
start_sheep 0
assert_eq "$(dir_entries "$T/0")" "config epoch lock obj sheep.log sock" "directory after restart"
stop_sheep 0

# In the foreground, SIGTERM makes sheep exit with status 0.
"$SHEEP" "$T/1" -f -p 7001 -z 1 -c local >"$T/fg.out" 2>&1 &
fgpid=$!
wait_for 20 sheep_listed 1
kill -TERM $fgpid
rc=0
wait $fgpid || rc=$?
assert_eq "$rc" "0" "exit status of a foreground sheep after SIGTERM"
sheep_gone 1 || fail "foreground sheep still running"
pass
