#!/bin/bash
# Checks the daemon's layering (daemon/meson.build): a file includes only
# from its own folder and the folders below it, so no include runs back up
# a layer. Prints each violation; exits 1 if there is any.
#   scripts/check-layers.sh
set -uo pipefail
cd "$(dirname "$0")/../daemon" || exit 1
# Lowest first. "root" is the files at the top of daemon/ (the assembly:
# sheep.*, options.*, metrics_page.*, metrics_endpoint.*); main.cpp is
# above everything.
layers=(base metrics store cluster peers group recovery gateway vdi server root ops main)
rank() {
  local i
  for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done
  echo -1
}
layer_of_file() {
  case "$1" in
    main.cpp) echo main ;;
    */*) echo "${1%%/*}" ;;
    *) echo root ;;
  esac
}
layer_of_include() {
  case "$1" in
    */*) echo "${1%%/*}" ;;
    *) if [ -e "$1" ]; then echo root; else echo common; fi ;;  # common/ headers: below every daemon layer
  esac
}
bad=0
while IFS= read -r f; do
  f=${f#./}
  mine=$(layer_of_file "$f")
  my_rank=$(rank "$mine")
  [ "$my_rank" -lt 0 ] && { echo "$f: folder '$mine' is not in the layer list"; bad=1; continue; }
  while IFS= read -r inc; do
    [ -z "$inc" ] && continue
    theirs=$(layer_of_include "$inc")
    [ "$theirs" = common ] && continue
    # common/ also has folders (client/, proto/): those are not daemon layers.
    [ -e "$inc" ] || continue
    their_rank=$(rank "$theirs")
    if [ "$their_rank" -gt "$my_rank" ]; then
      echo "$f ($mine) includes $inc ($theirs): an include runs back up a layer"
      bad=1
    fi
  done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$f")
done < <(find . -name '*.cpp' -o -name '*.h')
[ $bad -eq 0 ] && echo "daemon layers: ok"
exit $bad
