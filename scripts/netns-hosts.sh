#!/bin/bash
# Several "hosts" on one machine: network namespaces joined by veth pairs
# through a bridge, addresses 10.77.0.1 ... 10.77.0.N on eth0. Only these
# addresses are used; nothing touches the host's own network.
#
#   netns-hosts.sh up N [PREFIX]        namespaces PREFIX-sw (bridge) and PREFIX-1..N
#   netns-hosts.sh down N [PREFIX]
#   netns-hosts.sh exec I [PREFIX] -- CMD...   run CMD on host I
#   netns-hosts.sh partition I [PREFIX] drop all traffic of host I (nftables)
#   netns-hosts.sh heal I [PREFIX]
# PREFIX defaults to sdh. Run it inside a private mount namespace (tests
# do) to keep /run/netns private too.
set -euo pipefail

cmd=${1:-}
n=${2:-}
prefix=${3:-sdh}
[ "$prefix" = "--" ] && prefix=sdh
[ -n "$cmd" ] && [ -n "$n" ] || { sed -n '2,12p' "$0"; exit 2; }

case "$cmd" in
up)
  ip netns add "$prefix-sw"
  ip -n "$prefix-sw" link add br0 type bridge stp_state 0 forward_delay 0
  ip -n "$prefix-sw" link set br0 up
  ip -n "$prefix-sw" link set lo up
  for ((i = 1; i <= n; i++)); do
    ns="$prefix-$i"
    ip netns add "$ns"
    ip link add "p$i" netns "$prefix-sw" type veth peer name eth0 netns "$ns"
    ip -n "$prefix-sw" link set "p$i" master br0 up
    ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
  ;;
down)
  for ((i = 1; i <= n; i++)); do ip netns del "$prefix-$i" 2>/dev/null || true; done
  ip netns del "$prefix-sw" 2>/dev/null || true
  ;;
exec)
  shift 2
  [ "${1:-}" != "--" ] && shift
  [ "${1:-}" = "--" ] && shift
  exec ip netns exec "$prefix-$n" "$@"
  ;;
partition)
  ip netns exec "$prefix-$n" nft "add table inet sd_partition { chain in { type filter hook input priority 0; iifname \"eth0\" drop; }; chain out { type filter hook output priority 0; oifname \"eth0\" drop; }; }"
  ;;
heal)
  ip netns exec "$prefix-$n" nft delete table inet sd_partition
  ;;
*)
  sed -n '2,12p' "$0"
  exit 2
  ;;
esac
