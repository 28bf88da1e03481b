#!/bin/bash
# The nbdkit plugin refuses to start, with a clear message naming the
# cause, when the VDI is missing, the sheep is unreachable, the cluster is
# not formatted or its parameters are wrong; --help and --dump-plugin
# describe its keys; a good configuration (TCP or the sheep's unix socket,
# vdi= or the bare name) serves the VDI.
source "$(dirname "$0")/lib.sh"

# nbdkit_fails EXPECTED_STDERR PLUGIN_ARGS...: nbdkit must exit 1 at once
# with exactly that message, leaving no socket and no process behind.
# With a sanitizer build (libasan preloaded into nbdkit), nbdkit can hang
# in exit() after printing an error: the stock file plugin does the same
# (nbdkit -U s file /nonexistent), a deadlock in libp11-kit's destructor
# (freelocale) under the preloaded runtime, so there a process stuck after
# the right message is killed and counted as exit 1.
nbdkit_fails() {
  local expected=$1
  shift
  LD_PRELOAD="$(nbdkit_preload)" nbdkit -U "$T/bad.sock" -P "$T/bad.pid" "$PLUGIN" "$@" \
    >"$T/out" 2>"$T/err" &
  local pid=$! rc=0
  said_or_gone() { [ -s "$T/err" ] || ! kill -0 "$1"; }
  wait_for 20 said_or_gone $pid
  local end=$((SECONDS + 2))
  while kill -0 $pid 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
  if kill -0 $pid 2>/dev/null; then
    [ -n "$(nbdkit_preload)" ] || fail "nbdkit $* printed '$(cat "$T/err")' but did not exit"
    echo "note: nbdkit $* hung in exit under the sanitizer preload; killed" >&2
    { kill -9 $pid && wait $pid; } 2>/dev/null || true
    rc=1
  else
    wait $pid || rc=$?
  fi
  assert_eq "$(cat "$T/err")[exit $rc]" "${expected}[exit 1]" "nbdkit $* (stderr and exit)"
  [ ! -e "$T/bad.sock" ] || fail "nbdkit $* left its socket behind"
}

# No sheep at all: the address is named.
nbdkit_fails "nbdkit: error: sheepdog: cannot connect to 127.0.0.1:7000: Connection refused" vdi=test
start_sheep 0
nbdkit_fails "nbdkit: error: sheepdog: cannot connect to 127.0.0.1:7009: Connection refused" \
  vdi=test port=7009
nbdkit_fails "nbdkit: error: sheepdog: cannot connect to unix:$T/nosuch.sock: No such file or directory" \
  vdi=test socket="$T/nosuch.sock"

# Not formatted yet.
nbdkit_fails "nbdkit: error: sheepdog: cannot open VDI 'test' on 127.0.0.1:7000: Waiting for cluster to be formatted" \
  vdi=test

dogn 0 cluster format -c 1 >/dev/null || fail "cluster format"
dogn 0 vdi create test 100M || fail "vdi create"

# A missing VDI.
nbdkit_fails "nbdkit: error: sheepdog: VDI 'missing' not found: No VDI found" vdi=missing port=7000
nbdkit_fails "nbdkit: error: sheepdog: VDI 'missing' not found: No VDI found" vdi=missing \
  socket="$T/0/sock"

# Bad parameters.
# Without vdi= the export name picks the VDI (tested in 042); a snapshot
# key without a VDI makes no sense.
nbdkit_fails "nbdkit: error: sheepdog: tag and snapid need vdi=NAME" port=7000 tag=x
nbdkit_fails "nbdkit: error: sheepdog: unknown parameter 'foo'" vdi=test foo=bar
nbdkit_fails "nbdkit: error: sheepdog: port: '0' is not a port number (1..65535)" vdi=test port=0
nbdkit_fails "nbdkit: error: sheepdog: port: '70000' is not a port number (1..65535)" vdi=test port=70000
nbdkit_fails "nbdkit: error: sheepdog: socket cannot be combined with address or port" \
  vdi=test port=7000 socket="$T/0/sock"
nbdkit_fails "nbdkit: error: sheepdog: lock: 'bogus' is not 'exclusive' or 'shared'" vdi=test lock=bogus
for n in 0 65 x; do
  nbdkit_fails "nbdkit: error: sheepdog: connections: '$n' is not a number of connections (1..64)" \
    vdi=test connections=$n
done
nbdkit_fails "nbdkit: error: could not decipher boolean (maybe)" vdi=test direct=maybe
nbdkit_fails "nbdkit: error: sheepdog: auth-key: cannot read the cluster key $T/nokey: No such file or directory" \
  vdi=test auth-key="$T/nokey"
printf 'short\n' >"$T/shortkey"
nbdkit_fails "nbdkit: error: sheepdog: auth-key: cannot read the cluster key $T/shortkey: the key must be at least 16 bytes (for example: head -c 32 /dev/urandom | base64 > FILE)" \
  vdi=test auth-key="$T/shortkey"
nbdkit_fails "nbdkit: error: sheepdog: vdi: the VDI name must not be empty" vdi=
nbdkit_fails "nbdkit: error: sheepdog: vdi: the VDI name must be shorter than 256 bytes" \
  vdi="$(printf 'x%.0s' {1..256})"

# --help lists the keys; --dump-plugin describes the plugin.
LD_PRELOAD="$(nbdkit_preload)" nbdkit "$PLUGIN" --help >"$T/help" 2>&1 || fail "nbdkit PLUGIN --help"
for key in '\[vdi=\]NAME' 'tag=TAG' 'snapid=N' 'address=ADDR' 'port=PORT' 'socket=PATH' \
  'auth-key=FILE' 'readonly=BOOL' 'lock=exclusive|shared'; do
  grep -q "^$key " "$T/help" || fail "--help does not list $key"
done
LD_PRELOAD="$(nbdkit_preload)" nbdkit "$PLUGIN" --dump-plugin >"$T/dump" 2>&1 || fail "nbdkit PLUGIN --dump-plugin"
for line in name=sheepdog magic_config_key=vdi thread_model=parallel has_can_multi_conn=1 \
  has_extents=1 has_zero=1 has_can_fua=1; do
  grep -qx "$line" "$T/dump" || fail "--dump-plugin lacks $line"
done

# Good configurations serve the VDI: TCP with vdi=, the unix socket with
# the bare name.
echo -n 'plugin ok' | dogn 0 vdi write test 0 9 || fail "vdi write"
start_nbdkit "$T/tcp.sock" vdi=test port=7000
start_nbdkit "$T/unix.sock" test socket="$T/0/sock" readonly=true  # beside the writer above
for s in tcp unix; do
  out=$(nbdinfo --size "nbd+unix:///?socket=$T/$s.sock") || fail "nbdinfo ($s)"
  assert_eq "$out" "104857600" "export size ($s)"
  out=$(PATH=/usr/bin:$PATH nbdsh -u "nbd+unix:///?socket=$T/$s.sock" -c 'print(h.pread(512, 0)[:9].decode())')
  assert_eq "$out" "plugin ok" "read through the plugin ($s)"
done
pass
