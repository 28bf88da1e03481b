#!/bin/bash
# A private corosync 3 for tests and demos: its config, log, state and pid
# in a directory you name; nothing in /etc, no systemd.
#
#   corosync.sh conf  DIR [--nodeid N] [--addrs A1,A2,...] [--token MS] [--transport knet|udpu]
#                          [--crypto AUTHKEY]
#                          writes DIR/corosync.conf (default: one node on 127.0.0.1); with
#                          --crypto, knet encrypts and authenticates every packet with
#                          AUTHKEY (made with corosync-keygen if missing; the same file on
#                          every node), as production clusters should
#   corosync.sh keygen AUTHKEY             writes a new key (corosync-keygen, mode 0400)
#   corosync.sh start DIR [--netns NS]   starts it (inside network namespace NS
#                          if given, with a private /run), waits until it serves
#   corosync.sh stop  DIR [--kill]       SIGTERM (or SIGKILL) and wait until gone
#   corosync.sh running DIR              exit 0 if it is up
#
# corosync's IPC sockets are abstract unix sockets, one set per network
# namespace: sheep must run in the same namespace as their corosync, and at
# most one corosync can run per namespace. It locks /run/corosync.pid, so it
# always gets a private /run (tmpfs) of its own.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,20p' "$0"; exit 2; }
shift 2

keygen() {  # keygen FILE: a fresh corosync authkey, readable by root only
  mkdir -p "$(dirname "$1")"
  corosync-keygen -k "$1" >/dev/null
  chmod 0400 "$1"
}
if [ "$cmd" = keygen ]; then
  keygen "$dir"
  exit 0
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

source "$(dirname "$0")/service-helpers.sh"

case "$cmd" in
conf)
  nodeid=1 addrs=127.0.0.1 token=1000 transport=knet authkey=
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodeid) nodeid=$2; shift 2 ;;
      --addrs) addrs=$2; shift 2 ;;
      --token) token=$2; shift 2 ;;
      --transport) transport=$2; shift 2 ;;
      --crypto) authkey=$2; shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  if [ -n "$authkey" ]; then
    [ "$transport" = knet ] || { echo "--crypto needs the knet transport" >&2; exit 2; }
    [ -f "$authkey" ] || keygen "$authkey"
  fi
  mkdir -p "$dir/state"
  {
    echo "totem {"
    echo "    version: 2"
    echo "    cluster_name: sheepdog"
    echo "    transport: $transport"
    if [ -n "$authkey" ]; then
      echo "    crypto_cipher: aes256"
      echo "    crypto_hash: sha256"
      echo "    keyfile: $authkey"
    else
      echo "    crypto_cipher: none"
      echo "    crypto_hash: none"
    fi
    echo "    token: $token"
    echo "    token_coefficient: 0"
    echo "    interface {"
    echo "        linknumber: 0"
    echo "        mcastport: 5405"
    if [ "$transport" = knet ]; then
      echo "        knet_ping_interval: 100"
      echo "        knet_ping_timeout: 400"
      echo "        knet_pong_count: 1"
    fi
    echo "    }"
    echo "}"
    echo "nodelist {"
    i=1
    IFS=, read -ra list <<<"$addrs"
    for a in "${list[@]}"; do
      echo "    node {"
      echo "        nodeid: $i"
      echo "        name: node$i"
      echo "        ring0_addr: $a"
      echo "    }"
      i=$((i + 1))
    done
    echo "}"
    echo "quorum {"
    echo "    provider: corosync_votequorum"
    echo "}"
    echo "logging {"
    echo "    to_stderr: no"
    echo "    to_syslog: no"
    echo "    to_logfile: yes"
    echo "    logfile: $dir/corosync.log"
    echo "    timestamp: hires"
    echo "}"
    echo "system {"
    echo "    state_dir: $dir/state"
    echo "}"
  } >"$dir/corosync.conf"
  ;;
start)
  netns=
  [ "${1:-}" = "--netns" ] && netns=$2
  [ -f "$dir/corosync.conf" ] || "$0" conf "$dir"
  mkdir -p "$dir/state"
  : >"$dir/corosync.log"
  inner="mount -t tmpfs tmpfs /run && exec corosync -f -c '$dir/corosync.conf'"
  if [ -n "$netns" ]; then
    ip netns exec "$netns" unshare --mount --propagation private sh -c "$inner" \
      </dev/null >"$dir/stderr" 2>&1 &
  else
    unshare --mount --propagation private sh -c "$inner" </dev/null >"$dir/stderr" 2>&1 &
  fi
  echo $! >"$dir/pid"
  if ! wait_until 20 grep -q "ready to provide service" "$dir/corosync.log"; then
    echo "corosync in $dir did not start:" >&2
    tail -n 20 "$dir/stderr" "$dir/corosync.log" >&2
    exit 1
  fi
  ;;
stop)
  stop_service "$dir" corosync 20 "${1:-}"
  ;;
running)
  [ -f "$dir/pid" ] && ! gone "$(cat "$dir/pid")"
  ;;
*)
  sed -n '2,20p' "$0"
  exit 2
  ;;
esac
