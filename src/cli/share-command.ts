// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface share IFACE`: the interface becomes a port of a bridge that guests attach to.
import * as t from '../dbus-wire/bus-value';
import { interfaceNameProblem } from '../bridge/interface-name';
import type { OptionName } from '../bridge/request-options';
import { flagValue, stringValue, UsageError, type CliCommand, type Invocation } from './command';
import { changeTimeoutMs, listInterfaces } from './cli-service';
import { CONFIRM_OPTION, makeChange } from './change';
import { writeJson } from './cli-output';
import { requestFlag, requestFlags, requestOptions } from './request-flags';

export const INTERFACE_ARGUMENT = { name: 'IFACE', check: interfaceNameProblem, complete: 'interfaces' } as const;

export const ROLLBACK_TIMEOUT_OPTION = requestFlag('rollbackTimeout');

// Share's options but confirm-timeout, which --confirm sets (change.ts: it also confirms).
const SHARE_FLAGS: readonly OptionName[] = ['bridge', 'mode', 'stp', 'forwardDelay', 'rollbackTimeout', 'persist', 'firewall'];

async function run(invocation: Invocation): Promise<number | void> {
  const iface = invocation.positionals[0] ?? '';
  const { values, output } = invocation;
  const options = requestOptions(SHARE_FLAGS, values);
  const asked = stringValue(values, 'mode');
  if (flagValue(values, 'routed')) {
    if (asked !== undefined && asked !== 'routed') throw new UsageError(`--routed and --mode=${asked} contradict each other`, 'share');
    options['mode'] = t.makeVariant('s', 'routed');
  }
  const delay = stringValue(values, 'forward-delay');
  const bus = await invocation.bus();
  // Say beforehand what sharing will change that the user may not expect.
  const notes = (await listInterfaces(bus)).find((i) => i.name === iface)?.notes ?? [];
  for (const note of notes) output.err(`note: ${iface}: ${note}`);
  const timeout = changeTimeoutMs({ stp: flagValue(values, 'stp'), forwardDelay: delay === undefined ? 0 : Number(delay) });
  const { reply: [result], confirmed, exit } = await makeChange(invocation, 'Share', iface, options, timeout);
  const name = t.string.decode(result, 'Share reply');
  // What auto chose is the service's to say: its listing tells how the NIC is shared now.
  const requested = options['mode'] === undefined ? 'bridge' : String(options['mode'].value);
  const mode = requested === 'auto' ? (await listInterfaces(bus)).find((i) => i.name === iface)?.mode || 'bridge' : requested;
  const how = mode === 'routed' ? 'shared routed' : 'shared';
  if (invocation.json) writeJson(output, { interface: iface, bridge: name, mode, notes, ...(confirmed === undefined ? {} : { confirmed }) });
  else if (confirmed !== false) output.out(`${iface} is ${how} through bridge ${name}; attach guests to ${name} (libvirt: <interface type='bridge'><source bridge='${name}'/></interface>)`);
  return exit;
}

export const shareCommand: CliCommand = {
  name: 'share',
  summary: 'Share an interface with VM guests through a bridge.',
  description: 'Makes IFACE a port of a new bridge that keeps the host\'s addresses and MAC, so guests attached to the bridge are on the same LAN as the host. With --routed (for Wi-Fi, or a switch port that accepts only the host\'s MAC), IFACE stays as it is and the guests\' bridge has no port to the LAN: the host relays their DHCP to the LAN\'s server, answers ARP for them and routes to each. The change is verified and rolled back if it cannot be (exit status 4).',
  positionals: [{ ...INTERFACE_ARGUMENT, help: 'The network interface to share, e.g. eth0.' }],
  options: {
    ...requestFlags(SHARE_FLAGS),
    bridge: requestFlag('bridge', { short: 'b', valueName: 'NAME', check: interfaceNameProblem }),
    routed: { type: 'boolean', help: 'Share routed: the same as --mode=routed.' },
    confirm: CONFIRM_OPTION,
  },
  run,
};
