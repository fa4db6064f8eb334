// SPDX-License-Identifier: GPL-2.0-or-later
// Shell completion for shared-interface, generated from the command table at build time (so a new
// command or option completes without anyone editing a script). Interface names come from the
// service itself: `shared-interface list -o interface --no-legend`.
import type { CliCommand, CliOption } from './command';
import { PROGRAM } from './cli-help';

function words(options: Readonly<Record<string, CliOption>>): string[] {
  return Object.entries(options).flatMap(([name, o]) => [...(o.short === undefined ? [] : [`-${o.short}`]), o.type === 'string' ? `--${name}=` : `--${name}`]);
}

/** The shell words after which `option`'s value is completed, and how. */
function valueCases(options: Readonly<Record<string, CliOption>>): string[] {
  const cases: string[] = [];
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    const pattern = [`--${name}`, ...(o.short === undefined ? [] : [`-${o.short}`])].join('|');
    const action = o.complete === 'interfaces' ? '_shared_interface_names'
      : Array.isArray(o.complete) ? `_shared_interface_list '${o.complete.join(' ')}'`
        : ':';
    cases.push(`        ${pattern}) ${action}; return ;;`);
  }
  return cases;
}

function valueOptionPattern(commands: readonly CliCommand[], globals: Readonly<Record<string, CliOption>>): string {
  const all = [globals, ...commands.map((c) => c.options)].flatMap((opts) => Object.entries(opts))
    .filter(([, o]) => o.type === 'string')
    .flatMap(([name, o]) => [`--${name}`, ...(o.short === undefined ? [] : [`-${o.short}`])]);
  return [...new Set(all)].join('|') || '--no-such-option';
}

export function bashCompletion(commands: readonly CliCommand[], globals: Readonly<Record<string, CliOption>>): string {
  const perCommand = commands.map((c) => {
    const positional = c.positionals[0]?.complete === 'interfaces' ? '_shared_interface_names' : ':';
    return [
      `    ${c.name})`,
      '      case $opt in',
      ...valueCases({ ...globals, ...c.options }),
      '      esac',
      `      if [[ $cur == -* ]]; then _shared_interface_words '${[...words(globals), ...words(c.options)].join(' ')}'; else ${positional}; fi`,
      '      ;;',
    ].join('\n');
  });
  return `# bash completion for ${PROGRAM}(1); generated from its command table (src/cli/completion.ts).
_shared_interface_words() {
  local IFS=$' \\t\\n'
  COMPREPLY=($(compgen -W "$1" -- "$cur"))
  # An option that takes a value completes as "--name=", without a space after it.
  [[ \${#COMPREPLY[@]} == 1 && \${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
  return 0
}
# A comma-separated list (e.g. --fields=interface,type): complete the part after the last comma.
_shared_interface_list() {
  local IFS=$' \\t\\n' prefix=
  [[ $cur == *,* ]] && prefix=\${cur%,*},
  COMPREPLY=($(compgen -P "$prefix" -W "$1" -- "\${cur##*,}"))
  compopt -o nospace 2>/dev/null
  return 0
}
# Interface names, asked of the service (listing needs no authorization).
_shared_interface_names() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(${PROGRAM} list -o interface --no-legend 2>/dev/null)" -- "$cur"))
  return 0
}
_shared_interface() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} opt= cmd= i
  # "--bridge=br<TAB>": bash splits at "=", so the option is two words back.
  if [[ $cur == = ]]; then opt=$prev; cur=
  elif [[ $prev == = ]]; then opt=\${COMP_WORDS[COMP_CWORD-2]}
  else opt=$prev
  fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -*|=) ;;
      *) case \${COMP_WORDS[i-1]} in
           ${valueOptionPattern(commands, globals)}) ;;
           =) ;;
           *) cmd=\${COMP_WORDS[i]}; break ;;
         esac ;;
    esac
  done
  case $cmd in
    '')
      case $opt in
${valueCases(globals).join('\n')}
      esac
      if [[ $cur == -* ]]; then _shared_interface_words '${words(globals).join(' ')}'; else _shared_interface_words '${commands.map((c) => c.name).join(' ')}'; fi
      ;;
${perCommand.join('\n')}
  esac
  return 0
}
complete -F _shared_interface ${PROGRAM}
`;
}
