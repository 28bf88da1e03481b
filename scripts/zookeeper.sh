#!/bin/bash
# A private ZooKeeper server for tests and demos (Debian's `zookeeper`
# package): its config, data, log and pid in a directory you name; nothing
# in /etc, no systemd.
#
#   zookeeper.sh start DIR [--port P] [--addr A] [--netns NS] [--id N --servers A1:P1,A2:P2,...]
#        starts one server listening on A:P (default 127.0.0.1:2181) and
#        waits until it answers; with --servers it is server N of that
#        ensemble (each server's quorum ports are its client port + 1000 and
#        + 2000), and it is ready once the ensemble has a leader
#   zookeeper.sh stop DIR [--kill]      SIGTERM (or SIGKILL) and wait until gone
#   zookeeper.sh running DIR            exit 0 if it answers
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,14p' "$0"; exit 2; }
shift 2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

source "$(dirname "$0")/service-helpers.sh"
# four_letter WORD: the server's answer to a four-letter command (a server
# that accepts but never answers, starting or frozen, costs at most 3 s).
four_letter() {
  local addr port
  addr=$(cat "$dir/addr") port=$(cat "$dir/port")
  if [ -s "$dir/netns" ]; then
    timeout 3 ip netns exec "$(cat "$dir/netns")" bash -c "exec 3<>/dev/tcp/$addr/$port; printf $1 >&3; cat <&3"
  else
    timeout 3 bash -c "exec 3<>/dev/tcp/$addr/$port; printf $1 >&3; cat <&3"
  fi
}
# (Outputs are captured before matching: with pipefail, grep -q closing the
# pipe early would fail the check.)
answers() { local out; out=$(four_letter ruok 2>/dev/null) && [[ $out == imok* ]]; }
serving() {
  local out
  out=$(four_letter stat 2>/dev/null) || return 1
  [[ $out == *$'\nMode: standalone'* || $out == *$'\nMode: leader'* || $out == *$'\nMode: follower'* ]]
}

case "$cmd" in
start)
  port=2181 addr=127.0.0.1 netns= id= servers=
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port=$2; shift 2 ;;
      --addr) addr=$2; shift 2 ;;
      --netns) netns=$2; shift 2 ;;
      --id) id=$2; shift 2 ;;
      --servers) servers=$2; shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  mkdir -p "$dir/data"
  echo "$addr" >"$dir/addr"
  echo "$port" >"$dir/port"
  printf '%s' "$netns" >"$dir/netns"
  {
    echo "tickTime=500"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "dataDir=$dir/data"
    echo "clientPort=$port"
    echo "clientPortAddress=$addr"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=ruok,stat"
    if [ -n "$servers" ]; then
      i=1
      IFS=, read -ra list <<<"$servers"
      for s in "${list[@]}"; do
        a=${s%:*} p=${s##*:}
        echo "server.$i=$a:$((p + 1000)):$((p + 2000))"
        i=$((i + 1))
      done
      echo "$id" >"$dir/data/myid"
    fi
  } >"$dir/zoo.cfg"
  run=(java -Xmx256m -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar
       -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE
       org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg")
  if [ -n "$netns" ]; then
    ip netns exec "$netns" "${run[@]}" </dev/null >"$dir/server.log" 2>&1 &
  else
    "${run[@]}" </dev/null >"$dir/server.log" 2>&1 &
  fi
  echo $! >"$dir/pid"
  if [ -n "$servers" ]; then
    # A member of an ensemble serves once the ensemble has a leader: the
    # caller waits for that (all servers must be started first).
    wait_until 30 answers || { echo "zookeeper in $dir did not start" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
  else
    wait_until 30 serving || { echo "zookeeper in $dir did not start" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
  fi
  ;;
stop)
  stop_service "$dir" zookeeper 30 "${1:-}"
  ;;
running)
  [ -f "$dir/pid" ] && ! gone "$(cat "$dir/pid")" && serving
  ;;
*)
  sed -n '2,14p' "$0"
  exit 2
  ;;
esac
