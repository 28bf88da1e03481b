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
# Names chosen to break out of the command line (a quote, $(...), a
# backtick, glob characters, '!', '=' and ':', a tab, a leading '-'), in
# a second cluster, and a snapshot tag of that kind: in the unquoted, '...
# and "... contexts each reply, read back by the shell as the word it
# completes, is the name alone and runs nothing, and the same lines typed
# into an interactive bash under a pty (readline, history expansion), TAB
# then Enter, hand dog exactly the name.
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

# The second cluster (sheep 6): names whoever can create a VDI might pick to
# run code on the machine of whoever completes them. The PWNED files
# appear if any of that code runs.
DRIVER=local:$T/cluster6 start_sheep 6
dogn 6 cluster format -c 1 >/dev/null || fail "cluster format (6)"
tab=$'\t'
# NAME, what is typed of it unquoted, the part of that which readline keeps
# (it replaces only what follows a '=' or ':'), typed after ', after ".
hostile=(
  "evil'; touch $T/PWNED1 #" 'evi' '' "'evi" '"evi'
  "ev\$(touch $T/PWNED2)" 'ev\$' '' "'ev\$" '"ev$'
  'q"x' 'q' '' "'q" '"q'
  "b\`touch $T/PWNED3\`" 'b' '' "'b" '"b'
  '*' '\*' '' "'*" '"*'
  '[a]' '\[' '' "'[" '"['
  'h!st' 'h' '' "'h" '"h'
  'x=y:z' 'x=' 'x=' "'x=" '"x='
  "t${tab}x" 't' '' "'t" '"t'
)
for ((i = 0; i < ${#hostile[@]}; i += 5)); do
  dog vdi create -p 7006 -- "${hostile[i]}" 4M || fail "vdi create ${hostile[i]}"
done
dog vdi create -p 7006 -- -x 4M || fail "vdi create -x"
# A snapshot tag goes through the same replies (raw mode does not escape
# the blanks and backslashes of a tag).
evil_tag="s'\$(touch $T/PWNED4)  \\*"
dog vdi snapshot -p 7006 -s "$evil_tag" 'q"x' || fail "vdi snapshot -s $evil_tag"
assert_eq "$(dogn 6 vdi list -r | wc -l)" 11 "rows of vdi list -r on the second cluster"
# What * and [a] would match if a reply left them unquoted.
mkdir "$T/glob"
touch "$T/glob/a" "$T/glob/x"

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
  expect "$m" "alter-copy check format info recover reweight scrub shutdown snapshot" dog cluster ""
  # Nested subcommands, from the subcommand's help (and the third level).
  expect "$m" "info plug unplug" dog node md ""
  expect "$m" "list load save show" dog cluster snapshot ""
  expect "$m" "start status stop" dog cluster scrub ""
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

# words_of TEXT: the words a command line makes of TEXT, %q-quoted.
words_of() { (cd "$T/glob" && eval "set -- $1" && printf '%q ' "$@"); }
no_pwned() { ! compgen -G "$T/PWNED*" >/dev/null; }
# expect_name MODE NAME KEEP CLOSE WORD...: completing the last WORD gives
# one reply, and KEEP (what readline keeps of that word), the reply and
# CLOSE (the quote readline adds after a single match) read back as NAME
# alone, without running anything.
expect_name() {
  local mode=$1 name=$2 keep=$3 close=$4 got word words
  shift 4
  got=$(bash --norc --noprofile "$T/complete.sh" "$mode" "$@" 2>"$T/complete.err") ||
    fail "completion of '$*' ($mode) failed: $(cat "$T/complete.err")"
  [[ -n $got && $got != *$'\n'* ]] || fail "completion of '$*' ($mode): not one reply: $got"
  word=$keep$got$close
  words=$(words_of "$word" 2>&1) || words="(the shell refused it: $words)"
  no_pwned || fail "completion of '$*' ($mode) gave $word, which ran code"
  assert_eq "$words" "$(printf '%q ' "$name")" "completion of '$*' ($mode), $word read back"
}
for m in "${modes[@]}"; do
  for ((i = 0; i < ${#hostile[@]}; i += 5)); do
    name=${hostile[i]}
    expect_name "$m" "$name" "${hostile[i + 2]}" "" dog vdi delete -p 7006 "${hostile[i + 1]}"
    expect_name "$m" "$name" "'" "'" dog vdi delete -p 7006 "${hostile[i + 3]}"
    expect_name "$m" "$name" '"' '"' dog vdi delete -p 7006 "${hostile[i + 4]}"
  done
  # A name that looks like an option: after "--", and quoted; a bare "-"
  # still asks for options.
  # Readline keeps what comes before an unquoted ':'.
  expect_name "$m" x=y:z '"x=y":' "" dog vdi delete -p 7006 '"x=y":'
  expect_name "$m" -x "" "" dog vdi delete -p 7006 -- -
  expect_name "$m" -x "'" "'" dog vdi delete -p 7006 "'-"
  expect_name "$m" -x '"' '"' dog vdi delete -p 7006 '"-'
  expect "$m" "$(bash --norc --noprofile "$T/complete.sh" "$m" dog vdi delete -p 7005 - | paste -sd ' ')" \
    dog vdi delete -p 7006 -
  expect_name "$m" "$evil_tag" "" "" dog vdi read -p 7006 'q\"x' -s s
  expect_name "$m" "$evil_tag" "'" "'" dog vdi read -p 7006 "'q\"x'" -s "'s"
  expect_name "$m" "$evil_tag" '"' '"' dog vdi read -p 7006 'q\"x' -s '"s'
done

# The same lines typed into an interactive bash under a pty, TAB and Enter:
# a stand-in dog records the argument `vdi delete` and `vdi read` get last
# (%q-quoted, a line each) and passes everything else to the real dog.
mkdir "$T/bin"
cat >"$T/bin/dog" <<STANDIN
#!/bin/bash
if [ "\${1-}" = vdi ] && [[ \${2-} == @(delete|read) ]] && [ "\${3-}" != -h ]; then
  printf '%q\n' "\${@: -1}" >>"$T/ran"
  exit 0
fi
exec "$DOG_BIN" "\$@"
STANDIN
chmod +x "$T/bin/dog"
cat >"$T/rc" <<'RC'
PS1='READY> '
HISTFILE=
[ "$MODE" = bc ] && source "$BASH_COMPLETION_MAIN"
source "$COMPLETION"
bind 'set bell-style none'
RC
# type.py RCFILE RECORD LINE...: types each LINE, TAB and Enter into
# `bash -i` on a pty, each once the prompt is back, and waits (20 s at
# most) for RECORD to gain a line.
cat >"$T/type.py" <<'PY'
import os, pty, select, sys, time
rc, record, lines = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.environ.update(TERM="dumb", INPUTRC="/dev/null")
    os.execvp("bash", ["bash", "--noprofile", "--rcfile", rc, "-i"])
out = b""
def records():
    try:
        with open(record, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0
def wait(what, done):
    global out
    end = time.time() + 20
    while not done():
        if time.time() > end:
            sys.exit("timed out waiting for %s; the terminal showed:\n%s"
                     % (what, out[-2000:].decode(errors="replace")))
        if select.select([fd], [], [], 0.05)[0]:
            try:
                out += os.read(fd, 65536)
            except OSError:
                sys.exit("bash went away; the terminal showed:\n" + out[-2000:].decode(errors="replace"))
for i, line in enumerate(lines):
    wait("prompt %d" % (i + 1), lambda: out.count(b"READY> ") > i)
    os.write(fd, line.encode() + b"\t\r")
    wait("dog to run for: " + line, lambda: records() > i)
os.write(fd, b"exit\r")
os.waitpid(pid, 0)
PY
for m in "${modes[@]}"; do
  lines=() want=()
  for ((i = 0; i < ${#hostile[@]}; i += 5)); do
    for typed in "${hostile[i + 1]}" "${hostile[i + 3]}" "${hostile[i + 4]}"; do
      lines+=("dog vdi delete -p 7006 $typed")
      want+=("$(printf %q "${hostile[i]}")")
    done
  done
  lines+=('dog vdi delete -p 7006 "x=y":')
  want+=(x=y:z)
  lines+=("dog vdi delete -p 7006 -- -" "dog vdi delete -p 7006 '-" 'dog vdi delete -p 7006 "-')
  want+=(-x -x -x)
  for typed in s "'s" '"s'; do
    lines+=("dog vdi read -p 7006 'q\"x' -s $typed")
    want+=("$(printf %q "$evil_tag")")
  done
  rm -f "$T/ran"
  MODE=$m PATH=$T/bin:$PATH /usr/bin/python3 "$T/type.py" "$T/rc" "$T/ran" "${lines[@]}" >"$T/type.err" 2>&1 ||
    fail "interactive completion ($m): $(cat "$T/type.err")"
  no_pwned || fail "interactive completion ($m) ran code: $(ls "$T"/PWNED*)"
  assert_eq "$(cat "$T/ran")" "$(printf '%s\n' "${want[@]}")" "what dog got after TAB, Enter ($m)"
done
pass
