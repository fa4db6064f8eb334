// `shared-interface`: a client of the D-Bus API only (it works exactly as any other client would).
import { BusCallError, BusConnection } from '../bus/bus-connection';
import * as t from '../bus/bus-value';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../dbus/shared-interface-spec';

const USAGE = `usage:
  shared-interface list [--json]
  shared-interface share IFACE [--bridge NAME] [--stp] [--forward-delay SECONDS]
                               [--rollback-timeout SECONDS] [--no-persist] [--json]
  shared-interface unshare IFACE [--force] [--rollback-timeout SECONDS] [--json]
Talks to ${BUS_NAME} on the system bus (or DBUS_SYSTEM_BUS_ADDRESS).`;

class UsageError extends Error {}

interface ParsedArgs {
  readonly command: string;
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['--bridge', '--forward-delay', '--rollback-timeout']);
const BOOLEAN_FLAGS = new Set(['--json', '--stp', '--no-persist', '--force']);

function parseArgs(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') throw new UsageError('');
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] ?? '';
    if (VALUE_FLAGS.has(a)) {
      const value = rest[++i];
      if (value === undefined) throw new UsageError(`${a} needs a value`);
      flags.set(a, value);
    } else if (BOOLEAN_FLAGS.has(a)) {
      flags.set(a, true);
    } else if (a.startsWith('--')) {
      throw new UsageError(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  return { command, positional, flags };
}

function seconds(flags: Map<string, string | true>, flag: string): number | undefined {
  const value = flags.get(flag);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number of seconds`);
  return Number(value);
}

function oneInterface(args: ParsedArgs): string {
  const [iface, ...extra] = args.positional;
  if (iface === undefined || extra.length > 0) throw new UsageError(`${args.command} takes exactly one interface name`);
  return iface;
}

async function callService(bus: BusConnection, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
  return bus.call({
    destination: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member, signature, body,
    allowInteractiveAuthorization: true,
    // Share waits for DHCP and verification; the service's own rollback timeout bounds it.
    timeoutMs: 180_000,
  });
}

const listing = t.array(t.struct<[string, string, Map<string, t.Variant>]>(t.string, t.string, t.vardict));

function detail(details: Map<string, t.Variant>, key: string): unknown {
  return details.get(key)?.value;
}

interface Row {
  name: string; bridge: string; type: string; mac: string; carrier: boolean; shareable: boolean; reason: string;
  addresses: string[]; notes: string[];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

async function listRows(bus: BusConnection): Promise<Row[]> {
  const [reply] = await callService(bus, 'ListInterfaces', '', []);
  return listing.decode(reply, 'ListInterfaces reply').map(([name, bridge, details]) => ({
    name,
    bridge,
    type: String(detail(details, 'type') ?? ''),
    mac: String(detail(details, 'mac') ?? ''),
    carrier: detail(details, 'carrier') === true,
    shareable: detail(details, 'shareable') === true,
    reason: String(detail(details, 'reason') ?? ''),
    addresses: strings(detail(details, 'addresses')),
    notes: strings(detail(details, 'notes')),
  }));
}

async function list(bus: BusConnection, json: boolean): Promise<void> {
  const rows = await listRows(bus);
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const table = [['INTERFACE', 'TYPE', 'MAC', 'CARRIER', 'ADDRESSES', 'SHARED', 'NOTE']];
  for (const r of rows) {
    table.push([
      r.name, r.type, r.mac || '-', r.carrier ? 'yes' : 'no', r.addresses.join(',') || '-',
      r.bridge ? `via ${r.bridge}` : r.shareable ? 'shareable' : 'no',
      r.reason,
    ]);
  }
  const widths = table[0]?.map((_, col) => Math.max(...table.map((row) => (row[col] ?? '').length))) ?? [];
  for (const row of table) console.log(row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ').trimEnd());
}

async function share(bus: BusConnection, args: ParsedArgs): Promise<void> {
  const iface = oneInterface(args);
  const options: Record<string, t.Variant> = {};
  const bridge = args.flags.get('--bridge');
  if (typeof bridge === 'string') options['bridge'] = t.makeVariant('s', bridge);
  if (args.flags.has('--stp')) options['stp'] = t.makeVariant('b', true);
  const delay = seconds(args.flags, '--forward-delay');
  if (delay !== undefined) options['forward-delay'] = t.makeVariant('u', delay);
  const rollback = seconds(args.flags, '--rollback-timeout');
  if (rollback !== undefined) options['rollback-timeout'] = t.makeVariant('u', rollback);
  if (args.flags.has('--no-persist')) options['persist'] = t.makeVariant('b', false);
  // Say beforehand what sharing will change that the user may not expect.
  const notes = (await listRows(bus)).find((r) => r.name === iface)?.notes ?? [];
  if (!args.flags.has('--json')) for (const note of notes) console.error(`note: ${iface}: ${note}`);
  const [result] = await callService(bus, 'Share', 'sa{sv}', [iface, options]);
  const name = t.string.decode(result, 'Share reply');
  if (args.flags.has('--json')) console.log(JSON.stringify({ interface: iface, bridge: name, notes }));
  else console.log(`${iface} is shared through bridge ${name}; attach guests to ${name} (libvirt: <interface type='bridge'><source bridge='${name}'/></interface>)`);
}

async function unshare(bus: BusConnection, args: ParsedArgs): Promise<void> {
  const iface = oneInterface(args);
  const options: Record<string, t.Variant> = {};
  if (args.flags.has('--force')) options['force'] = t.makeVariant('b', true);
  const rollback = seconds(args.flags, '--rollback-timeout');
  if (rollback !== undefined) options['rollback-timeout'] = t.makeVariant('u', rollback);
  await callService(bus, 'Unshare', 'sa{sv}', [iface, options]);
  if (args.flags.has('--json')) console.log(JSON.stringify({ interface: iface, shared: false }));
  else console.log(`${iface} is no longer shared; its own configuration is active again`);
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
    if (!['list', 'share', 'unshare'].includes(args.command)) throw new UsageError(`unknown command '${args.command}'`);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(`shared-interface: ${err.message}`);
      console.error(USAGE);
      return 2;
    }
    throw err;
  }
  let bus: BusConnection | undefined;
  try {
    bus = await BusConnection.connect();
    if (args.command === 'list') await list(bus, args.flags.has('--json'));
    else if (args.command === 'share') await share(bus, args);
    else await unshare(bus, args);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`shared-interface: ${err.message}\n${USAGE}`);
      return 2;
    }
    if (err instanceof BusCallError) {
      // The service's message may carry a hint on its own line; show both.
      const [message, ...hint] = err.message.split('\n');
      if (args.flags.has('--json')) console.log(JSON.stringify({ error: err.errorName, message, hint: hint.join('\n').replace(/^Hint: /, '') || undefined }));
      console.error(`shared-interface: ${message ?? ''}`);
      for (const line of hint) console.error(line.startsWith('Hint: ') ? `hint: ${line.slice(6)}` : line);
      console.error(`(${err.errorName})`);
      return 1;
    }
    console.error(`shared-interface: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    bus?.close();
  }
}
