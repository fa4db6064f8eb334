// SPDX-License-Identifier: GPL-2.0-or-later
// A change made with --confirm (or the confirm-timeout option of any client) awaits Confirm until
// its deadline: `pending` lists those changes (the Pending property), `confirm IFACE` keeps one
// and `rollback IFACE` undoes it now (the Confirm and Rollback methods), from any connection,
// e.g. a second SSH session after the first one died with the network it changed.
import { flagValue, type CliCommand, type Invocation } from './command';
import { callService, changeTimeoutMs, pendingChanges, type PendingChange } from './cli-service';
import { withProgress } from './change';
import { writeJson } from './cli-output';
import { PROGRAM } from './cli-help';
import { startPolkitAgent } from './polkit-agent';
import { INTERFACE_ARGUMENT } from './share-command';
import { fieldNames, tableChoice, tableLines, writeLines, type FieldTable } from './table-output';

type PendingRow = readonly [string, PendingChange];

/** A deadline as the CLI writes it everywhere: ISO 8601, UTC, to the second. */
export function formatDeadline(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** Whole seconds left before `deadline`, never negative. */
export function secondsLeft(deadline: number, now = Date.now()): number {
  return Math.max(0, Math.ceil((deadline - now) / 1000));
}

const PENDING_FIELDS: FieldTable<PendingRow> = {
  interface: ([nic]) => [nic],
  operation: ([, p]) => [p.operation],
  bridge: ([, p]) => (p.bridge === '' ? [] : [p.bridge]),
  deadline: ([, p]) => [formatDeadline(p.deadline)],
  'seconds-left': ([, p]) => [String(secondsLeft(p.deadline))],
};
const PENDING_FIELD_NAMES = fieldNames(PENDING_FIELDS, Object.keys(PENDING_FIELDS));

/** The JSON of one pending change (list --json and pending --json). */
export function pendingJson(change: PendingChange): Record<string, unknown> {
  return { operation: change.operation, bridge: change.bridge, deadline: formatDeadline(change.deadline), secondsLeft: secondsLeft(change.deadline) };
}

/** What to type about a pending change of `nic`: for the Busy hint's readers, list and pending. */
export function pendingAdvice(nic: string): string {
  return `${PROGRAM} confirm ${nic} keeps it, ${PROGRAM} rollback ${nic} undoes it`;
}

async function listPending(invocation: Invocation): Promise<void> {
  const pending = [...(await pendingChanges(await invocation.bus()))].sort(([a], [b]) => a.localeCompare(b));
  const { output } = invocation;
  if (invocation.json) {
    writeJson(output, { pending: Object.fromEntries(pending.map(([nic, change]) => [nic, pendingJson(change)])) });
    return;
  }
  const choice = tableChoice(invocation.values, PENDING_FIELD_NAMES);
  if (pending.length === 0 && !choice.terse) {
    output.out('No change awaits confirmation.');
    return;
  }
  writeLines(output, tableLines(choice, PENDING_FIELDS, pending, output.columns));
}

export const pendingCommand: CliCommand = {
  name: 'pending',
  summary: 'List the changes that await confirmation, with their deadlines.',
  description: `Lists the changes made with --confirm (or with the confirm-timeout option of any client) that await confirmation: the interface, share or unshare, the bridge, and the deadline (UTC) after which the host rolls the change back by itself. "${PROGRAM} confirm IFACE" keeps a change, "${PROGRAM} rollback IFACE" undoes it now. Changes of other interfaces are refused as busy meanwhile. Fields (-f, -g): ${PENDING_FIELD_NAMES.all.join(', ')}.`,
  positionals: [],
  options: {},
  fields: PENDING_FIELD_NAMES,
  run: listPending,
};

/** Confirm or Rollback of `iface`, with a password prompt where polkit needs one. */
async function endPending(invocation: Invocation, member: 'Confirm' | 'Rollback'): Promise<void> {
  const iface = invocation.positionals[0] ?? '';
  const bus = await invocation.bus();
  const stopAgent = await startPolkitAgent({ askPassword: !flagValue(invocation.values, 'no-ask-password'), remote: invocation.host !== undefined });
  try {
    await withProgress(invocation, bus, iface, () => callService(bus, member, 's', [iface], changeTimeoutMs()));
  } finally {
    stopAgent();
  }
  const { output } = invocation;
  if (member === 'Confirm') {
    if (invocation.json) writeJson(output, { interface: iface, confirmed: true });
    else output.out(`confirmed: the change of ${iface} stays`);
  } else if (invocation.json) {
    writeJson(output, { interface: iface, rolledBack: true });
  } else {
    output.out(`rolled back: ${iface} is as it was before the change`);
  }
}

const PENDING_ARGUMENT = { ...INTERFACE_ARGUMENT, complete: 'pending', help: 'The interface whose change awaits confirmation, e.g. eth0.' } as const;

export const confirmCommand: CliCommand = {
  name: 'confirm',
  summary: 'Keep a change that awaits confirmation.',
  description: `Confirms the change of IFACE that awaits confirmation (see pending), so the host keeps it. Any session of an authorized user may confirm, e.g. a new SSH session once the network has settled. Exit status 10 if no change of IFACE awaits confirmation (it was confirmed or rolled back already).`,
  positionals: [PENDING_ARGUMENT],
  options: {},
  run: (invocation) => endPending(invocation, 'Confirm'),
};

export const rollbackCommand: CliCommand = {
  name: 'rollback',
  summary: 'Undo a change that awaits confirmation, now.',
  description: `Rolls the change of IFACE that awaits confirmation (see pending) back now, instead of at its deadline: IFACE and its bridge are as they were before the change. Exit status 10 if no change of IFACE awaits confirmation.`,
  positionals: [PENDING_ARGUMENT],
  options: {},
  run: (invocation) => endPending(invocation, 'Rollback'),
};
