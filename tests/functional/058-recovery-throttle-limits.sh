#!/bin/bash
# `dog node recovery set-throttle` takes what upstream takes: max a u32,
# interval an int64 >= 0, both zero or neither, checked in that order. A bad
# value prints "Invalid ..." and exits 1 without the usage text, and the
# setting stays as it was (upstream's test 107, output byte for byte).
source "$(dirname "$0")/lib.sh"

start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"
out=""
try() {  # MAX INTERVAL EXPECTED_STATUS
  local rc=0 o
  dogn 0 node recovery set-throttle -- 0 0 >/dev/null 2>&1 || fail "reset"
  o=$(dogn 0 node recovery set-throttle -- "$1" "$2" 2>&1) || rc=$?
  [ "$rc" -eq "$3" ] || fail "set-throttle $1 $2 exited $rc, not $3: $o"
  [[ $o != *Usage* ]] || fail "set-throttle $1 $2 printed the usage"
  out+="${o:+$o
}$(dogn 0 node recovery get-throttle 2>&1)
"
}
for args in "0 1" "0 -1" "0 -2" "1 0" "1 -1" "1 -2" "-1 0" "-1 1" "-1 -1" "-1 -2" \
  "-2 0" "-2 1" "-2 -1" "-2 -2" "4294967295 9223372036854775808" \
  "4294967296 9223372036854775807" "4294967296 9223372036854775808"; do
  try $args 1
done
for args in "0 0" "1 1" "4294967295 9223372036854775807"; do try $args 0; done
assert_eq "$out" "$(cat <<'EOT'
Invalid interval max (0), interval (1)
max (0), interval (0)
Invalid interval (-1)
max (0), interval (0)
Invalid interval (-2)
max (0), interval (0)
Invalid interval max (1), interval (0)
max (0), interval (0)
Invalid interval (-1)
max (0), interval (0)
Invalid interval (-2)
max (0), interval (0)
Invalid max (-1)
max (0), interval (0)
Invalid max (-1)
max (0), interval (0)
Invalid max (-1)
max (0), interval (0)
Invalid max (-1)
max (0), interval (0)
Invalid max (-2)
max (0), interval (0)
Invalid max (-2)
max (0), interval (0)
Invalid max (-2)
max (0), interval (0)
Invalid max (-2)
max (0), interval (0)
Invalid interval (9223372036854775808)
max (0), interval (0)
Invalid max (4294967296)
max (0), interval (0)
Invalid max (4294967296)
max (0), interval (0)
max (0), interval (0)
max (1), interval (1)
max (4294967295), interval (9223372036854775807)
EOT
)
" "set-throttle outputs"
pass
