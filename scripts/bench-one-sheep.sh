# Sourced by the one-sheep benchmarks (bench-memory.sh, bench-hyper.sh):
# with BUILD, PORT and NAME set, picks the binaries, makes $T (removed at
# exit with every nbdkit whose pid file is in it and the sheep), starts a
# sheep on $T/s0 and formats it with one copy. Defines wait_for.
[ -x "$BUILD/daemon/sheep" ] || BUILD=$("$ROOT/scripts/build.sh")
SHEEP=$BUILD/daemon/sheep DOG=$BUILD/cli/dog PLUGIN=$BUILD/nbd-plugin/nbdkit-sheepdog-plugin.so
T=$(mktemp -d "/var/tmp/sd$NAME.XXXXXX")
trap 'for p in "$T"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; pkill -9 -f "$SHEEP $T/" 2>/dev/null; sleep 0.3; rm -rf "$T"' EXIT
wait_for() {  # wait_for SECONDS CMD...: poll until CMD succeeds
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $end ] || { echo "$NAME: timed out waiting for: $*" >&2; exit 1; }
    sleep 0.05
  done
}
_one_node() { [ "$("$DOG" node list -r -p "$PORT" 2>/dev/null | wc -l)" -eq 1 ]; }
"$SHEEP" "$T/s0" -p "$PORT" -z 0 -c "local:$T/cl"
wait_for 30 _one_node
"$DOG" cluster format -c 1 -p "$PORT" </dev/null >/dev/null
