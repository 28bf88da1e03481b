#!/bin/bash
# No silent single-machine fallback and no shared /tmp: sheep without -c
# uses corosync as upstream does and, when none answers (none runs in this
# test's network namespace), exits 1 naming -c local and creating nothing.
# The local driver's directory must be this user's and writable by nobody
# else, and its log a file of ours: another user's directory, a
# world-writable one, or a log that is a symlink to someone's file are
# refused, and that file is left alone. The default directory lives under
# /run, created 0700. The data directory is 0700 and object files 0600.
source "$(dirname "$0")/lib.sh"
mount -t tmpfs tmpfs /run || fail "cannot mount a private /run"

refused() {  # refused EXPECTED_STDERR ARGS...: exit 1, that message, no data directory
  local expected=$1 rc=0
  shift
  "$SHEEP" "$T/x" -p 7009 "$@" >"$T/out" 2>"$T/err" || rc=$?
  assert_eq "$(cat "$T/err")[exit $rc]" "${expected}[exit 1]" "sheep $*"
  [ ! -e "$T/x" ] || fail "sheep $* created its data directory"
}
refused "cannot reach corosync, the default cluster driver: start corosync (see README, \"Several hosts with corosync\"), or give -c local for sheep that all run on this machine"

mkdir -m 0700 "$T/theirs" && chown nobody "$T/theirs"
refused "refusing the local cluster driver's directory: $T/theirs is owned by uid $(id -u nobody), not by this user (uid 0)" \
  -c "local:$T/theirs"
mkdir "$T/open" && chmod 0777 "$T/open"
refused "refusing the local cluster driver's directory: $T/open is writable by others (mode 0777)" \
  -c "local:$T/open"
mkdir -m 0700 "$T/trap"
echo precious >"$T/victim"
ln -s "$T/victim" "$T/trap/log"
refused "refusing the local cluster driver's directory: $T/trap/log is a symlink" -c "local:$T/trap"
assert_eq "$(cat "$T/victim")" "precious" "the symlink's target"
ln -s "$T/victim" "$T/linkdir"
refused "refusing the local cluster driver's directory: $T/linkdir: not a directory (a symlink?)" \
  -c "local:$T/linkdir"

# The default directory, and the modes of what sheep creates.
DRIVER=local start_sheep 0
assert_eq "$(stat -c %a /run/sheepdog/local)" "700" "the default local driver directory"
assert_eq "$(stat -c %a /run/sheepdog/local/log)" "600" "its log"
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create disk 8M || fail "create"
head -c 4096 /dev/urandom | dogn 0 vdi write disk 0 4096 || fail "write"
assert_eq "$(stat -c %a "$T/0")" "700" "the data directory"
assert_eq "$(stat -c %a "$T/0/obj")" "700" "the object directory"
for f in "$T/0"/obj/*; do
  assert_eq "$(stat -c %a "$f")" "600" "object file $(basename "$f")"
done
assert_eq "$(stat -c %a "$T/0/sheep.log")" "600" "the log"
pass
