#!/bin/bash
# The manual pages are true to the programs. The pages built from
# docs/man/*.scd (in ${MAN_DIR:-$BUILD/docs/man}) are well-formed roff, and:
# - sheep(8) documents, as an entry of OPTIONS, every option `sheep -h`
#   prints, and no option sheep lacks;
# - dog(8) has a section ".SS CMD SUB" for every subcommand `dog -h` and
#   `dog CMD -h` list, and none for a subcommand dog lacks; each section
#   names every nested subcommand `dog CMD SUB -h` lists ("dog CMD SUB
#   NESTED") and has an entry "-X, --long" for each of its options (the
#   common ones -a -p -r -v -h -T have theirs under COMMON OPTIONS, and
#   their letter in the section), and no entry for an option it lacks;
# - nbdkit-sheepdog-plugin(1) documents under PARAMETERS every key of
#   `nbdkit sheepdog --help`, and no key the plugin lacks.
# Help output needs no daemon, so none is started.
source "$(dirname "$0")/lib.sh"
MAN_DIR=${MAN_DIR:-$BUILD/docs/man}

# page FILE: the roff page as plain text: the escapes of '-' and the font
# changes dropped, so that "\fB-b, --bindaddr\fR" reads "-b, --bindaddr".
page_text() {
  sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' -e "s/\\\\(aq/'/g" "$1"
}

# entries: the lines of a page text (stdin) that begin an entry: the first
# line after a paragraph break (.P/.PP/.TP) outside an indented block (.RS).
entries() {
  awk '/^\.RS/ { depth++; next } /^\.RE/ { if (depth) depth--; next }
       /^\.(P|PP|LP|TP)$/ { first = 1; next }
       /^\./ { next }
       { if (first && depth == 0) print; first = 0 }'
}

# section TITLE: the lines of a page text (stdin) under ".SH TITLE" or
# ".SS TITLE", up to the next heading of the same or a higher level.
section() {
  awk -v want="$1" '
    function title(line) { sub(/^\.S[HS] /, "", line); gsub(/"/, "", line); return line }
    /^\.SH / { if (in_sec) exit; if (title($0) == want) { in_sec = 1; next } }
    /^\.SS / { if (in_sec && level == "SS") exit
               if (!in_sec && title($0) == want) { in_sec = 1; level = "SS"; next } }
    in_sec { print }'
}

# has TEXT WORD: whether WORD occurs in TEXT with no name character
# (letter, digit, '_', '-') right before or after it.
has() {
  local text=$1 word=$2 quoted
  # shellcheck disable=SC2016 # the $ is a character to quote, not a variable
  quoted=$(printf '%s' "$word" | sed 's/[][\.|$(){}?+*^]/\\&/g')
  grep -Eq -- "(^|[^A-Za-z0-9_-])$quoted([^A-Za-z0-9_-]|$)" <<<"$text"
}

# check_page NAME SECTION: the generated page exists and is well-formed;
# sets $text to its plain text.
check_page() {
  local name=$1 sec=$2 file=$MAN_DIR/$1.$2
  [ -s "$file" ] || fail "$file is missing: the pages are built from docs/man/$name.$sec.scd by scdoc (apt-get install scdoc; ninja -C BUILD docs/man/$name.$sec)"
  # The first request, after comments and scdoc's preamble, is .TH NAME SECTION.
  local first
  first=$(grep -Ev '^\.(\\"|ie|el|nh|ad|ds)( |$)|^\.\\"' "$file" | grep -m1 '^\.') || true
  [[ $first =~ ^\.TH\ \"?$name\"?\ \"?$sec\"? ]] || fail "$file does not start with .TH $name $sec: $first"
  if command -v man >/dev/null; then
    local shown
    shown=$(LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat man --warnings=w -l "$file" 2>"$T/man.err") ||
      fail "man -l $file failed: $(cat "$T/man.err")"
    [ ! -s "$T/man.err" ] || fail "man -l $file warns: $(cat "$T/man.err")"
    [[ $shown == *NAME*"$name - "* ]] || fail "man -l $file shows no NAME section for $name"
  fi
  text=$(page_text "$file")
}

# ---- sheep(8) -------------------------------------------------------------

check_page sheep 8
sheep_text=$text
sheep_options=$(section OPTIONS <<<"$sheep_text")
[ -n "$sheep_options" ] || fail "sheep.8 has no OPTIONS section"
sheep_entries=$(entries <<<"$sheep_options")
help=$("$SHEEP" -h) || fail "sheep -h failed"
declare -A sheep_known=()
n=0
while IFS= read -r line; do
  if [[ $line =~ ^\ +-(.),\ --([A-Za-z0-9_-]+) ]]; then
    opt="-${BASH_REMATCH[1]}, --${BASH_REMATCH[2]}"
  elif [[ $line =~ ^\ +--([A-Za-z0-9_-]+) ]]; then
    opt="--${BASH_REMATCH[1]}"
  else
    continue
  fi
  sheep_known[$opt]=1
  n=$((n + 1))
  has "$sheep_entries" "$opt" || fail "sheep.8 OPTIONS has no entry for '$opt' (sheep -h: $line)"
done <<<"$help"
[ "$n" -ge 19 ] || fail "sheep -h listed only $n options"
while IFS= read -r line; do
  if [[ $line =~ ^-(.),\ --([A-Za-z0-9_-]+) ]]; then
    opt="-${BASH_REMATCH[1]}, --${BASH_REMATCH[2]}"
  elif [[ $line =~ ^--([A-Za-z0-9_-]+) ]]; then
    opt="--${BASH_REMATCH[1]}"
  else
    continue
  fi
  [ -n "${sheep_known[$opt]:-}" ] || fail "sheep.8 documents '$opt', which sheep -h does not list"
done <<<"$sheep_entries"
pass "sheep.8: $n options"

# ---- dog(8) ---------------------------------------------------------------

check_page dog 8
dog_text=$text
common=$(section "COMMON OPTIONS" <<<"$dog_text")
[ -n "$common" ] || fail "dog.8 has no COMMON OPTIONS section"
common_entries=$(entries <<<"$common")
common_letters="a p r v h T"

global=$("$DOG_BIN" -h) || fail "dog -h failed"
subs=$(awk '/^Available commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 " " $2 }' <<<"$global")
# dog CMD -h lists them too (on stderr, exit 64): the union of both lists.
for cmd in $(awk '{print $1}' <<<"$subs" | sort -u); do
  listed=$("$DOG_BIN" "$cmd" -h 2>&1) || true
  subs+=$'\n'$(awk -v c="$cmd" '$1 == c && NF == 2 { print $1 " " $2 }' <<<"$listed")
done
subs=$(sort -u <<<"$subs" | sed '/^$/d')
[ "$(wc -l <<<"$subs")" -ge 36 ] || fail "dog lists only $(wc -l <<<"$subs") subcommands: $subs"

# long_name SUB LETTER RUN USAGE: the long name of option -LETTER of dog SUB,
# whose help line reads "-LETTER, --RUN". dog pads "-X, --NAME" to 24
# columns, so a name of 18 characters or more runs into its description.
# Then the usage line names an option that takes a value ("[-B name]"),
# and for a flag the name is the longest prefix of RUN that dog accepts
# (getopt takes any prefix of a long name, nothing longer).
long_name() {
  local sub=$1 letter=$2 run=$3 usage=$4
  if [ ${#run} -lt 18 ]; then
    echo "$run"
    return
  fi
  local first
  first=$(head -n 1 <<<"$usage")
  if [[ $first =~ \[-$letter\ ([A-Za-z0-9_-]+)\] ]]; then
    echo "${BASH_REMATCH[1]}"
    return
  fi
  local len
  for ((len = ${#run}; len >= 18; len--)); do
    # shellcheck disable=SC2086 # $sub is two words on purpose
    if "$DOG_BIN" $sub "--${run:0:len}" -h >/dev/null 2>&1; then
      echo "${run:0:len}"
      return
    fi
  done
  fail "dog $sub -h: cannot tell the long name of -$letter from '--$run'"
}

declare -A dog_sections=()
nr_opts=0
nr_nested=0
while IFS= read -r sub; do
  dog_sections[$sub]=1
  body=$(section "$sub" <<<"$dog_text")
  [ -n "$body" ] || fail "dog.8 has no section '.SS $sub' for dog $sub"
  body_entries=$(entries <<<"$body")
  # shellcheck disable=SC2086 # $sub is two words on purpose
  usage=$("$DOG_BIN" $sub -h) || fail "dog $sub -h failed"
  # Nested subcommands: between "Available subcommands:" and "Options:".
  nested=$(awk '/^Available subcommands:/ { on = 1; next } /^Options:/ { on = 0 } on && /^  [a-z]/ { print $1 }' <<<"$usage")
  for word in $nested; do
    has "$body" "dog $sub $word" || fail "dog.8 section '$sub' does not show 'dog $sub $word'"
    nr_nested=$((nr_nested + 1))
  done
  # Options: "  -X, --name   description" after "Options:".
  declare -A mine=()
  while IFS= read -r line; do
    [[ $line =~ ^\ \ -(.),\ --([^[:space:]]+) ]] || continue
    letter=${BASH_REMATCH[1]}
    if [[ " $common_letters " == *" $letter "* ]]; then
      name=$(long_name "$sub" "$letter" "${BASH_REMATCH[2]}" "$usage")
      has "$common_entries" "-$letter, --$name" ||
        fail "dog.8 COMMON OPTIONS has no entry for '-$letter, --$name' (dog $sub -h: $line)"
      [ "$letter" = h ] || has "$body" "-$letter" ||
        fail "dog.8 section '$sub' does not show its option -$letter"
    else
      name=$(long_name "$sub" "$letter" "${BASH_REMATCH[2]}" "$usage")
      has "$body_entries" "-$letter, --$name" ||
        fail "dog.8 section '$sub' has no entry for '-$letter, --$name' (dog $sub -h: $line)"
    fi
    mine["-$letter, --$name"]=1
    nr_opts=$((nr_opts + 1))
  done < <(sed -n '/^Options:/,$p' <<<"$usage")
  # No entry for an option this subcommand lacks.
  while IFS= read -r line; do
    [[ $line =~ ^(-.,\ --[A-Za-z0-9_-]+) ]] || continue
    [ -n "${mine[${BASH_REMATCH[1]}]:-}" ] ||
      fail "dog.8 section '$sub' documents '${BASH_REMATCH[1]}', which dog $sub -h does not list"
  done <<<"$body_entries"
  unset mine
done <<<"$subs"
# No section for a subcommand dog lacks.
while IFS= read -r title; do
  [ -n "${dog_sections[$title]:-}" ] || fail "dog.8 has a section '$title', which dog does not list"
done < <(grep '^\.SS ' <<<"$dog_text" | sed -e 's/^\.SS //' -e 's/"//g')
[ "$nr_nested" -ge 20 ] || fail "only $nr_nested nested subcommands seen"
pass "dog.8: $(wc -l <<<"$subs") subcommands, $nr_nested nested ones, $nr_opts options"

# ---- nbdkit-sheepdog-plugin(1) ----------------------------------------------

check_page nbdkit-sheepdog-plugin 1
params=$(section PARAMETERS <<<"$text")
[ -n "$params" ] || fail "nbdkit-sheepdog-plugin.1 has no PARAMETERS section"
param_entries=$(entries <<<"$params")
plugin_help=$(LD_PRELOAD="$(nbdkit_preload)" nbdkit "$PLUGIN" --help 2>&1) || fail "nbdkit sheepdog --help failed"
# The plugin's part: after "plugin: sheepdog"; a key starts a line, as
# KEY=... or [KEY=]...
keys=$(sed -n '/^plugin: sheepdog/,$p' <<<"$plugin_help" | sed -nE 's/^\[?([a-z][a-z0-9-]*)=.*/\1/p' | sort -u)
[ "$(wc -l <<<"$keys")" -ge 10 ] || fail "nbdkit sheepdog --help lists only these keys: $keys"
for key in $keys; do
  grep -Eq "^$key=" <<<"$param_entries" || fail "nbdkit-sheepdog-plugin.1 PARAMETERS has no entry for '$key='"
done
while IFS= read -r line; do
  [[ $line =~ ^([a-z][a-z0-9-]*)= ]] || continue
  grep -qx "${BASH_REMATCH[1]}" <<<"$keys" ||
    fail "nbdkit-sheepdog-plugin.1 documents '${BASH_REMATCH[1]}=', which the plugin's --help does not list"
done <<<"$param_entries"
pass "nbdkit-sheepdog-plugin.1: $(wc -l <<<"$keys") keys"
