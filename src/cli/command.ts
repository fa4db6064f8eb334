// SPDX-License-Identifier: GPL-2.0-or-later
// What a CLI command is: a row of the command table (cli-commands.ts). The parser
// (cli-parser.ts) knows nothing about any one command; a new command is a new file with one of these.
import type { BusConnection } from '../dbus-wire/bus-connection';

/** A command line the user must fix: exit code 2, a message, and where to find the usage. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliOption {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Another short letter for the same option, an earlier spelling kept working (not offered by completion). */
  readonly alias?: string;
  /** The placeholder in help, e.g. NAME in --bridge=NAME (string options only). */
  readonly valueName?: string;
  /** The value may be left out (--confirm or --confirm=30); left out, it is ''. */
  readonly optionalValue?: boolean;
  readonly help: string;
  /** Why a value is unacceptable, or undefined; checked before anything connects. */
  readonly check?: (value: string) => string | undefined;
  /** Where completion finds values for it ('interfaces': the service's list). */
  readonly complete?: 'interfaces' | 'files' | 'fields' | readonly string[];
}

export interface CliPositional {
  readonly name: string;
  readonly help: string;
  readonly optional?: boolean;
  readonly check?: (value: string) => string | undefined;
  readonly complete?: 'interfaces' | 'pending' | 'files';
}

/** A table's columns: every one, and those shown when -f does not choose. */
export interface FieldNames {
  readonly all: readonly string[];
  readonly common: readonly string[];
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** Where a command writes: stdout for results, stderr for messages, and the terminal's width. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
  readonly columns: number;
  /** stderr is a terminal: progress lines are worth showing there. */
  readonly terminal?: boolean;
}

/** One parsed, checked command line, handed to the command's run(). */
export interface Invocation {
  readonly command: CliCommand;
  readonly positionals: readonly string[];
  readonly values: OptionValues;
  /** --json: one JSON document on stdout (with "schema"), messages still on stderr. */
  readonly json: boolean;
  readonly output: CliOutput;
  /** The system bus, connected on first use (so usage errors never need one). */
  bus(): Promise<BusConnection>;
  /** -H: the remote host ([USER@]HOST) whose system bus bus() reaches over SSH. */
  readonly host?: string | undefined;
  /** A new connection to the same bus (with -H, a new SSH session); the caller closes it. */
  connectAgain(): Promise<BusConnection>;
}

export interface CliCommand {
  readonly name: string;
  /** One line for the command overview. */
  readonly summary: string;
  /** A paragraph for `COMMAND --help` and the man page. */
  readonly description: string;
  readonly positionals: readonly CliPositional[];
  readonly options: Readonly<Record<string, CliOption>>;
  /** The columns a command that prints a table offers to -f, -t and -g (table-output.ts). */
  readonly fields?: FieldNames;
  /** Resolves with the exit code (undefined: 0). Errors from the bus are mapped by the caller. */
  run(invocation: Invocation): Promise<number | void>;
}

export function stringValue(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function flagValue(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** A check for options that take a whole number of seconds in [min, max]. */
export function secondsBetween(min: number, max: number): (value: string) => string | undefined {
  return (value) => {
    if (!/^\d+$/.test(value)) return `'${value}' is not a whole number of seconds`;
    const n = Number(value);
    return n < min || n > max ? `${n} is not between ${min} and ${max} seconds` : undefined;
  };
}
