#!/bin/bash
# The main job, from a fresh Debian 12 machine: installs dependencies,
# builds, installs sheep/dog/the nbdkit plugin, starts a local sheep,
# formats it, creates a VDI and serves it over NBD, then writes 16 MiB
# through NBD and reads it back through dog to show the round trip.
#
#   scripts/demo.sh [DATA_DIR] [VDI] [SIZE]
# defaults: /var/lib/sheepdog-demo xenial 2G; sheep on port 7000, NBD on 10809.
# Stop it all with: scripts/demo.sh --stop [DATA_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = "--stop" ]; then
  DIR=${2:-/var/lib/sheepdog-demo}
  [ -f "$DIR/nbdkit.pid" ] && kill "$(cat "$DIR/nbdkit.pid")" 2>/dev/null || true
  [ -f "$DIR/sheep.pid" ] && kill "$(cat "$DIR/sheep.pid")" 2>/dev/null || true
  echo "demo stopped (data kept in $DIR)"
  exit 0
fi

DIR=${1:-/var/lib/sheepdog-demo}
VDI=${2:-xenial}
SIZE=${3:-2G}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_until() {  # wait_until SECONDS CMD...
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && { echo "timed out waiting for: $*" >&2; exit 1; }
    sleep 0.1
  done
}

say "installing dependencies (Debian packages)"
"$ROOT/scripts/install-deps.sh"
say "building (release) and installing sheep, dog and the nbdkit plugin"
BUILD=$("$ROOT/scripts/build.sh")
meson install -C "$BUILD" --quiet >/dev/null
hash -r
echo "installed: $(command -v sheep) $(command -v dog) $(pkg-config --variable=plugindir nbdkit)/nbdkit-sheepdog-plugin.so"

say "starting sheep on $DIR (port 7000)"
if dog node list >/dev/null 2>&1; then
  echo "a sheep is already answering on port 7000; using it"
else
  sheep "$DIR" -c local -P "$DIR/sheep.pid"
  wait_until 20 sh -c 'dog node list -r | grep -q 127.0.0.1:7000'
fi
dog node list

if dog cluster info | grep -q 'Waiting for cluster to be formatted'; then
  say "dog cluster format -c 1"
  dog cluster format -c 1
fi
dog cluster info

if [ -z "$(dog vdi list -r "$VDI")" ]; then
  say "dog vdi create $VDI $SIZE"
  dog vdi create "$VDI" "$SIZE"
fi
dog vdi list

say "serving $VDI over NBD: nbdkit sheepdog vdi=$VDI (port 10809)"
if [ -f "$DIR/nbdkit.pid" ] && kill -0 "$(cat "$DIR/nbdkit.pid")" 2>/dev/null; then
  echo "nbdkit already running (pid $(cat "$DIR/nbdkit.pid"))"
else
  nbdkit -P "$DIR/nbdkit.pid" -p 10809 sheepdog vdi="$VDI"
  wait_until 20 nbdinfo --size nbd://localhost:10809
fi
nbdinfo nbd://localhost:10809 | grep -E 'export-size|can_multi_conn|is_read_only'
echo "the writer holds the VDI's lock (a second writable nbdkit would be refused):"
dog vdi lock list

say "writing 16 MiB of random data through NBD, reading it back with dog"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 16M /dev/urandom >"$tmp/data"
nbdcopy "$tmp/data" nbd://localhost:10809
written=$(md5sum <"$tmp/data" | cut -d' ' -f1)
readback=$(dog vdi read "$VDI" 0 16M | md5sum | cut -d' ' -f1)
echo "md5 written through NBD:   $written"
echo "md5 read back through dog: $readback"
[ "$written" = "$readback" ] || { echo "MISMATCH" >&2; exit 1; }
dog vdi list

cat <<EOT

The VDI '$VDI' is served on nbd://localhost:10809. On a machine with the
nbd kernel module, attach it as a block device:
    modprobe nbd && nbd-client -b 4096 -N $VDI localhost 10809 /dev/nbd0
    mkfs.ext4 /dev/nbd0 && mount /dev/nbd0 /mnt
Stop everything with: $0 --stop $DIR
EOT
