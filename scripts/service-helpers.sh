# Helpers shared by the scripts that run a private service from a
# directory of its own (corosync.sh, zookeeper.sh): sourced, not run.

# gone PID: the process no longer exists or is a zombie.
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# wait_until SECONDS CMD...: polls CMD every 50 ms; 1 at the deadline.
wait_until() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}

# stop_service DIR NAME SECONDS [--kill]: SIGTERM (or SIGKILL) the process
# in DIR/pid and wait until it is gone; removes DIR/pid.
stop_service() {
  local dir=$1 name=$2 secs=$3 pid
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  if [ "${4:-}" = "--kill" ]; then kill -9 "$pid" 2>/dev/null || true; else kill "$pid" 2>/dev/null || true; fi
  wait_until "$secs" gone "$pid" || { echo "$name $pid did not stop" >&2; return 1; }
  rm -f "$dir/pid"
}
