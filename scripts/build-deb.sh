#!/bin/bash
# Builds the Debian packages (sheepdog-cpp: sheep, dog; nbdkit-plugin-sheepdog:
# the plugin) from the files git knows (committed or not, nothing ignored:
# no build directories), then runs lintian on them.
#   scripts/build-deb.sh [OUTDIR]      .debs land in OUTDIR (default build-deb/)
# Needs the build dependencies of debian/control (scripts/install-deps.sh
# installs them). Exits non-zero if the build fails or lintian reports an
# error; lintian's report is kept as OUTDIR/lintian.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/build-deb}")
mkdir -p "$OUT"
work=$(mktemp -d /tmp/sheepdog-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/sheepdog-cpp
mkdir -p "$src"
# A clean tree: what git tracks, plus new files not yet ignored.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$ROOT" && xargs -0 cp --parents -t "$src" 2>/dev/null || true)
for f in debian/control debian/rules meson.build; do
  [ -f "$src/$f" ] || { echo "build-deb: $f missing from the copy" >&2; exit 1; }
done
echo "build-deb: building in $src" >&2
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$OUT/build.log" 2>&1 || {
  tail -n 40 "$OUT/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed (log: $OUT/build.log)" >&2
  exit 1
}
rm -f "$OUT"/*.deb
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$OUT"/
echo "build-deb: $(cd "$OUT" && ls ./*.deb | xargs)" >&2
# lintian as root complains about running as root; it is harmless here.
lintian --allow-root --no-tag-display-limit "$OUT"/*.changes >"$OUT/lintian.txt" 2>&1 || true
if grep -q '^E: ' "$OUT/lintian.txt"; then
  grep '^E: ' "$OUT/lintian.txt" >&2
  echo "build-deb: lintian reports errors" >&2
  exit 1
fi
echo "build-deb: lintian: $(grep -c '^W: ' "$OUT/lintian.txt" || true) warnings, no errors" >&2
ls "$OUT"/*.deb
