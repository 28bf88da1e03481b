#!/bin/bash
# Installs, from Debian's archive only, everything needed to build sheep,
# dog and the nbdkit plugin and to run the tests and benchmarks.
set -euo pipefail
PKGS=(
  build-essential g++ meson ninja-build pkg-config
  nbdkit nbdkit-plugin-dev libnbd-dev libnbd-bin nbdfuse python3-libnbd
  doctest-dev liburcu-dev libaio-dev libssl-dev libisal-dev
  corosync libcpg-dev libcorosync-common-dev libquorum-dev libvotequorum-dev
  zookeeper libzookeeper-mt-dev
  fio qemu-utils fuse3 e2fsprogs util-linux iproute2 nftables procps
  scdoc libsystemd-dev libmicrohttpd-dev bash-completion systemd
  debhelper dpkg-dev lintian fakeroot prometheus
  clang libclang-rt-14-dev
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
