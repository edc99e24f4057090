# bash completion for pivot: commands, options and their values, and the
# tracepoint names of the running agents inside a query's text (from
# `pivot tracepoints --format json`). Installed as
# share/bash-completion/completions/pivot; or `source` this file.

_pivot_tracepoints() {
  # The agents the command line names (--runtime-dir, --transport) are asked.
  "$@" tracepoints --format json 2>/dev/null |
    grep -o '"name":"[^"]*","processes"' | sed -e 's/^"name":"//' -e 's/","processes"$//'
}

_pivot() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local commands="ps tracepoints functions explain query serve queries stop"
  local global="--runtime-dir --transport --server --token-file --help --version"
  local -a pivot=("${COMP_WORDS[0]}")
  local cmd="" i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
      --runtime-dir | --transport)
        pivot+=("$word" "${COMP_WORDS[i + 1]}")
        ((i++)) ;;
      --server | --token-file | --format | --interval | --duration | --lease | --show | --max-groups | \
        --detach | --limit | --listen | --state | --window | --window-intervals | --window-bytes | \
        --max-queries | --max-streams | --otlp)
        ((i++)) ;;
      -*) ;;
      *) [[ -z $cmd ]] && cmd=$word ;;
    esac
  done

  case $prev in
    --runtime-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --token-file | --state) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --format)
      case $cmd in
        query) COMPREPLY=($(compgen -W "table json csv" -- "$cur")) ;;
        functions) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "table json" -- "$cur")) ;;
      esac
      return ;;
    --interval | --duration | --lease | --window)
      COMPREPLY=($(compgen -W "100ms 500ms 1s 10s 1m 1h" -- "$cur")); return ;;
    --server | --transport | --show | --max-groups | --detach | --limit | --listen | --window-intervals | \
      --window-bytes | --max-queries | --max-streams | --otlp)
      return ;;
  esac

  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$global" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return
  fi
  if [[ $cur == -* ]]; then
    # The command's own options (from its --help), and the global ones.
    local own
    own=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
    COMPREPLY=($(compgen -W "$own $global" -- "$cur"))
    return
  fi
  case $cmd in
    query | explain)
      # Inside the query text: complete its last word to a tracepoint name,
      # keeping the text before it.
      local last=${cur##*[[:space:](,]} names name
      local before=${cur:0:${#cur}-${#last}}
      names=$(_pivot_tracepoints "${pivot[@]}")
      COMPREPLY=()
      for name in $names; do
        [[ $name == "$last"* ]] && COMPREPLY+=("$before$name")
      done
      compopt -o nospace 2>/dev/null ;;
  esac
}
complete -F _pivot pivot
