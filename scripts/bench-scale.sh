#!/bin/bash
# Scale benchmark: N sheep on this machine (local driver, copies 3, 128
# vnodes each: fixed, so that placement does not follow the free space of
# the one file system every store shares here), a
# fixed amount written through dog, then one sheep killed with -9 and a
# new one joined. For each N it prints:
#   seen     seconds from starting the first sheep until every sheep lists
#            all N members
#   format   seconds `dog cluster format -c 3` takes
#   kill     seconds from kill -9 of one sheep until every object it held
#            has its copies again (min(3, N-1)) on the surviving sheep's
#            disks (scripts/scale_watch.py watches the stores' files)
#   moved    copies that appeared on disks during that recovery / the
#            minimum (the copies the dead sheep held)
#   req      requests sheep answered during that recovery, until no sheep
#            is recovering any more (from their metrics; ours only)
#   join     seconds from starting a new sheep until the last
#            change of any store before placement was exact
#            (tests/tools/check-placement: every object on exactly its
#            owners under the new ring, nothing extra; it runs after the
#            stores change; for upstream's sheep, which leaves the old
#            owners' copies live, until every owner holds its copy)
#   moved, req   the same for the join (req without the checker's own)
#   rss      the largest resident memory (VmHWM) of any sheep, MiB
#
#   scripts/bench-scale.sh [-n N]... [-s MIB] [BUILD_DIR]
#     -n N     a cluster size (repeatable; default 3 16 32 64 100)
#     -s MIB   data written before the kill (default 1024)
#   UPSTREAM_SHEEP=PATH  also runs every size with that sheep binary
#                        (upstream Sheepdog), side by side
# Runs itself in private network, mount and PID namespaces (root); the
# stores live on a private tmpfs. Not part of the test suite.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=()
MIB=1024
while getopts "n:s:" o; do
  case $o in
    n) SIZES+=("$OPTARG") ;;
    s) MIB=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
[ ${#SIZES[@]} -gt 0 ] || SIZES=(3 16 32 64 100)
for n in "${SIZES[@]}"; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 500 ] ||
    { echo "bench-scale: -n $n: a cluster size is 2..500" >&2; exit 2; }
done
[[ $MIB =~ ^[0-9]+$ ]] && [ "$MIB" -ge 4 ] || { echo "bench-scale: -s $MIB: at least 4 MiB" >&2; exit 2; }
if [ -z "${SD_BENCH_INNER:-}" ]; then
  exec unshare --net --mount --pid --fork --mount-proc \
    env SD_BENCH_INNER=1 bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" \
    $(for n in "${SIZES[@]}"; do echo -n "-n $n "; done) -s "$MIB" "$BUILD"
fi
SHEEP=$BUILD/daemon/sheep
DOG=$BUILD/cli/dog
CHECK=$BUILD/tests/tools/check-placement
WATCH="python3 $ROOT/scripts/scale_watch.py"
UPSTREAM_SHEEP=${UPSTREAM_SHEEP:-}
T=/tmp/sdscale
mkdir -p "$T"
mount -t tmpfs -o size=20g tmpfs "$T"
ulimit -n "$(ulimit -Hn)"
trap 'set +e; pkill -9 -f "^$SHEEP $T/" ; [ -z "$UPSTREAM_SHEEP" ] || pkill -9 -f "^$UPSTREAM_SHEEP $T/"; sleep 0.3; umount -l "$T"' EXIT
head -c $((MIB << 20)) /dev/urandom >"$T/data"

now_ms() { date +%s%3N; }
secs_since() { echo "scale=2; ($(now_ms) - $1) / 1000" | bc | sed 's/^\./0./'; }
wait_for() {  # wait_for SECONDS CMD...: polls until CMD succeeds
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $end ] || { echo "bench-scale: timed out waiting for: $*" >&2; return 1; }
    sleep 0.01
  done
}
members_are() { [ "$("$DOG" node list -r -p "$1" 2>/dev/null | wc -l)" -eq "$2" ]; }
all_see() {  # all_see FIRST_PORT COUNT: every sheep lists COUNT members (120 s in all)
  local i end=$((SECONDS + 120))
  for ((i = 0; i < $2; i++)); do
    until members_are $(($1 + i)) "$2"; do
      [ $SECONDS -lt $end ] || return 1
      sleep 0.01
    done
  done
}
# No line: no sheep is recovering.
quiet() { [ "$("$DOG" node recovery -r -p "$1" 2>/dev/null | wc -l)" -eq 0 ]; }

run_one() {  # run_one LABEL PROGRAM N
  local label=$1 prog=$2 n=$3 i t0 dirs=() ports=() pids mports=() seen fmt kill_s jn
  local base=7000 mbase=9000 moved_k moved_j req_k req_j rss runs victim
  local d="$T/$label$n"
  mkdir -p "$d"
  t0=$(now_ms)
  for ((i = 0; i < n; i++)); do
    local extra=()
    [ "$label" = ours ] && extra=(--metrics "127.0.0.1:$((mbase + i))")
    "$prog" "$d/s$i" -p $((base + i)) -z "$i" -V 128 -c "local:$d/cl" "${extra[@]}"
    dirs+=("$d/s$i")
    ports+=($((base + i)))
    mports+=($((mbase + i)))
  done
  if ! all_see $base "$n"; then
    printf "%-8s %4d   (the %d sheep did not all see each other within 120 s)\n" "$label" "$n" "$n"
    pkill -9 -f "^$prog $d/" || true
    wait_for 30 bash -c "! pgrep -f '^$prog $d/' >/dev/null"
    rm -rf "$d"
    return 0
  fi
  seen=$(secs_since "$t0")
  t0=$(now_ms)
  "$DOG" cluster format -c 3 -V -p $base </dev/null >/dev/null
  fmt=$(secs_since "$t0")
  "$DOG" vdi create bench "${MIB}M" -p $base
  "$DOG" vdi write bench 0 "${MIB}M" -p $base <"$T/data"
  # The victim: the middle sheep (not the one dog talks to).
  victim=$((n / 2))
  local survivors=("${dirs[@]:0:$victim}" "${dirs[@]:$((victim + 1))}")
  local live_m=("${mports[@]:0:$victim}" "${mports[@]:$((victim + 1))}")
  $WATCH snap "$d/state" "${dirs[@]}"
  [ "$label" = ours ] && $WATCH requests "$d/state" "${mports[@]}" >/dev/null
  local vpid
  vpid=$(pgrep -f "^$prog $d/s$victim( |$)" | paste -sd,)
  kill_s=$($WATCH kill "$d/state" "$vpid" "$d/s$victim" "${survivors[@]}")
  wait_for 300 quiet $base
  read -r moved_k min_k < <($WATCH moved "$d/state" "${survivors[@]}")
  req_k=-
  [ "$label" = ours ] && req_k=$($WATCH requests "$d/state" "${live_m[@]}" | tee -a "$d/profile" | cut -d' ' -f1)
  [ "$label" != ours ] || echo "$label N=$n kill: $(tail -1 "$d/profile")" >>"$T/profiles"
  # A new sheep joins (a fresh store, its own port and zone).
  $WATCH snap "$d/state" "${survivors[@]}"
  local extra=()
  [ "$label" = ours ] && extra=(--metrics "127.0.0.1:$((mbase + n))")
  # (Placement is exact for the old members until the join is seen.)
  # Upstream's sheep leaves the old owners' copies live after a join:
  # there, only every owner holding its copy is waited for.
  local exact=$CHECK
  [ "$label" = ours ] || exact="$CHECK --allow-extra"
  read -r jn runs < <($WATCH join "$d/state" \
    "$prog $d/new -p $((base + n)) -z $n -V 128 -c local:$d/cl ${extra[*]}" \
    "[ \$($DOG node list -r -p $base | wc -l) -eq $n ]" "$exact -p $base" "${survivors[@]}" "$d/new")
  wait_for 300 quiet $base
  read -r moved_j min_j < <($WATCH moved "$d/state" "${survivors[@]}" "$d/new")
  req_j=-
  if [ "$label" = ours ]; then
    req_j=$(SUBTRACT="get_obj_list=$((runs * n)) get_node_list=$runs read_obj=$runs" \
      $WATCH requests "$d/state" "${live_m[@]}" $((mbase + n)) | tee -a "$d/profile" | cut -d' ' -f1)
    echo "$label N=$n join: $(tail -1 "$d/profile")" >>"$T/profiles"
  fi
  pids=$(pgrep -f "^$prog $d/" | tr '\n' ' ')
  # shellcheck disable=SC2086
  rss=$($WATCH rss $pids)
  printf "%-8s %4d %6s %7s %7s %9s %7s %7s %9s %7s %5s\n" "$label" "$n" "$seen" "$fmt" "$kill_s" \
    "$moved_k/$min_k" "$req_k" "$jn" "$moved_j/$min_j" "$req_j" "$rss"
  pkill -9 -f "^$prog $d/" || true
  wait_for 30 bash -c "! pgrep -f '^$prog $d/' >/dev/null"
  rm -rf "$d"
}

echo "bench-scale: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), ${MIB} MiB written, copies 3"
printf "%-8s %4s %6s %7s %7s %9s %7s %7s %9s %7s %5s\n" sheep N seen format kill moved req join moved req rss
for n in "${SIZES[@]}"; do
  run_one ours "$SHEEP" "$n"
  [ -z "$UPSTREAM_SHEEP" ] || run_one upstream "$UPSTREAM_SHEEP" "$n"
done
echo "requests by opcode (ours):"
sed 's/^/  /' "$T/profiles"
