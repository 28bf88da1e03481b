#!/bin/bash
# The Debian packages: scripts/build-deb.sh builds both from this tree with
# dpkg-buildpackage (lintian: no errors); each holds its programs, manual
# pages, units, defaults and completion where Debian expects them; the
# plugin's package depends on nbdkit; the packaged programs run, and the
# packaged plugin serves a VDI of the packaged sheep. Built with
# DEB_BUILD_OPTIONS=nocheck (no unit tests or test tools: the suite has run
# those already), which the package's rules honour.
source "$(dirname "$0")/lib.sh"
out=$(DEB_BUILD_OPTIONS=nocheck "$ROOT/scripts/build-deb.sh" "$T/deb" 2>"$T/build-deb.err") ||
  fail "build-deb failed: $(tail -n 30 "$T/build-deb.err")"
grep -q '^E: ' "$T/deb/lintian.txt" && fail "lintian errors: $(grep '^E: ' "$T/deb/lintian.txt")"
daemon_deb=$(ls "$T"/deb/sheepdog-cpp_*.deb) || fail "no sheepdog-cpp package"
plugin_deb=$(ls "$T"/deb/nbdkit-plugin-sheepdog_*.deb) || fail "no plugin package"

has() {
  local deb=$1 path=$2
  dpkg-deb -c "$deb" | awk '{print $6}' | grep -qx "$path" || fail "$(basename "$deb") lacks $path"
}
for p in ./usr/sbin/sheep ./usr/bin/dog ./usr/share/man/man8/sheep.8.gz ./usr/share/man/man8/dog.8.gz \
  ./lib/systemd/system/sheep@.service ./etc/default/sheepdog \
  ./usr/share/bash-completion/completions/dog ./usr/share/doc/sheepdog-cpp/PROTOCOL.md.gz; do
  has "$daemon_deb" "$p"
done
plugindir=$(pkg-config --variable=plugindir nbdkit)
for p in ".$plugindir/nbdkit-sheepdog-plugin.so" ./usr/share/man/man1/nbdkit-sheepdog-plugin.1.gz \
  ./lib/systemd/system/nbdkit-sheepdog@.service ./lib/systemd/system/nbdkit-sheepdog@.socket \
  ./lib/systemd/system/nbdkit-sheepdog.service ./lib/systemd/system/nbdkit-sheepdog.socket \
  ./etc/default/nbdkit-sheepdog; do
  has "$plugin_deb" "$p"
done
dpkg-deb -c "$plugin_deb" | grep -q 'usr/sbin/sheep' && fail "the plugin package holds the sheep"
deps=$(dpkg-deb -f "$plugin_deb" Depends)
[[ ", $deps," == *", nbdkit,"* || ", $deps," == *", nbdkit "* ]] || fail "plugin Depends: $deps"
conf=$(dpkg-deb --ctrl-tarfile "$daemon_deb" | tar -xO ./conffiles)
[[ $conf == *"/etc/default/sheepdog"* ]] || fail "/etc/default/sheepdog is not a conffile: $conf"
pass "package contents, dependencies, lintian"

# The packaged programs, unpacked under $T/root, run.
dpkg -x "$daemon_deb" "$T/root"
dpkg -x "$plugin_deb" "$T/root"
grep -qx "ExecStart=/usr/sbin/sheep --foreground \$SHEEP_OPTS /var/lib/sheepdog/%i" \
  "$T/root/lib/systemd/system/sheep@.service" || fail "packaged unit names another sheep"
grep -q "^EnvironmentFile=-/etc/default/sheepdog$" "$T/root/lib/systemd/system/sheep@.service" ||
  fail "packaged unit reads another defaults file"
SHEEP=$T/root/usr/sbin/sheep
DOG_BIN=$T/root/usr/bin/dog
PLUGIN=$T/root$plugindir/nbdkit-sheepdog-plugin.so
# Not built with the sanitizers: no preload for nbdkit.
nbdkit_preload() { :; }
start_sheep 0
dog cluster format -c 1 >/dev/null
dog vdi create packaged 4M
start_nbdkit "$T/nbd.sock" vdi=packaged
head -c 64K /dev/urandom >"$T/data"
nbdcopy "$T/data" "nbd+unix:///?socket=$T/nbd.sock"
[ "$(dog vdi read packaged 0 64K | sum)" = "$(sum <"$T/data")" ] || fail "dog read other data than nbdkit wrote"
pass "the packaged sheep, dog and plugin serve a VDI"
