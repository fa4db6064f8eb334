// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface unshare IFACE`: the bridge goes away and the interface's own configuration comes back.
import * as t from '../dbus-wire/bus-value';
import { flagValue, stringValue, type CliCommand, type Invocation } from './command';
import { changeTimeoutMs } from './cli-service';
import { CONFIRM_OPTION, makeChange } from './change';
import { writeJson } from './cli-output';
import { INTERFACE_ARGUMENT, ROLLBACK_TIMEOUT_OPTION } from './share-command';

async function run(invocation: Invocation): Promise<number | void> {
  const iface = invocation.positionals[0] ?? '';
  const { values, output } = invocation;
  const options: Record<string, t.Variant> = {};
  if (flagValue(values, 'force')) options['force'] = t.makeVariant('b', true);
  const rollback = stringValue(values, 'rollback-timeout');
  if (rollback !== undefined) options['rollback-timeout'] = t.makeVariant('u', Number(rollback));
  const { confirmed, exit } = await makeChange(invocation, 'Unshare', iface, options, changeTimeoutMs());
  if (invocation.json) writeJson(output, { interface: iface, shared: confirmed === false, ...(confirmed === undefined ? {} : { confirmed }) });
  else if (confirmed !== false) output.out(`${iface} is no longer shared; its own configuration is active again`);
  return exit;
}

export const unshareCommand: CliCommand = {
  name: 'unshare',
  summary: 'Stop sharing an interface; its own configuration comes back.',
  description: 'Removes the bridge IFACE is shared through and activates IFACE\'s own configuration again, verified like share. Refused while guests are attached to the bridge, unless --force.',
  positionals: [{ ...INTERFACE_ARGUMENT, help: 'The shared network interface, e.g. eth0.' }],
  options: {
    force: { type: 'boolean', help: 'Unshare even if guests are still attached to the bridge (they lose the network).' },
    'rollback-timeout': ROLLBACK_TIMEOUT_OPTION,
    confirm: CONFIRM_OPTION,
  },
  run,
};
