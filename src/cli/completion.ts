// SPDX-License-Identifier: GPL-2.0-or-later
// Shell completion for shared-interface, bash's and zsh's, generated from the command table at
// build time (so a new command or option completes without anyone editing a script). Both
// scripts say what each word takes through the same table (completionPlan): option values,
// fields, files, and interface names asked of the service itself (`shared-interface list -g
// interface`). With -H HOST the names come from that host, through an SSH session that may not
// ask anything (no terminal, no askpass: keys or an agent only); otherwise none are offered.
import type { CliCommand, CliOption, FieldNames } from './command';
import { PROGRAM } from './cli-help';

/** What completes a value or an argument. */
type Completer =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'words'; readonly words: readonly string[]; readonly commaList: boolean }
  | { readonly kind: 'interfaces' | 'pending' | 'files' };

const NOTHING: Completer = { kind: 'nothing' };

function fieldWords(fields: FieldNames | undefined): Completer {
  return fields === undefined ? NOTHING : { kind: 'words', words: [...fields.all, 'all', 'common'], commaList: true };
}

function valueCompleter(option: CliOption, fields: FieldNames | undefined): Completer {
  const c = option.complete;
  if (c === undefined) return NOTHING;
  if (c === 'fields') return fieldWords(fields);
  if (c === 'interfaces' || c === 'files') return { kind: c };
  return { kind: 'words', words: c, commaList: true };
}

interface OptionPlan {
  readonly name: string;
  readonly option: CliOption;
  readonly value: Completer | undefined;
}

function optionPlans(options: Readonly<Record<string, CliOption>>, fields: FieldNames | undefined): OptionPlan[] {
  return Object.entries(options).map(([name, option]) => ({ name, option, value: option.type === 'string' ? valueCompleter(option, fields) : undefined }));
}

/** The one description both scripts are written from. */
function completionPlan(commands: readonly CliCommand[], globals: Readonly<Record<string, CliOption>>) {
  return {
    globals: optionPlans(globals, undefined),
    commands: commands.map((c) => ({
      command: c,
      options: optionPlans({ ...globals, ...c.options }, c.fields),
      positionals: c.positionals.map((p) => ({ name: p.name, value: p.complete === undefined ? NOTHING : { kind: p.complete } })),
    })),
  };
}

function words(plans: readonly OptionPlan[]): string[] {
  return plans.flatMap(({ name, option: o }) => [...(o.short === undefined ? [] : [`-${o.short}`]), o.type === 'string' ? `--${name}=` : `--${name}`]);
}

function bashAction(c: Completer): string {
  switch (c.kind) {
    case 'nothing': return ':';
    case 'words': return `_shared_interface_list '${c.words.join(' ')}'`;
    case 'interfaces': return '_shared_interface_names list';
    case 'pending': return '_shared_interface_names pending';
    case 'files': return '_shared_interface_files';
  }
}

/** The shell words after which an option's value is completed, and how. */
function bashValueCases(plans: readonly OptionPlan[]): string[] {
  return plans.filter((p) => p.value !== undefined).map(({ name, option: o, value }) => {
    const pattern = [`--${name}`, ...(o.short === undefined ? [] : [`-${o.short}`])].join('|');
    return `        ${pattern}) ${bashAction(value ?? NOTHING)}; return ;;`;
  });
}

function valueOptionPattern(plans: readonly OptionPlan[]): string {
  const all = plans.filter((p) => p.value !== undefined).flatMap(({ name, option: o }) => [`--${name}`, ...(o.short === undefined ? [] : [`-${o.short}`])]);
  return [...new Set(all)].join('|') || '--no-such-option';
}

/** The argument of each position, as a bash case on the count of arguments before the cursor. */
function bashPositionals(positionals: ReadonlyArray<{ readonly value: Completer }>): string {
  if (positionals.length === 0) return ':';
  return `case $nargs in ${positionals.map((p, i) => `${i}) ${bashAction(p.value)} ;;`).join(' ')} esac`;
}

export function bashCompletion(commands: readonly CliCommand[], globals: Readonly<Record<string, CliOption>>): string {
  const plan = completionPlan(commands, globals);
  const allOptions = [...plan.globals, ...plan.commands.flatMap((c) => c.options)];
  const perCommand = plan.commands.map((c) => [
    `    ${c.command.name})`,
    '      case $opt in',
    ...bashValueCases(c.options),
    '      esac',
    `      if [[ $cur == -* ]]; then _shared_interface_words '${words(c.options).join(' ')}'; else ${bashPositionals(c.positionals)}; fi`,
    '      ;;',
  ].join('\n'));
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
_shared_interface_files() {
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen -f -- "$cur"))
  return 0
}
# Interface names ($1: list, or pending for those awaiting confirmation), asked of the service
# (reading needs no authorization); with -H, of that host, and only if SSH needs to ask nothing.
_shared_interface_names() {
  local IFS=$'\\n' names
  if [[ -n $host ]]; then
    names=$(SSH_ASKPASS_REQUIRE=never setsid -w timeout 5 ${PROGRAM} -H "$host" "$1" -g interface </dev/null 2>/dev/null)
  else
    names=$(${PROGRAM} "$1" -g interface 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$names" -- "$cur"))
  return 0
}
_shared_interface() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} opt= cmd= host= nargs=0 i word
  # "--bridge=br<TAB>": bash splits at "=", so the option is two words back.
  if [[ $cur == = ]]; then opt=$prev; cur=
  elif [[ $prev == = ]]; then opt=\${COMP_WORDS[COMP_CWORD-2]}
  else opt=$prev
  fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    case $word in
      -H|--host) host=\${COMP_WORDS[i+1]}; [[ $host == = ]] && host=\${COMP_WORDS[i+2]} ;;
      -H?*) host=\${word#-H} ;;
    esac
    case $word in
      -*|=) ;;
      *) case \${COMP_WORDS[i-1]} in
           ${valueOptionPattern(allOptions)}) ;;
           =) ;;
           *) if [[ -z $cmd ]]; then cmd=$word; else ((nargs++)); fi ;;
         esac ;;
    esac
  done
  case $cmd in
    '')
      case $opt in
${bashValueCases(plan.globals).join('\n')}
      esac
      if [[ $cur == -* ]]; then _shared_interface_words '${words(plan.globals).join(' ')}'; else _shared_interface_words '${commands.map((c) => c.name).join(' ')}'; fi
      ;;
${perCommand.join('\n')}
  esac
  return 0
}
complete -F _shared_interface ${PROGRAM}
`;
}

/** Text inside an _arguments description: its first sentence, with what _arguments parses escaped. */
function zshDescription(text: string): string {
  const sentence = (text.split(/(?<=\.)\s/)[0] ?? text).replace(/\.$/, '');
  return sentence.replace(/[\\[\]:]/g, '\\$&').replace(/'/g, `'\\''`);
}

function zshAction(c: Completer): string {
  switch (c.kind) {
    case 'nothing': return ' ';
    case 'words': return c.commaList ? `_values -s , field ${c.words.join(' ')}` : `(${c.words.join(' ')})`;
    case 'interfaces': return '_shared_interface_names';
    case 'pending': return '_shared_interface_pending';
    case 'files': return '_files';
  }
}

/** _arguments specs of options: short and long exclude each other; a value after "=" or in the next word. */
function zshOptionSpecs(plans: readonly OptionPlan[]): string[] {
  return plans.map(({ name, option: o, value }) => {
    const description = `[${zshDescription(o.help)}]`;
    const message = (o.valueName ?? 'value').toLowerCase().replace(/[^a-z0-9,.@\][ -]/g, '');
    const argument = value === undefined ? '' : `:${message.replace(/[\\[\]:]/g, '\\$&')}:${zshAction(value)}`;
    const long = o.type === 'string' ? (o.optionalValue === true ? `--${name}=-` : `--${name}=`) : `--${name}`;
    if (o.short === undefined) return `'${long}${description}${argument}'`;
    const short = o.type === 'string' ? `-${o.short}+` : `-${o.short}`;
    return `'(-${o.short} --${name})'{${short},${long}}'${description}${argument}'`;
  });
}

export function zshCompletion(commands: readonly CliCommand[], globals: Readonly<Record<string, CliOption>>): string {
  const plan = completionPlan(commands, globals);
  const perCommand = plan.commands.map((c) => {
    const positionals = c.positionals.map((p, i) => `'${i + 1}:${p.name.toLowerCase()}:${zshAction(p.value)}'`);
    return [`    (${c.command.name})`, `      _arguments -s -S \\`, ...[...zshOptionSpecs(c.options), ...positionals].map((s) => `        ${s} \\`), '        && ret=0', '      ;;'].join('\n');
  });
  const commandList = commands.map((c) => `    '${c.name}:${zshDescription(c.summary)}'`);
  return `#compdef ${PROGRAM}
# zsh completion for ${PROGRAM}(1); generated from its command table (src/cli/completion.ts).

# Interface names ($1: list, or pending for those awaiting confirmation), asked of the service
# (reading needs no authorization); with -H, of that host, and only if SSH needs to ask nothing.
(( $+functions[_shared_interface_ask] )) ||
_shared_interface_ask() {
  local host=\${opt_args[-H]:-\${opt_args[--host]:-$_shared_interface_host}}
  if [[ -n $host ]]; then
    SSH_ASKPASS_REQUIRE=never setsid -w timeout 5 ${PROGRAM} -H "$host" "$1" -g interface </dev/null 2>/dev/null
  else
    ${PROGRAM} "$1" -g interface 2>/dev/null
  fi
}
# _arguments calls these with compadd's options ("$@").
(( $+functions[_shared_interface_names] )) ||
_shared_interface_names() {
  local -a names
  names=(\${(f)"$(_shared_interface_ask list)"})
  compadd "$@" -a names
}
(( $+functions[_shared_interface_pending] )) ||
_shared_interface_pending() {
  local -a names
  names=(\${(f)"$(_shared_interface_ask pending)"})
  compadd "$@" -a names
}

_shared-interface() {
  local curcontext=$curcontext state line ret=1 _shared_interface_host
  typeset -A opt_args
  _arguments -s -S -C -A '-*' \\
${zshOptionSpecs(plan.globals).map((s) => `    ${s} \\`).join('\n')}
    '1:command:->command' \\
    '*::argument:->argument' && ret=0
  case $state in
    (command)
      local -a commands
      commands=(
${commandList.join('\n')}
      )
      _describe -t commands command commands && ret=0
      ;;
    (argument)
      # -H before the command: remembered for the names asked of the service.
      _shared_interface_host=\${opt_args[-H]:-\${opt_args[--host]}}
      curcontext=\${curcontext%:*:*}:${PROGRAM}-$words[1]:
      case $words[1] in
${perCommand.join('\n')}
      esac
      ;;
  esac
  return ret
}

_shared-interface "$@"
`;
}
