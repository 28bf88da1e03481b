#!/bin/bash
# The NBD leg with nbdkit's own TLS: --tls=require with a pre-shared key.
# A TLS client holding the key reads and writes the VDI; a client without
# TLS, or with another key, gets nothing.
source "$(dirname "$0")/lib.sh"
start_sheep 0
dogn 0 cluster format -c 1 >/dev/null || fail "format"
dogn 0 vdi create disk 16M || fail "create"
printf 'alice:%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/keys.psk"
printf 'alice:%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/other.psk"
chmod 600 "$T/keys.psk" "$T/other.psk"
start_nbdkit "$T/tls.sock" --tls=require --tls-psk="$T/keys.psk" vdi=disk
uri="nbds+unix://alice@/?socket=$T/tls.sock&tls-psk-file=$T/keys.psk"
head -c 8M /dev/urandom >"$T/a"
nbdcopy "$T/a" "$uri" || fail "write over TLS"
assert_eq "$(nbdcopy "$uri" - | head -c 8M | md5sum)" "$(md5sum <"$T/a")" "read over TLS"
assert_eq "$(dogn 0 vdi read disk 0 8M | md5sum)" "$(md5sum <"$T/a")" "the data reached the VDI"
info=$(nbdinfo "$uri") || fail "nbdinfo over TLS"
[[ $info == *"protocol: newstyle-fixed with TLS"* ]] || fail "nbdinfo does not report TLS: $info"
if nbdinfo --size "nbd+unix:///?socket=$T/tls.sock" >/dev/null 2>&1; then
  fail "a client without TLS was served"
fi
if nbdinfo --size "nbds+unix://alice@/?socket=$T/tls.sock&tls-psk-file=$T/other.psk" >/dev/null 2>&1; then
  fail "a client with another key was served"
fi
pass
