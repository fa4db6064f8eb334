// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface share IFACE`: the interface becomes a port of a bridge that guests attach to.
import * as t from '../dbus-wire/bus-value';
import { interfaceNameProblem } from '../bridge/interface-name';
import { FORWARD_DELAY_DOC, MAX_FORWARD_DELAY_SECONDS, MAX_ROLLBACK_TIMEOUT_SECONDS, DEFAULT_ROLLBACK_TIMEOUT_SECONDS } from '../bridge/share-request';
import { flagValue, secondsBetween, stringValue, type CliCommand, type Invocation } from './command';
import { changeTimeoutMs, listInterfaces } from './cli-service';
import { CONFIRM_OPTION, makeChange } from './change';
import { writeJson } from './cli-output';

export const INTERFACE_ARGUMENT = { name: 'IFACE', check: interfaceNameProblem, complete: 'interfaces' } as const;

export const ROLLBACK_TIMEOUT_OPTION = {
  type: 'string', valueName: 'SECONDS', check: secondsBetween(1, MAX_ROLLBACK_TIMEOUT_SECONDS),
  help: `Roll the change back if it is not verified within SECONDS (default ${DEFAULT_ROLLBACK_TIMEOUT_SECONDS}).`,
} as const;

async function run(invocation: Invocation): Promise<number | void> {
  const iface = invocation.positionals[0] ?? '';
  const { values, output } = invocation;
  const options: Record<string, t.Variant> = {};
  const bridge = stringValue(values, 'bridge');
  if (bridge !== undefined) options['bridge'] = t.makeVariant('s', bridge);
  if (flagValue(values, 'stp')) options['stp'] = t.makeVariant('b', true);
  const delay = stringValue(values, 'forward-delay');
  if (delay !== undefined) options['forward-delay'] = t.makeVariant('u', Number(delay));
  const rollback = stringValue(values, 'rollback-timeout');
  if (rollback !== undefined) options['rollback-timeout'] = t.makeVariant('u', Number(rollback));
  if (flagValue(values, 'no-persist')) options['persist'] = t.makeVariant('b', false);
  if (flagValue(values, 'no-firewall')) options['firewall'] = t.makeVariant('b', false);
  const bus = await invocation.bus();
  // Say beforehand what sharing will change that the user may not expect.
  const notes = (await listInterfaces(bus)).find((i) => i.name === iface)?.notes ?? [];
  for (const note of notes) output.err(`note: ${iface}: ${note}`);
  const timeout = changeTimeoutMs({ stp: flagValue(values, 'stp'), forwardDelay: delay === undefined ? 0 : Number(delay) });
  const { reply: [result], confirmed, exit } = await makeChange(invocation, 'Share', iface, options, timeout);
  const name = t.string.decode(result, 'Share reply');
  if (invocation.json) writeJson(output, { interface: iface, bridge: name, notes, ...(confirmed === undefined ? {} : { confirmed }) });
  else if (confirmed !== false) output.out(`${iface} is shared through bridge ${name}; attach guests to ${name} (libvirt: <interface type='bridge'><source bridge='${name}'/></interface>)`);
  return exit;
}

export const shareCommand: CliCommand = {
  name: 'share',
  summary: 'Share an interface with VM guests through a bridge.',
  description: 'Makes IFACE a port of a new bridge that keeps the host\'s addresses and MAC, so guests attached to the bridge are on the same LAN as the host. The change is verified and rolled back if it cannot be (exit status 4).',
  positionals: [{ ...INTERFACE_ARGUMENT, help: 'The network interface to share, e.g. eth0.' }],
  options: {
    bridge: { type: 'string', short: 'b', valueName: 'NAME', help: 'The bridge\'s name (default: derived from IFACE, e.g. br-eth0).', check: interfaceNameProblem },
    stp: { type: 'boolean', help: 'Turn on the spanning tree protocol on the bridge (default: off).' },
    'forward-delay': { type: 'string', valueName: 'SECONDS', help: FORWARD_DELAY_DOC, check: secondsBetween(0, MAX_FORWARD_DELAY_SECONDS) },
    'rollback-timeout': ROLLBACK_TIMEOUT_OPTION,
    'no-persist': { type: 'boolean', help: 'Keep the change in memory only: a reboot or a restart of NetworkManager undoes it.' },
    confirm: CONFIRM_OPTION,
    'no-firewall': { type: 'boolean', help: 'Leave the firewall alone, even where it would drop the guests\' traffic across the bridge (default: add rules accepting it, see the notes).' },
  },
  run,
};
