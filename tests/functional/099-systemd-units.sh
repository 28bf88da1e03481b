#!/bin/bash
# The systemd units as built (scripts/systemd/): systemd-analyze verify
# accepts them; sheep@.service's command line, run the way systemd runs a
# Type=notify service, reports READY=1 from its main process only once the
# sheep answers requests, and STOPPING=1 on SIGTERM; the nbdkit services'
# command lines serve a VDI (and every VDI by export name) on a socket passed
# by socket activation, as their .socket units arrange (root-only unix
# sockets: NBD has no authentication of its own).
source "$(dirname "$0")/lib.sh"
UNITS=$BUILD/scripts/systemd
for u in sheep@.service nbdkit-sheepdog@.service nbdkit-sheepdog.service; do
  [ -f "$UNITS/$u" ] || fail "$UNITS/$u was not generated"
done
SRC=$ROOT/scripts/systemd

# Units as installed name the installed programs; here they name the
# build's (systemd-analyze checks that ExecStart= is executable).
sbindir=$(sed -n 's|^ExecStart=\(.*\)/sheep .*|\1|p' "$UNITS/sheep@.service")
[ -n "$sbindir" ] || fail "no sheep in sheep@.service's ExecStart="
mkdir -p "$T/units"
sed "s|$sbindir/sheep|$SHEEP|" "$UNITS/sheep@.service" >"$T/units/sheep@.service"
cp "$UNITS"/nbdkit-sheepdog*.service "$SRC"/nbdkit-sheepdog*.socket "$T/units/"
out=$(cd "$T/units" && systemd-analyze verify --man=no sheep@node0.service \
  nbdkit-sheepdog@xenial.service nbdkit-sheepdog@xenial.socket nbdkit-sheepdog.service \
  nbdkit-sheepdog.socket 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify complained: $out"
# The check itself can fail: a unit with a wrong directive is refused.
sed 's/^Type=notify/Type=notified/' "$T/units/sheep@.service" >"$T/units/broken@.service"
out=$(cd "$T/units" && systemd-analyze verify --man=no broken@x.service 2>&1) &&
  [ -z "$out" ] && fail "systemd-analyze verify accepted Type=notified"
rm "$T/units/broken@.service"
grep -qx 'Type=notify' "$T/units/sheep@.service" || fail "sheep@.service is not Type=notify"
grep -qx 'LimitNOFILE=1048576' "$T/units/sheep@.service" || fail "no LimitNOFILE"
grep -qx 'Restart=on-failure' "$T/units/sheep@.service" || fail "no restart policy"
pass "systemd-analyze verify"

# exec_start UNIT: its ExecStart= with this test's paths: the instance,
# the data directory under $T, the options as an /etc/default file would.
exec_start() {
  sed -n 's/^ExecStart=//p' "$T/units/$1" |
    sed -e "s|%i|$2|g" -e "s|/var/lib/sheepdog/|$T/lib/|g" \
      -e "s|\$SHEEP_OPTS|$3|; s|\$NBDKIT_OPTS|$3|; s|\$NBDKIT_SHEEPDOG_OPTS|${4:-}|"
}
mkdir -p "$T/lib"
cmd=$(exec_start sheep@.service node0 "-c local:$T/cluster -p 7000")
[[ $cmd == "$SHEEP --foreground "* ]] || fail "unexpected ExecStart: $cmd"
# The check at READY=1: the sheep answers dog at once.
out=$(python3 "$ROOT/tests/functional/helpers/sd_notify_run.py" "$T/notify" \
  "$DOG_BIN node list -p 7000 >$T/at-ready 2>&1" -- $cmd) || fail "notify helper: $out"
echo "$out"
first=$(echo "$out" | head -n 1)
[[ $first == "message main READY=1"* ]] || fail "first notification is not READY=1 from the main process: $first"
echo "$out" | grep -qx 'check 0' || fail "dog failed at READY=1: $(cat "$T/at-ready")"
grep -q "127.0.0.1:7000" "$T/at-ready" || fail "node list at READY=1 lacks the sheep"
echo "$out" | grep -q '^message main STOPPING=1' || fail "no STOPPING=1 on SIGTERM"
echo "$out" | grep -q '^message other' && fail "a notification came from another process"
echo "$out" | tail -n 1 | grep -qx 'exit 0' || fail "sheep did not exit 0 after SIGTERM"
[ -S "$T/lib/node0/sock" ] && fail "the sheep left its socket behind"
pass "sheep@.service: READY=1 when serving, STOPPING=1 and exit 0 on SIGTERM"

# Without the NOTIFY_SOCKET nothing changes: a plain --foreground sheep.
"$SHEEP" "$T/lib/node0" --foreground -c "local:$T/cluster" -p 7000 &
on_exit "kill $!"
wait_for 20 sheep_listed 0
dog cluster format -c 1 >/dev/null
dog vdi create xenial 8M
dog vdi create other 4M
head -c 1M /dev/urandom >"$T/data"
dog vdi write xenial 0 1M <"$T/data"

# nbdkit-sheepdog@xenial: socket activation passes the listening socket;
# the service's command line serves the VDI (the plugin by its path here).
preload=$(nbdkit_preload)
cmd=$(exec_start nbdkit-sheepdog@.service xenial "" "port=7000")
[[ $cmd == *" --foreground  sheepdog vdi=xenial port=7000" ]] || fail "unexpected ExecStart: $cmd"
cmd=${cmd/ sheepdog / $PLUGIN }
systemd-socket-activate -E LD_PRELOAD="$preload" -E ASAN_OPTIONS -E UBSAN_OPTIONS -l "$T/xenial.sock" $cmd >"$T/activate.log" 2>&1 &
one_vdi=$!
on_exit "kill $one_vdi"
wait_for 20 test -S "$T/xenial.sock"
nbdcopy "nbd+unix:///?socket=$T/xenial.sock" "$T/export"
got=$(head -c 1M "$T/export" | sum)
[ "$got" = "$(sum <"$T/data")" ] || fail "socket-activated nbdkit read other data"
size=$(nbdinfo --size "nbd+unix:///?socket=$T/xenial.sock")
[ "$size" = $((8 << 20)) ] || fail "export size $size"
pass "nbdkit-sheepdog@.service serves its VDI on an activated socket"
# It holds xenial's lock (one writer per VDI) until it stops.
kill "$one_vdi"
xenial_unlocked() { ! dog vdi lock list | grep -q "^ *xenial "; }
wait_for 30 xenial_unlocked

# nbdkit-sheepdog.service: every VDI by export name, on the root-only unix
# socket the .socket unit names (here under $T).
listen=$(sed -n 's/^ListenStream=//p' "$T/units/nbdkit-sheepdog.socket")
[ "$listen" = "/run/nbdkit-sheepdog/all.sock" ] || fail "nbdkit-sheepdog.socket listens on $listen"
grep -qx 'SocketMode=0600' "$T/units/nbdkit-sheepdog.socket" || fail "nbdkit-sheepdog.socket is not root-only"
cmd=$(exec_start nbdkit-sheepdog.service "" "" "port=7000")
cmd=${cmd/ sheepdog / $PLUGIN }
all="nbd+unix:///%s?socket=$T/all.sock"
systemd-socket-activate -E LD_PRELOAD="$preload" -E ASAN_OPTIONS -E UBSAN_OPTIONS -l "$T/all.sock" $cmd >"$T/activate-all.log" 2>&1 &
on_exit "kill $!"
# shellcheck disable=SC2059
wait_for 20 nbdinfo --size "$(printf "$all" other)"
# shellcheck disable=SC2059
nbdinfo --list --json "$(printf "$all" "")" >"$T/list.json" 2>"$T/list.err" || fail "nbdinfo --list: $(cat "$T/list.err")"
list=$(python3 -c 'import json, sys; print(" ".join(sorted(e["export-name"] for e in json.load(sys.stdin)["exports"])))' <"$T/list.json")
[ "$list" = "other xenial" ] || fail "exports listed: $list"
# shellcheck disable=SC2059
[ "$(nbdinfo --size "$(printf "$all" other)")" = $((4 << 20)) ] || fail "size of other"
pass "nbdkit-sheepdog.service serves every VDI by export name"
