// SPDX-License-Identifier: GPL-2.0-or-later
// The CLI's flags for the service's options, made from the domain's table of them
// (src/bridge/request-options.ts): a string or a number of seconds is --KEY=VALUE, checked against
// the row's range before anything connects; a boolean that defaults to false is --KEY, one that
// defaults to true is --no-KEY. Help and the man page say what the row says.
import * as t from '../dbus-wire/bus-value';
import { choiceProblem, optionRow, type OptionName } from '../bridge/request-options';
import { flagValue, secondsBetween, stringValue, type CliOption, type OptionValues } from './command';

function sentence(text: string): string {
  const trimmed = text.replace(/\.$/, '');
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}.`;
}

/** The flag's name on the command line for the option `name`. */
export function flagName(name: OptionName): string {
  const row = optionRow(name);
  return row.type === 'b' && row.default === true ? `no-${row.key}` : row.key;
}

/** The CLI option for the service's option `name`; `extra` adds what only the CLI knows (a short letter, a name check). */
export function requestFlag(name: OptionName, extra: Partial<Pick<CliOption, 'short' | 'valueName' | 'check' | 'complete'>> = {}): CliOption {
  const row = optionRow(name);
  switch (row.type) {
    case 's':
      if (row.choices !== undefined) {
        const choices = row.choices;
        return {
          type: 'string', valueName: choices.join('|'), help: `${sentence(row.doc)} Default ${String(row.default)}.`,
          check: (value) => choiceProblem(name, value)?.replace(/^option '([^']+)'/, '--$1'), complete: choices, ...extra,
        };
      }
      return { type: 'string', valueName: 'VALUE', help: sentence(row.doc), ...extra };
    case 'b':
      return { type: 'boolean', help: sentence(row.default === true ? row.whenFalse ?? `turn off ${row.key}` : row.doc), ...extra };
    case 'u':
      return {
        type: 'string', valueName: 'SECONDS', check: secondsBetween(row.min, row.max),
        help: `${sentence(row.doc)} ${row.min} to ${row.max}, default ${row.default}.`, ...extra,
      };
  }
}

/** The flags for `names`, by flag name, for a command's option table. */
export function requestFlags(names: readonly OptionName[]): Record<string, CliOption> {
  return Object.fromEntries(names.map((name) => [flagName(name), requestFlag(name)]));
}

/** What the command line gave for `names`, as the method's a{sv}: only what the user said. */
export function requestOptions(names: readonly OptionName[], values: OptionValues): Record<string, t.Variant> {
  const options: Record<string, t.Variant> = {};
  for (const name of names) {
    const row = optionRow(name);
    const flag = flagName(name);
    if (row.type === 'b') {
      if (flagValue(values, flag)) options[row.key] = t.makeVariant('b', row.default !== true);
      continue;
    }
    const value = stringValue(values, flag);
    if (value !== undefined) options[row.key] = row.type === 'u' ? t.makeVariant('u', Number(value)) : t.makeVariant('s', value);
  }
  return options;
}
