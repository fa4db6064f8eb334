// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface list`: the host's interfaces, whether each can be shared, and what sharing would change.
import type { CliCommand, Invocation } from './command';
import { flagValue, stringValue } from './command';
import { listInterfaces, type ListedInterface } from './cli-service';
import { formatTable, wrap, writeJson } from './cli-output';
import { parseErrorMessage } from '../service/error-message';

type Cell = readonly string[];

const FIELDS: Readonly<Record<string, (i: ListedInterface) => Cell>> = {
  interface: (i) => [i.name],
  type: (i) => [i.type || '-'],
  mac: (i) => [i.mac || '-'],
  carrier: (i) => [i.carrier ? 'yes' : 'no'],
  state: (i) => [i.bridge ? 'shared' : i.shareable ? 'shareable' : 'not shareable'],
  bridge: (i) => [i.bridge || '-'],
  addresses: (i) => (i.addresses.length > 0 ? i.addresses : ['-']),
  reason: (i) => [i.reason || '-'],
  notes: (i) => (i.notes.length > 0 ? i.notes : ['-']),
};

export const LIST_FIELDS = Object.keys(FIELDS);
const DEFAULT_FIELDS = ['interface', 'type', 'carrier', 'state', 'bridge', 'addresses'];

function parseFields(value: string | undefined): string[] {
  if (value === undefined) return DEFAULT_FIELDS;
  if (value.toLowerCase() === 'all') return LIST_FIELDS;
  return value.split(',').map((f) => f.trim().toLowerCase());
}

function fieldsProblem(value: string): string | undefined {
  const unknown = parseFields(value).filter((f) => !(f in FIELDS));
  return unknown.length > 0 ? `unknown field '${unknown.join(',')}'; fields: ${LIST_FIELDS.join(',')} (or all)` : undefined;
}

/** Below the table: why an interface can't be shared, and what sharing it would change. */
function footnotes(interfaces: readonly ListedInterface[], columns: number): string[] {
  const lines: string[] = [];
  for (const i of interfaces) {
    if (!i.shareable && !i.bridge && i.reason) {
      const { message: reason, hint } = parseErrorMessage(i.reason);
      lines.push(...wrap(`${i.name}: not shareable: ${reason}`, columns));
      if (hint !== undefined) lines.push(...wrap(`  hint: ${hint}`, columns, 4));
    }
    for (const note of i.notes) lines.push(...wrap(`${i.name}: note: ${note}`, columns));
  }
  return lines;
}

async function run(invocation: Invocation): Promise<void> {
  const interfaces = await listInterfaces(await invocation.bus(), flagValue(invocation.values, 'all'));
  const { output } = invocation;
  if (invocation.json) {
    writeJson(output, { interfaces });
    return;
  }
  const fields = parseFields(stringValue(invocation.values, 'fields'));
  const legend = !flagValue(invocation.values, 'no-legend');
  const rows = interfaces.map((i) => fields.map((f) => FIELDS[f]?.(i) ?? []));
  const lines = formatTable(legend ? fields.map((f) => f.toUpperCase()) : undefined, rows, output.columns);
  // The notes and reasons are shown whole below the table, unless the user chose columns for them.
  const notes = legend && !fields.includes('reason') && !fields.includes('notes') ? footnotes(interfaces, output.columns) : [];
  if (notes.length > 0) lines.push('', ...notes);
  // One write for the whole table: a line each was a system call each (hundreds of NICs).
  if (lines.length > 0) output.out(lines.join('\n'));
}

export const listCommand: CliCommand = {
  name: 'list',
  summary: 'List the network interfaces, whether each can be shared, and notes.',
  description: 'Lists the host\'s network interfaces (not the loopback, tun and tap devices, unmanaged veths and ports of bridges, bonds and teams, unless --all): whether each is shared (and through which bridge), can be shared, or why not, and what sharing it would change that you may not expect (notes, below the table). The table fits the terminal (COLUMNS): the last column is cut when it must be; --json gives everything.',
  positionals: [],
  options: {
    fields: {
      type: 'string', short: 'o', valueName: 'FIELD,...',
      help: `The columns, in order: ${LIST_FIELDS.join(', ')}, or all (default: ${DEFAULT_FIELDS.join(',')}).`,
      check: fieldsProblem,
      complete: [...LIST_FIELDS, 'all'],
    },
    'no-legend': { type: 'boolean', help: 'No header line and no notes below the table (for scripts).' },
    all: { type: 'boolean', short: 'a', help: 'Every interface: also the loopback, tun and tap devices, unmanaged veths and ports of bridges, bonds and teams, which are left out by default.' },
  },
  run,
};
