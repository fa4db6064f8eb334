# SPDX-License-Identifier: GPL-2.0-or-later
# Completes LINE in a real interactive zsh (in a pseudo-terminal, as a user presses TAB) with the
# completion functions of FPATHDIR, and prints each candidate zsh would offer, one a line.
#   zsh -f zsh-complete.zsh FPATHDIR LINE
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; RPS1=''; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
# Every compadd that adds candidates prints what matched first (-O: the matches, not added); the
# marks are written split in two, so the terminal's echo of these lines never holds them whole.
zpty -w z 'compadd() { if [[ " $* " == *" -"[OAD]" "* ]]; then builtin compadd "$@"; return; fi; local -a m; builtin compadd -O m "$@"; local c; for c in $m; do print -r -- "MA""TCH[$c]"; done; builtin compadd "$@"; }'
zpty -w z 'comppostfuncs=(_complete_end); _complete_end() { print -r -- "DO""NE"; }'
zpty -w z "bindkey '^I' complete-word"
zpty -n -w z "$2"$'\t'
local line
# Until compinit's completion has ended (its comppostfuncs), candidates as the wrapper printed them.
while zpty -r z line; do
  [[ $line == *DONE* ]] && break
  [[ $line == *'MATCH['*']'* ]] && print -r -- "${${line#*MATCH\[}%\]*}"
done
zpty -d z
