// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface list`: the host's interfaces, whether each can be shared, what sharing would
// change, and which change awaits confirmation.
import { flagValue, type CliCommand, type Invocation } from './command';
import { listInterfaces, pendingChanges, type ListedInterface, type PendingChange } from './cli-service';
import { wrap, writeJson } from './cli-output';
import { parseErrorMessage } from '../service/error-message';
import { formatDeadline, pendingAdvice, pendingJson, secondsLeft } from './pending-commands';
import { fieldNames, tableChoice, tableLines, writeLines, type FieldTable } from './table-output';

export interface Row {
  readonly nic: ListedInterface;
  readonly pending: PendingChange | undefined;
}

const some = (value: string) => (value === '' ? [] : [value]);

const FIELDS: FieldTable<Row> = {
  interface: ({ nic }) => [nic.name],
  type: ({ nic }) => some(nic.type),
  mac: ({ nic }) => some(nic.mac),
  carrier: ({ nic }) => [nic.carrier ? 'yes' : 'no'],
  state: ({ nic }) => [nic.bridge ? 'shared' : nic.shareable ? 'shareable' : 'not shareable'],
  bridge: ({ nic }) => some(nic.bridge),
  mode: ({ nic }) => some(nic.mode),
  addresses: ({ nic }) => nic.addresses,
  pending: ({ pending }) => (pending === undefined ? [] : [`${pending.operation} until ${formatDeadline(pending.deadline)}`]),
  reason: ({ nic }) => some(nic.reason),
  notes: ({ nic }) => nic.notes,
};

export const LIST_FIELDS = fieldNames(FIELDS, ['interface', 'type', 'carrier', 'state', 'bridge', 'addresses']);

/** Names shown of a group of interfaces with the same footnote; the rest are counted. */
const NAMED_IN_GROUP = 3;

/** "vb1, vb2, vb3 and 4997 more" (every name when there are few). */
function names(group: readonly string[]): string {
  if (group.length <= NAMED_IN_GROUP + 1) return group.join(', ');
  return `${group.slice(0, NAMED_IN_GROUP).join(', ')} and ${group.length - NAMED_IN_GROUP} more`;
}

/**
 * Interfaces not shareable for the same reason share one footnote: on a host with thousands of
 * unmanaged veths (`list --all`) that is one line, not thousands. A hint naming the interface
 * (`nmcli device set vb1 …`) counts as the same for each.
 */
function refusalGroups(rows: readonly Row[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { nic } of rows) {
    if (nic.shareable || nic.bridge || !nic.reason) continue;
    const key = nic.reason.replaceAll(nic.name, '\0');
    groups.set(key, [...groups.get(key) ?? [], nic.name]);
  }
  return groups;
}

/** Below the table: a change awaiting confirmation, why an interface can't be shared, what sharing it would change. */
export function footnotes(rows: readonly Row[], fields: readonly string[], columns: number): string[] {
  const lines: string[] = [];
  const refusals = fields.includes('reason') ? new Map<string, string[]>() : refusalGroups(rows);
  for (const { nic, pending } of rows) {
    if (pending !== undefined && !fields.includes('pending')) {
      lines.push(...wrap(`${nic.name}: the ${pending.operation} awaits confirmation until ${formatDeadline(pending.deadline)} (${secondsLeft(pending.deadline)} s left), then it is rolled back: ${pendingAdvice(nic.name)}`, columns));
    }
    const group = refusals.get(nic.reason.replaceAll(nic.name, '\0'));
    if (group?.[0] === nic.name) {
      const { message: reason, hint } = parseErrorMessage(nic.reason);
      lines.push(...wrap(`${names(group)}: not shareable: ${reason}`, columns));
      if (hint !== undefined) lines.push(...wrap(`  hint: ${hint}${group.length > 1 ? ` (and likewise for the others)` : ''}`, columns, 4));
    }
    if (!fields.includes('notes')) for (const note of nic.notes) lines.push(...wrap(`${nic.name}: note: ${note}`, columns));
  }
  return lines;
}

async function run(invocation: Invocation): Promise<void> {
  const bus = await invocation.bus();
  // Both questions go out at once: one round trip, not two.
  const [interfaces, pending] = await Promise.all([listInterfaces(bus, flagValue(invocation.values, 'all')), pendingChanges(bus)]);
  const { output } = invocation;
  if (invocation.json) {
    const withPending = (nic: ListedInterface) => {
      const change = pending.get(nic.name);
      return change === undefined ? nic : { ...nic, pending: pendingJson(change) };
    };
    writeJson(output, { interfaces: interfaces.map(withPending) });
    return;
  }
  const rows = interfaces.map((nic) => ({ nic, pending: pending.get(nic.name) }));
  const choice = tableChoice(invocation.values, LIST_FIELDS);
  const lines = tableLines(choice, FIELDS, rows, output.columns);
  // Reasons, notes and pending changes are shown whole below the table, unless it has columns for them.
  const notes = choice.terse ? [] : footnotes(rows, choice.fields, output.columns);
  if (notes.length > 0) lines.push('', ...notes);
  writeLines(output, lines);
}

export const listCommand: CliCommand = {
  name: 'list',
  summary: 'List the network interfaces, whether each can be shared, and notes.',
  description: 'Lists the host\'s network interfaces (not the loopback, tun and tap devices, unmanaged veths, veths whose other end is on this host, and ports of bridges, bonds and teams, unless --all): whether each is shared (and through which bridge), can be shared, or why not, what sharing it would change that you may not expect, and a change that awaits confirmation (below the table, unless -f names its column). The table fits the terminal (COLUMNS): the last column is cut when it must be; --json gives everything. Fields (-f, -g): ' + `${LIST_FIELDS.all.join(', ')}; common: ${LIST_FIELDS.common.join(', ')}.`,
  positionals: [],
  options: {
    all: { type: 'boolean', short: 'a', help: 'Every interface: also the loopback, tun and tap devices, unmanaged veths, veths whose other end is on this host, and ports of bridges, bonds and teams, which are left out by default.' },
  },
  fields: LIST_FIELDS,
  run,
};
