// SPDX-License-Identifier: GPL-2.0-or-later
// The command line, read by Node's own util.parseArgs: GNU long options (--bridge NAME or
// --bridge=NAME), short ones (-b NAME, -bNAME), options before or after the positionals, global
// options anywhere. Every value is checked here, before anything connects to a bus.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type CliCommand, type CliOption, type OptionValues } from './command';
import { tableOptionsProblem } from './table-output';

export type CommandLine =
  | { readonly kind: 'help'; readonly command?: CliCommand }
  | { readonly kind: 'version'; readonly json: boolean }
  | { readonly kind: 'run'; readonly command: CliCommand; readonly positionals: readonly string[]; readonly values: OptionValues; readonly json: boolean };

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

/** parseArgs' name for the alias letter of option `name`: an option of its own, folded back by foldAliases. */
const aliasKey = (name: string) => `${name}\u0000alias`;

function parseConfig(options: Readonly<Record<string, CliOption>>): ParseOptions {
  const config: ParseOptions = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] = option.short === undefined ? { type: option.type } : { type: option.type, short: option.short };
    if (option.alias !== undefined) config[aliasKey(name)] = { type: option.type, short: option.alias };
  }
  return config;
}

/** An alias letter's value is its option's (given both ways, the option's own spelling wins). */
function foldAliases(values: Record<string, unknown>, options: Readonly<Record<string, CliOption>>): OptionValues {
  for (const name of Object.keys(options)) {
    const key = aliasKey(name);
    if (!(key in values)) continue;
    values[name] ??= values[key];
    delete values[key];
  }
  return values as OptionValues;
}

/** Where the command name is: the first argument that is neither an option nor a global option's value. */
function commandIndex(argv: readonly string[], globals: Readonly<Record<string, CliOption>>): number {
  const takesValue = new Set<string>();
  for (const [name, option] of Object.entries(globals)) {
    if (option.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (option.short !== undefined) takesValue.add(`-${option.short}`);
    if (option.alias !== undefined) takesValue.add(`-${option.alias}`);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') return i + 1 < argv.length ? i + 1 : -1;
    if (arg === '-' || !arg.startsWith('-')) return i;
    if (takesValue.has(arg)) i++;
  }
  return -1;
}

/** parseArgs' own message, first sentence only (the rest explains `--`, which the usage shows). */
function usageMessage(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_') || !(err instanceof Error)) return undefined;
  // An alias letter's option has a name no one can type: its message names the letter alone.
  const message = err.message.replace(/, --[^ ']*\u0000alias/g, '');
  return message.split(/\.(?: |$)/)[0] ?? message;
}

/** A bare --name of an option whose value may be left out becomes --name= (parseArgs needs a value). */
function fillOptionalValues(args: readonly string[], options: Readonly<Record<string, CliOption>>): string[] {
  const optional = new Set(Object.entries(options).filter(([, o]) => o.optionalValue === true).map(([name]) => `--${name}`));
  const end = args.indexOf('--');
  return args.map((arg, i) => ((end < 0 || i < end) && optional.has(arg) ? `${arg}=` : arg));
}

function parse(args: string[], options: Readonly<Record<string, CliOption>>, command?: string): { values: OptionValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: fillOptionalValues(args, options), options: parseConfig(options), strict: true, allowPositionals: true });
    return { values: foldAliases(values, options), positionals };
  } catch (err) {
    const message = usageMessage(err);
    if (message === undefined) throw err;
    throw new UsageError(message, command);
  }
}

function checkValues(command: CliCommand, globals: Readonly<Record<string, CliOption>>, values: OptionValues, positionals: readonly string[]): void {
  for (const [name, option] of Object.entries({ ...globals, ...command.options })) {
    const value = values[name];
    const problem = typeof value === 'string' ? option.check?.(value) : undefined;
    if (problem !== undefined) throw new UsageError(`--${name}: ${problem}`, command.name);
  }
  const tableProblem = tableOptionsProblem(values, command.fields, 'force' in command.options);
  if (tableProblem !== undefined) throw new UsageError(tableProblem, command.name);
  const required = command.positionals.filter((p) => !p.optional).length;
  if (positionals.length < required) {
    throw new UsageError(`${command.name} needs ${command.positionals.filter((p) => !p.optional).map((p) => p.name).join(' ')}`, command.name);
  }
  if (positionals.length > command.positionals.length) {
    throw new UsageError(`unexpected argument '${positionals[command.positionals.length] ?? ''}'`, command.name);
  }
  command.positionals.forEach((spec, i) => {
    const value = positionals[i];
    const problem = value === undefined ? undefined : spec.check?.(value);
    if (problem !== undefined) throw new UsageError(`${spec.name}: ${problem}`, command.name);
  });
}

export function parseCommandLine(
  argv: readonly string[],
  commands: readonly CliCommand[],
  globals: Readonly<Record<string, CliOption>>,
): CommandLine {
  const at = commandIndex(argv, globals);
  if (at < 0) {
    const { values, positionals } = parse([...argv], globals);
    if (values['help'] === true) return { kind: 'help' };
    if (values['version'] === true) return { kind: 'version', json: values['json'] === true };
    if (positionals.length === 0) throw new UsageError('no command given');
  }
  const name = argv[at] ?? '';
  const command = commands.find((c) => c.name === name);
  if (command === undefined) throw new UsageError(`unknown command '${name}'`);
  const rest = argv.filter((_, i) => i !== at);
  const { values, positionals } = parse(rest, { ...globals, ...command.options }, command.name);
  if (values['help'] === true) return { kind: 'help', command };
  if (values['version'] === true) return { kind: 'version', json: values['json'] === true };
  checkValues(command, globals, values, positionals);
  return { kind: 'run', command, positionals, values, json: values['json'] === true };
}
