// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface monitor`: a line for each change of the listing as it happens, like `nmcli
// monitor`, from the service's InterfacesChanged signal, until interrupted.
import type { BusConnection } from '../dbus-wire/bus-connection';
import type { CliCommand, Invocation } from './command';
import { listInterfaces, type ListedInterface } from './cli-service';
import { writeJson } from './cli-output';
import { decodeInterfacesChanged, type ListingChange } from '../service/interface-listing';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../service/shared-interface-spec';

function state(i: ListedInterface): string {
  if (i.bridge !== '') return `shared through ${i.bridge}`;
  return i.shareable ? 'shareable' : `not shareable: ${i.reason.split('\n')[0] ?? ''}`;
}

/** What changed of one interface, in lines for a user (nothing when nothing shown changed). */
export function describeChange(before: ListedInterface | undefined, after: ListedInterface | undefined): string[] {
  if (after === undefined) return before === undefined ? [] : [`${before.name}: gone`];
  const name = after.name;
  if (before === undefined) {
    const addresses = after.addresses.length > 0 ? `, ${after.addresses.join(' ')}` : '';
    return [`${name}: appeared (${after.type || 'unknown type'}, ${state(after)}${addresses})`];
  }
  const lines: string[] = [];
  if (state(before) !== state(after)) lines.push(`${name}: ${state(after)}`);
  if (before.carrier !== after.carrier) lines.push(`${name}: carrier ${after.carrier ? 'on' : 'off'}`);
  if (before.mac !== after.mac) lines.push(`${name}: MAC ${after.mac || 'none'}`);
  for (const a of after.addresses) if (!before.addresses.includes(a)) lines.push(`${name}: address ${a} added`);
  for (const a of before.addresses) if (!after.addresses.includes(a)) lines.push(`${name}: address ${a} removed`);
  for (const note of after.notes) if (!before.notes.includes(note)) lines.push(`${name}: note: ${note}`);
  return lines;
}

/** Applies a signal to what is known; returns the lines that say what changed. */
export function applyChange(known: Map<string, ListedInterface>, change: ListingChange): string[] {
  const lines: string[] = [];
  for (const entry of change.changed) {
    lines.push(...describeChange(known.get(entry.name), entry));
    known.set(entry.name, entry);
  }
  for (const name of change.removed) {
    lines.push(...describeChange(known.get(name), undefined));
    known.delete(name);
  }
  return lines;
}

/** The difference between two full listings, as a signal would say it. */
function difference(known: ReadonlyMap<string, ListedInterface>, now: readonly ListedInterface[]): ListingChange {
  const names = new Set(now.map((i) => i.name));
  return {
    changed: now.filter((i) => JSON.stringify(known.get(i.name)) !== JSON.stringify(i)),
    removed: [...known.keys()].filter((name) => !names.has(name)),
  };
}

async function run(invocation: Invocation): Promise<number> {
  const bus = await invocation.bus();
  const { output } = invocation;
  const known = new Map<string, ListedInterface>();
  const report = (change: ListingChange) => {
    const lines = applyChange(known, change);
    if (!invocation.json) {
      if (lines.length > 0) output.out(lines.join('\n'));
    } else if (change.changed.length > 0 || change.removed.length > 0) {
      writeJson(output, { changed: change.changed, removed: change.removed });
    }
  };
  const relist = async (on: BusConnection): Promise<ListingChange> => difference(known, await listInterfaces(on));
  // Subscribed before the first listing: no change falls between the two.
  const stopSignals = await bus.subscribe({ sender: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'InterfacesChanged' }, (msg) => {
    report(decodeInterfacesChanged(msg.signature, msg.body));
  });
  let failed: unknown;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => { finish = resolve; });
  // The service exits when idle, and sees no change while it is gone: start it again at once
  // (any call activates it) and say what changed meanwhile.
  const stopOwnerWatch = await bus.subscribe(
    { sender: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameOwnerChanged', arg0: BUS_NAME },
    (msg) => {
      if (msg.body[2] !== '') return;
      relist(bus).then(report, (err: unknown) => { failed = err; finish(1); });
    },
  );
  for (const entry of await listInterfaces(bus)) known.set(entry.name, entry);
  output.err(`watching ${known.size} interfaces for changes (Ctrl-C stops)`);
  const interrupted = () => finish(0);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  bus.onClosed((reason) => { failed = new Error(`the bus connection closed: ${reason}`); finish(1); });
  try {
    const code = await finished;
    if (failed !== undefined) throw failed;
    return code;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await Promise.allSettled([stopSignals(), stopOwnerWatch()]);
  }
}

export const monitorCommand: CliCommand = {
  name: 'monitor',
  summary: 'Show changes of the interfaces as they happen, until interrupted.',
  description: 'Prints a line for each change of what `list` shows, as it happens, whoever made it (shared-interface, NetworkManager, nmcli, ifcfg files, the kernel): an interface appearing or gone, shared or unshared, an address added or removed, carrier on or off. It follows the service\'s InterfacesChanged signal (one per burst of changes) until Ctrl-C. With --json, each signal is one JSON document on a line of its own, with the entries that changed (as `list --json` shows them) and the names removed.',
  positionals: [],
  options: {},
  run,
};
