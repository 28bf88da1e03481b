# bash completion for dog, the Sheepdog administrator CLI.
#
# Owns: completing dog's command line in bash. Commands, subcommands,
# nested subcommands and each subcommand's options are read at completion
# time from dog's own help (`dog -h` and `dog CMD SUB -h`, whose layout
# docs/CLI.md describes), cached per shell session and per dog binary, so
# the completion follows dog when dog changes. VDI names, snapshot tags
# and node ids are asked live, with a 2-second deadline, from the sheep
# that -a/--address and -p/--port on the line name (`dog vdi list -r`:
# raw mode puts a backslash before white space and backslashes in names,
# docs/CLI.md "vdi list"). Anyone who can create a VDI picks its name and
# its snapshots' tags, so every word taken from dog goes on the command
# line quoted for the quote the user left open (or none), never through
# compgen -W or eval: the shell reads it back as that word and runs or
# globs nothing in it. Uses the bash-completion package when it is
# loaded (_init_completion, _filedir, _known_hosts_real) and plain bash
# builtins when it is not.
#
# Installed as `dog` in `pkg-config --variable=completionsdir bash-completion`.

# Help texts by "binary args...": filled on first use, kept for the session.
declare -gA _dog_help_cache=()

# What dog's help does not show (docs/CLI.md §2.3), by command chain:
# the argument kinds where the usage line misleads (a new VDI's name, an
# argument a shared usage line leaves out) ...
declare -gA _dog_arg_kinds_override=(
  ["vdi create"]="none none"
  ["vdi lock unlock"]="vdi"
  ["vdi object dump-inode"]="file"
  ["cluster snapshot list"]="dir"
  ["node log level set"]="loglevel"
)
# ... and a third level of nesting, which no help page lists.
declare -gA _dog_deeper_nested=(
  ["node log level"]="set get list"
)

# _dog_compgen COMPGEN-ARGS...: adds compgen's words to COMPREPLY.
_dog_compgen() {
  local -a found
  mapfile -t found < <(compgen "$@")
  COMPREPLY+=("${found[@]}")
}

# _dog_run BIN ARGS...: runs dog with stdin closed, for at most 2 seconds.
_dog_run() {
  if type -P timeout >/dev/null; then
    timeout 2 "$@" </dev/null
  else
    "$@" </dev/null
  fi
}

# _dog_help BIN ARGS...: sets _dog_text to `BIN ARGS... -h` (stdout and
# stderr: `dog CMD -h` lists the subcommands on stderr).
_dog_help() {
  local key="$*"
  if [[ -z ${_dog_help_cache[$key]-} ]]; then
    _dog_help_cache[$key]=$(_dog_run "$@" -h 2>&1)
  fi
  _dog_text=${_dog_help_cache[$key]}
}

# _dog_parse_commands TEXT [CMD]: from the "Available commands:" lines of
# `dog -h` ("  CMD SUB   description"), sets _dog_list to the commands,
# or, given CMD, to CMD's subcommands.
_dog_parse_commands() {
  local text=$1 want=${2-} line item in_list=0
  local -A seen=()
  _dog_list=()
  while IFS= read -r line; do
    if [[ $line == "Available commands:"* ]]; then
      in_list=1
      continue
    fi
    ((in_list)) || continue
    [[ -z $line ]] && break
    [[ $line =~ ^\ \ ([^ ]+)\ ([^ ]+) ]] || continue
    if [[ -z $want ]]; then
      item=${BASH_REMATCH[1]}
    elif [[ ${BASH_REMATCH[1]} == "$want" ]]; then
      item=${BASH_REMATCH[2]}
    else
      continue
    fi
    [[ -n ${seen[$item]-} ]] && continue
    seen[$item]=1
    _dog_list+=("$item")
  done <<<"$text"
}

# _dog_arg_kind PLACEHOLDER: what an argument of the usage line names
# (vdi, dir, node or none), in _dog_word.
_dog_arg_kind() {
  local p=${1,,}
  case $p in
    *dst* | *new*) _dog_word=none ;;
    *vdi*) _dog_word=vdi ;;
    *path* | *disk* | *dir*) _dog_word=dir ;;
    *"node id"*) _dog_word=node ;;
    *) _dog_word=none ;;
  esac
}

# _dog_parse_sub TEXT: reads `dog CMD SUB -h` into
#   _dog_nested    the nested subcommands ("Available subcommands:")
#   _dog_opts      every option as -X and --long
#   _dog_arg_opts  " X long ... ": the options that take a value
#   _dog_kinds     the kinds of the positional arguments, in order;
#                  _dog_kinds_repeat=1 when the last one repeats ("...")
_dog_parse_sub() {
  local text=$1 line usage="" section="" token long
  local -A value_name=()
  local -a letters=() tokens=()
  local re_named='^  ([^ ]+)' re_option='^  -([^ ,]), --([^ ]+)'
  local re_valued='\[-([^] ]+) ([^]]+)\]' re_group='\[-[^]]*\]' re_nested='\{[^}]*\}'
  local re_arg='(<[^>]*>|\[[^][<>]*\]|\.\.\.)'
  _dog_nested=() _dog_opts=() _dog_arg_opts=" " _dog_kinds=() _dog_kinds_repeat=0
  while IFS= read -r line; do
    case $line in
      "Usage: dog "*) usage=${line#Usage: dog } ;;
      "Available subcommands:"*) section=nested ;;
      "Options:"*) section=options ;;
      *)
        if [[ $section == nested && $line =~ $re_named ]]; then
          _dog_nested+=("${BASH_REMATCH[1]}")
        elif [[ $section == options && $line =~ $re_option ]]; then
          _dog_opts+=("-${BASH_REMATCH[1]}")
          letters+=("${BASH_REMATCH[1]}")
          tokens+=("${BASH_REMATCH[2]}")
        fi
        ;;
    esac
  done <<<"$text"
  [[ -n $usage ]] || return 0

  # "[-X value]" in the usage: X takes a value, named by its long name
  # (a long name that fills its column runs into the description on the
  # options line, so the usage line is the one to believe).
  local rest=$usage
  while [[ $rest =~ $re_valued ]]; do
    value_name[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    rest=${rest/"${BASH_REMATCH[0]}"/}
  done
  local i letter
  for i in "${!letters[@]}"; do
    letter=${letters[i]}
    long=${tokens[i]}
    if [[ -n ${value_name[$letter]-} ]]; then
      [[ $long == "${value_name[$letter]}"* ]] && long=${value_name[$letter]}
      _dog_arg_opts+="$letter $long "
    fi
    _dog_opts+=("--$long")
  done

  # The positional arguments: what is left once "CMD SUB", the nested
  # subcommands and the option groups are gone.
  rest=${rest#* }
  rest=${rest#* }
  while [[ $rest =~ $re_group ]]; do rest=${rest/"${BASH_REMATCH[0]}"/}; done
  if [[ $rest =~ $re_nested ]]; then
    rest=${rest/"${BASH_REMATCH[0]}"/}
  elif ((${#_dog_nested[@]} == 1)) && [[ $rest == "${_dog_nested[0]}"* ]]; then
    rest=${rest#"${_dog_nested[0]}"}
  fi
  while [[ $rest =~ $re_arg ]]; do
    token=${BASH_REMATCH[1]}
    rest=${rest#*"$token"}
    if [[ $token == ... ]]; then
      _dog_kinds_repeat=1
      break
    fi
    _dog_arg_kind "$token"
    _dog_kinds+=("$_dog_word")
  done
}

# _dog_dequote TEXT: TEXT as the shell reads it, quotes and backslashes
# removed, in _dog_word. _dog_literal=0 when the shell would make
# something else of TEXT ($, `, !, globs, ~ ... outside single quotes).
_dog_dequote() {
  local s=$1 out="" c quote="" i
  _dog_literal=1
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ $quote == "'" ]]; then
      if [[ $c == "'" ]]; then quote=""; else out+=$c; fi
    elif [[ $quote == '"' ]]; then
      if [[ $c == '"' ]]; then
        quote=""
      elif [[ $c == "\\" && ${s:i+1:1} == [\$\`\"\\] ]]; then
        ((i++))
        out+=${s:i:1}
      else
        [[ $c == [\$\`!] ]] && _dog_literal=0
        out+=$c
      fi
    elif [[ $c == "'" || $c == '"' ]]; then
      quote=$c
    elif [[ $c == "\\" ]]; then
      ((i++))
      out+=${s:i:1}
    else
      [[ $c == [[:alnum:]_./:=@%+,-] ]] || _dog_literal=0
      out+=$c
    fi
  done
  _dog_word=$out
}

# _dog_replaced_part WORD: splits WORD (the word at the cursor, as typed)
# where readline starts the text that a reply replaces: after a quote
# left open, else after the last COMP_WORDBREAKS character that is
# neither quoted nor escaped. What readline keeps goes to _dog_keep, the
# quote left open (' or ", or nothing) to _dog_open; readline closes it
# after a single match.
_dog_replaced_part() {
  local s=$1 c i quote="" opened=0 broke=0
  local breaks=${COMP_WORDBREAKS-$' \t\n"\'><=;|&(:'}
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ $c == "\\" && $quote != "'" ]]; then
      ((i++))
    elif [[ -n $quote ]]; then
      [[ $c == "$quote" ]] && quote=""
    elif [[ $c == [\'\"] ]]; then
      quote=$c
      opened=$((i + 1))
    elif [[ $breaks == *"$c"* ]]; then
      broke=$((i + 1))
    fi
  done
  _dog_open=$quote
  if [[ -n $quote ]]; then _dog_keep=${s:0:opened}; else _dog_keep=${s:0:broke}; fi
}

# _dog_quote_for QUOTE TEXT: TEXT written to follow an open QUOTE (' or
# ", or none), so that the shell reads it back as TEXT and expands
# nothing in it, in _dog_word. Inside '...' a ' becomes '\''; inside
# "..." a backslash goes before $ ` " \, and ! steps out of the quotes
# as "\!" (there a backslash would stop history expansion but stay in
# the word); outside quotes, printf %q.
_dog_quote_for() {
  local text=$2
  case $1 in
    "'") _dog_word=${text//"'"/"'\\''"} ;;
    '"')
      text=${text//\\/\\\\}
      text=${text//'$'/'\$'}
      text=${text//'`'/'\`'}
      text=${text//'"'/'\"'}
      _dog_word=${text//'!'/'"\!"'}
      ;;
    *)
      _dog_word=""
      [[ -z $text ]] || printf -v _dog_word %q "$text"
      ;;
  esac
}

# _dog_reply_words CUR WORDS...: the WORDS that start with what CUR (the
# word at the cursor, as typed) says, each as the text that replaces what
# readline replaces of CUR, quoted for the quote CUR leaves open: the
# shell reads the completed word back as the word itself and runs or
# globs nothing in it (whoever can create a VDI names it and its
# snapshots). Nothing when what readline keeps of CUR is not literal.
_dog_reply_words() {
  local typed=$1 word kept want
  shift
  _dog_replaced_part "$typed"
  _dog_dequote "$_dog_keep"
  ((_dog_literal)) || return 0
  kept=$_dog_word
  _dog_dequote "$typed"
  want=$_dog_word
  for word; do
    [[ $word == "$want"* ]] || continue
    _dog_quote_for "$_dog_open" "${word:${#kept}}"
    COMPREPLY+=("$_dog_word")
  done
}

# _dog_vdi_rows BIN [NAME]: the rows of `vdi list -r [NAME]` from the
# sheep of _dog_where: their type, name, snapshot id and tag in
# _dog_row_type, _dog_row_name, _dog_row_snap and _dog_row_tag. Raw mode
# escapes white space and backslashes in the name only (docs/CLI.md
# "vdi list"): the tag, blanks and all, lies between the copies and the
# last field, and is empty for a VDI without one.
_dog_vdi_rows() {
  local bin=$1 line name
  local re='^(.) ((\\.|[^\\ ])+) ([0-9]+) [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ [^ ]+ (.*) [0-9]+$'
  _dog_row_type=() _dog_row_name=() _dog_row_snap=() _dog_row_tag=()
  while IFS= read -r line; do
    [[ $line =~ $re ]] || continue
    # read without -r drops the escaping backslashes.
    # shellcheck disable=SC2162  # the unescaping is wanted
    IFS= read name <<<"${BASH_REMATCH[2]}"
    _dog_row_type+=("${BASH_REMATCH[1]}")
    _dog_row_name+=("$name")
    _dog_row_snap+=("${BASH_REMATCH[4]}")
    _dog_row_tag+=("${BASH_REMATCH[5]}")
  done < <(_dog_run "$bin" vdi list -r "${_dog_where[@]}" ${2+-- "$2"} 2>/dev/null)
}

# _dog_complete_vdis BIN CUR: VDI names, each once.
_dog_complete_vdis() {
  local name
  local -A seen=()
  local -a names=()
  _dog_vdi_rows "$1"
  for name in "${_dog_row_name[@]}"; do
    [[ -n ${seen[$name]-} ]] && continue
    seen[$name]=1
    names+=("$name")
  done
  _dog_reply_words "$2" "${names[@]}"
}

# _dog_complete_snapshots BIN CUR VDI: the snapshot ids and tags of VDI.
_dog_complete_snapshots() {
  local i
  local -a snaps=()
  _dog_vdi_rows "$1" "$3"
  for i in "${!_dog_row_name[@]}"; do
    [[ ${_dog_row_type[i]} == s && ${_dog_row_name[i]} == "$3" ]] || continue
    snaps+=("${_dog_row_snap[i]}")
    [[ -n ${_dog_row_tag[i]} ]] && snaps+=("${_dog_row_tag[i]}")
  done
  _dog_reply_words "$2" "${snaps[@]}"
}

# _dog_complete_nodes BIN CUR: the node ids of `node list -r`.
_dog_complete_nodes() {
  local id rest
  local -a ids=()
  while read -r id rest; do
    [[ $id =~ ^[0-9]+$ ]] && ids+=("$id")
  done < <(_dog_run "$1" node list -r "${_dog_where[@]}" 2>/dev/null)
  _dog_reply_words "$2" "${ids[@]}"
}

# _dog_complete_kind BIN CUR KIND: an argument of KIND.
_dog_complete_kind() {
  local bin=$1 cur=$2
  case $3 in
    vdi) _dog_complete_vdis "$bin" "$cur" ;;
    node) _dog_complete_nodes "$bin" "$cur" ;;
    dir | file)
      if declare -F _filedir >/dev/null; then
        if [[ $3 == dir ]]; then _filedir -d; else _filedir; fi
      else
        compopt -o filenames 2>/dev/null
        if [[ $3 == dir ]]; then
          _dog_compgen -d -- "$cur"
        else
          _dog_compgen -f -- "$cur"
        fi
      fi
      _dog_trim_breaks "$cur"
      ;;
    loglevel)
      # `node log level list` prints "name\t(number)" lines, without a sheep.
      local key="$bin node log level list" level rest
      local -a levels=()
      [[ -n ${_dog_help_cache[$key]-} ]] ||
        _dog_help_cache[$key]=$(_dog_run "$bin" node log level list 2>&1)
      while read -r level rest; do
        [[ $rest == "("* ]] && levels+=("$level")
      done <<<"${_dog_help_cache[$key]}"
      _dog_reply_words "$cur" "${levels[@]}"
      ;;
  esac
}

# _dog_complete_hosts CUR
_dog_complete_hosts() {
  if declare -F _known_hosts_real >/dev/null; then
    _known_hosts_real -- "$1"
  else
    _dog_compgen -A hostname -- "$1"
  fi
  _dog_trim_breaks "$1"
}

# Without bash-completion: words and cword from COMP_WORDS, with the
# pieces readline split at ':' or '=' (no blank between them on the line)
# joined again, and cur/prev split at "--option=" as _init_completion -s
# does.
_dog_init_words() {
  local i word gap pos=0 rest blanks
  words=()
  cword=0
  for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
    word=${COMP_WORDS[i]}
    rest=${COMP_LINE:pos}
    blanks=${rest%%[![:space:]]*}
    gap=${#blanks}
    pos=$((pos + gap + ${#word}))
    if ((i > 0 && gap == 0 && ${#words[@]} > 0)); then
      words[${#words[@]} - 1]+=$word
    else
      words+=("$word")
    fi
    ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
  done
  cur=${words[cword]-}
  prev=${words[cword - 1]-}
  if [[ $cur == --*=* ]]; then
    prev=${cur%%=*}
    cur=${cur#*=}
    split=true
  fi
}

# _dog_trim_breaks WORD: readline replaces only what follows the last ':'
# of the word (a break character), so that much comes off each reply of
# the file and host completions (bash and bash-completion quote those;
# _dog_reply_words sees to the words of dog's own).
_dog_trim_breaks() {
  [[ $1 == *:* && $COMP_WORDBREAKS == *:* ]] || return 0
  local lead=${1%"${1##*:}"} i
  for i in "${!COMPREPLY[@]}"; do
    COMPREPLY[i]=${COMPREPLY[i]#"$lead"}
  done
}

_dog() {
  local cur prev words cword split=false
  local IFS=$' \t\n'
  COMPREPLY=()
  if declare -F _init_completion >/dev/null; then
    _init_completion -s -n : || return
  else
    _dog_init_words
  fi

  local bin=${words[0]}
  bin=${bin/#\~/$HOME}
  bin=$(type -P -- "$bin") || return 0
  [[ -n $bin ]] || return 0
  local _dog_text _dog_word _dog_arg_opts _dog_kinds_repeat _dog_literal _dog_keep _dog_open
  local -a _dog_list _dog_nested _dog_opts _dog_kinds _dog_where=()
  local -a _dog_row_type _dog_row_name _dog_row_snap _dog_row_tag

  if ((cword <= 2)); then
    _dog_help "$bin"
  fi
  if ((cword == 1)); then
    if [[ $cur == -* ]]; then
      _dog_reply_words "$cur" -h --help
    else
      _dog_parse_commands "$_dog_text"
      _dog_reply_words "$cur" "${_dog_list[@]}"
    fi
    return 0
  fi
  if ((cword == 2)); then
    _dog_parse_commands "$_dog_text" "${words[1]}"
    _dog_reply_words "$cur" "${_dog_list[@]}"
    return 0
  fi

  _dog_help "$bin" "${words[1]}" "${words[2]}"
  _dog_parse_sub "$_dog_text"

  # Walk the words before the cursor: positional arguments, options, the
  # values of -a/-p (for the queries below), and whether the word at the
  # cursor is an option's value.
  local i word name value letter j value_of="" addr="" port="" after_dashdash=0
  local -a positional=()
  for ((i = 3; i < cword; i++)); do
    word=${words[i]}
    name="" value=""
    if ((after_dashdash)) || [[ $word != -?* ]]; then
      positional+=("$word")
      continue
    elif [[ $word == -- ]]; then
      after_dashdash=1
      continue
    elif [[ $word == --* ]]; then
      name=${word#--}
      if [[ $name == *=* ]]; then
        value=${name#*=}
        name=${name%%=*}
      elif [[ $name == auth-key || $_dog_arg_opts == *" $name "* ]]; then
        if ((i + 1 < cword)); then value=${words[++i]}; else value_of=$name; fi
      fi
    else
      for ((j = 1; j < ${#word}; j++)); do
        letter=${word:j:1}
        [[ $_dog_arg_opts == *" $letter "* ]] || continue
        name=$letter
        value=${word:j+1}
        if [[ -z $value ]]; then
          if ((i + 1 < cword)); then value=${words[++i]}; else value_of=$name; fi
        fi
        break
      done
    fi
    _dog_dequote "$value"
    case $name in
      a | address) addr=$_dog_word ;;
      p | port) port=$_dog_word ;;
    esac
  done
  # Options the line names after the cursor count too.
  for ((i = cword + 1; i < ${#words[@]}; i++)); do
    case ${words[i]} in
      -a | --address) _dog_dequote "${words[i + 1]-}" && addr=$_dog_word ;;
      -p | --port) _dog_dequote "${words[i + 1]-}" && port=$_dog_word ;;
      --address=* | --port=*)
        _dog_dequote "${words[i]#*=}"
        [[ ${words[i]} == --a* ]] && addr=$_dog_word || port=$_dog_word
        ;;
    esac
  done
  [[ -n $addr ]] && _dog_where+=(-a "$addr")
  [[ -n $port ]] && _dog_where+=(-p "$port")
  if [[ $split == true ]]; then
    value_of=${prev#--}
  fi

  # The command chain: CMD SUB, then nested subcommands as typed.
  local chain="${words[1]} ${words[2]}"
  local -a args=("${positional[@]}")
  local -a level=("${_dog_nested[@]}")
  while ((${#level[@]})); do
    if ((${#args[@]} == 0)); then
      if [[ -z $value_of && $cur != -* ]]; then
        _dog_reply_words "$cur" "${level[@]}"
        return 0
      fi
      break
    fi
    [[ " ${level[*]} " == *" ${args[0]} "* ]] || break
    chain+=" ${args[0]}"
    args=("${args[@]:1}")
    read -r -a level <<<"${_dog_deeper_nested[$chain]-}"
  done

  if [[ -n $value_of ]]; then
    case $value_of in
      a | address) _dog_complete_hosts "$cur" ;;
      s | snapshot)
        # (`vdi snapshot -s` names a new tag: nothing to offer.)
        if [[ -n ${args[0]-} && $chain != "vdi snapshot" ]]; then
          _dog_dequote "${args[0]}"
          _dog_complete_snapshots "$bin" "$cur" "$_dog_word"
        fi
        ;;
      auth-key) _dog_complete_kind "$bin" "$cur" file ;;
    esac
  elif [[ $cur == -* ]] && ((!after_dashdash)); then
    _dog_reply_words "$cur" "${_dog_opts[@]}" --auth-key
  else
    local -a kinds=("${_dog_kinds[@]}")
    [[ -n ${_dog_arg_kinds_override[$chain]+set} ]] &&
      read -r -a kinds <<<"${_dog_arg_kinds_override[$chain]}"
    local index=${#args[@]} kind=none
    if ((index < ${#kinds[@]})); then
      kind=${kinds[index]}
    elif ((_dog_kinds_repeat && ${#kinds[@]})); then
      kind=${kinds[${#kinds[@]} - 1]}
    fi
    _dog_complete_kind "$bin" "$cur" "$kind"
  fi
  return 0
}

complete -F _dog dog
