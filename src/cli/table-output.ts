// SPDX-License-Identifier: GPL-2.0-or-later
// What a command that prints a table (list, pending) writes, with nmcli's options: -f/--fields
// chooses the columns (names, "all" or "common"), -t/--terse writes each row as its values
// separated by ':' (with ':' and '\' escaped by '\') and no header, -g/--get-values FIELDS is
// -t -f FIELDS. A cell may hold several values (an address each): a line each in the table,
// joined by " | " in terse output, as nmcli joins them.
import type { CliOutput, FieldNames, OptionValues } from './command';
import { flagValue, stringValue } from './command';
import { formatTable } from './cli-output';

/** Each column's values for a row; none is shown as '-' in the table, as '' in terse output. */
export type FieldTable<T> = Readonly<Record<string, (row: T) => readonly string[]>>;

export function fieldNames<T>(table: FieldTable<T>, common: readonly string[]): FieldNames {
  return { all: Object.keys(table), common };
}

export function parseFieldList(value: string, names: FieldNames): string[] {
  const list = value.trim().toLowerCase();
  if (list === 'all') return [...names.all];
  if (list === 'common') return [...names.common];
  return list.split(',').map((f) => f.trim());
}

function fieldListProblem(option: string, value: string, names: FieldNames): string | undefined {
  const unknown = parseFieldList(value, names).filter((f) => !names.all.includes(f));
  return unknown.length > 0 ? `--${option}: unknown field '${unknown.join(',')}'; fields: ${names.all.join(',')} (or all, common)` : undefined;
}

/**
 * What is wrong with -f, -t, -g and --json together for a command offering `names` (undefined: no
 * table). `forceOption`: the command has --force, which -f is not (it is nmcli's --fields).
 */
export function tableOptionsProblem(values: OptionValues, names: FieldNames | undefined, forceOption = false): string | undefined {
  const given = ['fields', 'terse', 'get-values'].filter((o) => values[o] !== undefined && values[o] !== false);
  if (given.length === 0) return undefined;
  if (names === undefined) {
    const force = forceOption && given[0] === 'fields' ? ' (-f is --fields, as in nmcli; to force, --force)' : '';
    return `--${given[0] ?? ''} applies to the commands that print a table (list, pending)${force}`;
  }
  if (flagValue(values, 'json')) return `--json and --${given[0] ?? ''} exclude each other`;
  if (given.includes('fields') && given.includes('get-values')) return '--fields and --get-values exclude each other (-g FIELDS is -t -f FIELDS)';
  for (const option of ['fields', 'get-values']) {
    const value = stringValue(values, option);
    const problem = value === undefined ? undefined : fieldListProblem(option, value, names);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

export interface TableChoice {
  readonly fields: readonly string[];
  /** Terse: colon-separated values, escaped, no header (-t, -g). */
  readonly terse: boolean;
}

/** The columns and the form the command line asks for (checked already by tableOptionsProblem). */
export function tableChoice(values: OptionValues, names: FieldNames): TableChoice {
  const getValues = stringValue(values, 'get-values');
  if (getValues !== undefined) return { fields: parseFieldList(getValues, names), terse: true };
  const fields = stringValue(values, 'fields');
  return { fields: fields === undefined ? names.common : parseFieldList(fields, names), terse: flagValue(values, 'terse') };
}

/** nmcli's terse escaping: ':' separates values, so a ':' (and the escape '\' itself) in one is escaped. */
export function escapeTerse(value: string): string {
  return value.replace(/[\\:]/g, '\\$&');
}

/** The table's lines: terse rows, or a table with a header that fits `columns`. */
export function tableLines<T>(choice: TableChoice, table: FieldTable<T>, rows: readonly T[], columns: number): string[] {
  const cells = rows.map((row) => choice.fields.map((f) => table[f]?.(row) ?? []));
  if (choice.terse) return cells.map((row) => row.map((values) => escapeTerse(values.join(' | '))).join(':'));
  const shown = cells.map((row) => row.map((values) => (values.length > 0 ? values : ['-'])));
  return formatTable(choice.fields.map((f) => f.toUpperCase()), shown, columns);
}

/** Writes the lines in one write (a line each would be a system call each, for hundreds of NICs). */
export function writeLines(output: CliOutput, lines: readonly string[]): void {
  if (lines.length > 0) output.out(lines.join('\n'));
}
