#!/bin/bash
# bash completion for dog (cli/completion/dog.bash), run against the real
# dog and a real sheep on port 7005 (so that a query without -p finds
# nothing): commands, subcommands, nested subcommands and options as dog's
# help gives them; VDI names from the sheep that -p / --port= / -p<port>
# / -a on the line name, unescaped from raw mode and quoted for the
# command line (a name with a space, one with a backslash, one with a
# colon, which readline splits the word at); a prefix
# filter, typed escapes and quotes; snapshot ids and tags after -s; no
# names where a new name goes; node ids; log levels; hosts after -a.
# Everything runs twice: with the bash-completion package loaded, and in a
# bare bash without it.
source "$(dirname "$0")/lib.sh"

start_sheep 5
dogn 5 cluster format -c 1 >/dev/null || fail "cluster format"
for name in alpha alto beta "my disk" 'bk\slash' disk:one; do
  dogn 5 vdi create "$name" 4M || fail "vdi create $name"
done
dogn 5 vdi snapshot -s snap1 alpha || fail "vdi snapshot"
# dog's raw listing escapes both names, as the completion expects.
grep -qF '= my\ disk 0 ' <<<"$(dogn 5 vdi list -r)" || fail "vdi list -r does not escape the space"
grep -qF '= bk\\slash 0 ' <<<"$(dogn 5 vdi list -r)" || fail "vdi list -r does not escape the backslash"

BASH_COMPLETION_MAIN=/usr/share/bash-completion/bash_completion
# complete.sh MODE WORD...: the completion of the last WORD (the one under
# the cursor, at the end of the line) of the dog command line WORD...,
# one reply a line, sorted. MODE bc loads bash-completion first; MODE
# plain is a bash without it. Like readline, '=' and ':' split a word.
cat >"$T/complete.sh" <<'EOF'
mode=$1
shift
PATH=$DOG_DIR:$PATH
if [ "$mode" = bc ]; then
  source "$BASH_COMPLETION_MAIN" || exit 3
  declare -F _init_completion >/dev/null || { echo "bash-completion has no _init_completion" >&2; exit 3; }
elif declare -F _init_completion >/dev/null; then
  echo "_init_completion defined in a bare bash" >&2
  exit 3
fi
source "$COMPLETION" || exit 3
spec=$(complete -p dog) || exit 3
[[ $spec =~ -F\ ([^ ]+) ]] || { echo "no completion function in: $spec" >&2; exit 3; }
func=${BASH_REMATCH[1]}
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMP_WORDS=()
split='^([^=:]*)([=:]+)(.*)$'
for w in "$@"; do
  while [[ $w =~ $split ]]; do
    [ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
    COMP_WORDS+=("${BASH_REMATCH[2]}")
    w=${BASH_REMATCH[3]}
  done
  COMP_WORDS+=("$w")
done
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
"$func" dog "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
exit 0
EOF
export DOG_DIR COMPLETION BASH_COMPLETION_MAIN
DOG_DIR=$(dirname "$DOG_BIN")
COMPLETION=$ROOT/cli/completion/dog.bash

# expect MODE "REPLIES" WORD...: the replies, space-separated, sorted.
expect() {
  local mode=$1 want=$2
  shift 2
  local got
  got=$(bash --norc --noprofile "$T/complete.sh" "$mode" "$@" 2>"$T/complete.err") ||
    fail "completion of '$*' ($mode) failed: $(cat "$T/complete.err")"
  assert_eq "$(printf '%s\n' "$got" | paste -sd ' ')" "$want" "completion of '$*' ($mode)"
}

modes=(plain)
if [ -f "$BASH_COMPLETION_MAIN" ]; then
  modes+=(bc)
else
  echo "note: $BASH_COMPLETION_MAIN not installed, bare bash only"
fi

vdi_subs="alter-copy backup check clone create delete getattr graph list lock object read resize"
vdi_subs+=" restore rollback setattr snapshot track tree write"
create_opts="--address --auth-key --block_size_shift --copies --help --hyper --port --prealloc --raw"
create_opts+=" --time --verbose -P -T -a -c -h -p -r -v -y -z"
all_names='alpha alto beta bk\\slash disk:one my\ disk'

for m in "${modes[@]}"; do
  # Commands and subcommands, from dog -h.
  expect "$m" "cluster node vdi" dog ""
  expect "$m" "node" dog n
  expect "$m" "$vdi_subs" dog vdi ""
  expect "$m" "check clone create" dog vdi c
  expect "$m" "alter-copy check format info recover reweight shutdown snapshot" dog cluster ""
  # Nested subcommands, from the subcommand's help (and the third level).
  expect "$m" "info plug unplug" dog node md ""
  expect "$m" "list load save show" dog cluster snapshot ""
  expect "$m" "dump-inode location map" dog vdi object ""
  expect "$m" "level" dog node log ""
  expect "$m" "get list set" dog node log level ""
  expect "$m" "alert crit debug emerg err info notice warning" dog node log level set ""
  # Options of the subcommand, short and long; a long name that runs into
  # its description in the help is cut where the usage line says.
  expect "$m" "$create_opts" dog vdi create -
  expect "$m" "--nr-batched-reclamation" dog vdi delete --nr
  expect "$m" "--force" dog cluster recover force --f
  expect "$m" "--address --all --auth-key --force --help --port --raw --time -A -T -a -f -h -p -r" \
    dog node md plug -

  # VDI names: only from the sheep the line names.
  expect "$m" "" dog vdi delete ""
  expect "$m" "$all_names" dog vdi delete -p 7005 ""
  expect "$m" "$all_names" dog vdi delete --port=7005 ""
  expect "$m" "$all_names" dog vdi delete -p7005 ""
  expect "$m" "$all_names" dog vdi delete -a 127.0.0.1 -p 7005 ""
  expect "$m" "" dog vdi delete -a 192.0.2.1 -p 7005 ""
  expect "$m" "alpha alto" dog vdi delete -p 7005 al
  expect "$m" 'my\ disk' dog vdi delete -p 7005 'my\ '
  expect "$m" 'my disk' dog vdi delete -p 7005 "'my"
  expect "$m" 'bk\\slash' dog vdi check -p 7005 "bk\\\\"
  # Readline replaces only what follows the last ':' of the word.
  expect "$m" "one" dog vdi delete -p 7005 disk:o
  # After a nested subcommand; several for cluster snapshot save.
  expect "$m" "alpha alto" dog vdi object map -p 7005 al
  expect "$m" "alpha alto" dog cluster snapshot save -p 7005 tag /tmp alpha al
  # Where a new name goes, nothing.
  expect "$m" "" dog vdi create -p 7005 ""
  expect "$m" "" dog vdi clone -p 7005 -s snap1 alpha ""
  # Snapshots of the VDI on the line after -s.
  expect "$m" "1 snap1" dog vdi read -p 7005 alpha -s ""
  expect "$m" "snap1" dog vdi clone -p 7005 alpha -s sn
  # Node ids, hosts.
  expect "$m" "0" dog node kill -p 7005 ""
  expect "$m" "localhost" dog vdi list -a localh
done
pass
