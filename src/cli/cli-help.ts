// SPDX-License-Identifier: GPL-2.0-or-later
// --help text, made from the command table, so it can't drift from what the parser accepts.
import { BUS_NAME } from '../service/shared-interface-spec';
import type { CliCommand, CliOption } from './command';
import { EXIT_CODE_DOCS } from './exit-codes';
import { wrap } from './cli-output';

export const PROGRAM = 'shared-interface';

export function synopsis(command: CliCommand): string {
  const args = command.positionals.map((p) => (p.optional ? `[${p.name}]` : p.name));
  return [PROGRAM, command.name, Object.keys(command.options).length > 0 ? '[OPTIONS]' : '', ...args].filter((s) => s).join(' ');
}

export function optionLabel(name: string, option: CliOption): string {
  const value = option.valueName ?? 'VALUE';
  const long = option.type !== 'string' ? `--${name}` : option.optionalValue ? `--${name}[=${value}]` : `--${name}=${value}`;
  return option.short === undefined ? `    ${long}` : `-${option.short}, ${long}`;
}

/** Two columns, the second wrapped to the terminal with a hanging indent. */
function twoColumns(rows: ReadonlyArray<readonly [string, string]>, columns: number): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  const textWidth = Math.max(30, columns - width - 4);
  return rows.flatMap(([label, text]) => wrap(text, textWidth, 0).map((line, i) => `  ${(i === 0 ? label : '').padEnd(width)}  ${line}`));
}

function optionLines(options: Readonly<Record<string, CliOption>>, columns: number): string[] {
  return twoColumns(Object.entries(options).map(([name, option]) => [optionLabel(name, option), option.help]), columns);
}

export function overviewHelp(commands: readonly CliCommand[], globals: Readonly<Record<string, CliOption>>, columns: number): string {
  return [
    `usage: ${PROGRAM} [OPTIONS] COMMAND [ARGUMENTS]`,
    '',
    ...wrap(`Shares a host network interface with VM guests through a bridge, by asking the ${BUS_NAME} service on the system bus (or DBUS_SYSTEM_BUS_ADDRESS).`, columns, 0),
    '',
    'Commands:',
    ...twoColumns(commands.map((c) => [c.name, c.summary]), columns),
    '',
    'Options:',
    ...optionLines(globals, columns),
    '',
    'Exit status:',
    ...twoColumns(EXIT_CODE_DOCS.map(([code, doc]) => [String(code).padStart(2), doc]), columns),
    '',
    ...wrap(`"${PROGRAM} COMMAND --help" describes a command; see also shared-interface(1).`, columns, 0),
  ].join('\n');
}

export function commandHelp(command: CliCommand, globals: Readonly<Record<string, CliOption>>, columns: number): string {
  const lines = [`usage: ${synopsis(command)}`, '', ...wrap(command.description, columns, 0)];
  if (command.positionals.length > 0) lines.push('', 'Arguments:', ...twoColumns(command.positionals.map((p) => [p.name, p.help]), columns));
  if (Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionLines(command.options, columns));
  lines.push('', 'Global options:', ...optionLines(globals, columns));
  return lines.join('\n');
}
