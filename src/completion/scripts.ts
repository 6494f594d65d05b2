/**
 * The completion scripts `nixlab completion bash|zsh|fish` prints. Each asks
 * `nixlab __complete -- WORDS…` for the candidates of the word being typed (one per line,
 * `value<TAB>description`) and hands `__files__` / `__dirs__` to the shell's own file
 * completion. Errors of nixlab are never shown while completing.
 */

/** The shells there is a script for. */
export const completionShells = ["bash", "zsh", "fish"] as const;
export type CompletionShell = (typeof completionShells)[number];

const bash = `# bash completion for nixlab (needs bash-completion for the best word splitting).
# This shell:   source <(nixlab completion bash)
# Every shell:  nixlab completion bash > ~/.local/share/bash-completion/completions/nixlab
_nixlab() {
  local cur words cword out
  if declare -F _get_comp_words_by_ref >/dev/null; then
    _get_comp_words_by_ref -n =: cur words cword
  else
    cur="\${COMP_WORDS[COMP_CWORD]}"
    words=("\${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
  out=$(command nixlab __complete -- "\${words[@]:1:cword}" 2>/dev/null) || return 0
  case "$out" in
    __files__) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
    __dirs__) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
  esac
  mapfile -t COMPREPLY < <(printf '%s\\n' "$out" | cut -f1 | grep -v '^$')
  if declare -F __ltrim_colon_completions >/dev/null; then __ltrim_colon_completions "$cur"; fi
}
complete -F _nixlab nixlab
`;

const zsh = `#compdef nixlab
# zsh completion for nixlab.
# This shell:   source <(nixlab completion zsh)      (after compinit)
# Every shell:  nixlab completion zsh > "\${fpath[1]}/_nixlab"
_nixlab() {
  local out line value desc
  local -a lines described
  out=$(command nixlab __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  case $lines[1] in
    __files__) _files; return ;;
    __dirs__) _files -/; return ;;
  esac
  for line in $lines; do
    [[ -z $line ]] && continue
    value=\${line%%$'\\t'*}
    desc=""
    [[ $line == *$'\\t'* ]] && desc=\${line#*$'\\t'}
    described+=("\${value//:/\\\\:}\${desc:+:$desc}")
  done
  _describe -t values nixlab described
}
if [[ "$funcstack[1]" == "_nixlab" ]]; then _nixlab "$@"; else compdef _nixlab nixlab; fi
`;

const fish = `# fish completion for nixlab.
# This shell:   nixlab completion fish | source
# Every shell:  nixlab completion fish > ~/.config/fish/completions/nixlab.fish
function __nixlab_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -e tokens[1]
    set -l out (command nixlab __complete -- $tokens 2>/dev/null)
    switch "$out[1]"
        case __files__
            __fish_complete_path (commandline -ct)
        case __dirs__
            __fish_complete_directories (commandline -ct)
        case '*'
            printf '%s\\n' $out
    end
end
complete -c nixlab -f -a '(__nixlab_complete)'
`;

/** The completion script for `shell`. */
export function completionScript(shell: CompletionShell): string {
  return { bash, zsh, fish }[shell];
}
