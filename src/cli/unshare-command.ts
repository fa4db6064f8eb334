// `shared-interface unshare IFACE`: the bridge goes away and the interface's own configuration comes back.
import * as t from '../bus/bus-value';
import { flagValue, stringValue, type CliCommand, type Invocation } from './command';
import { callService, changeTimeoutMs } from './cli-service';
import { writeJson } from './cli-output';
import { INTERFACE_ARGUMENT, ROLLBACK_TIMEOUT_OPTION } from './share-command';

async function run(invocation: Invocation): Promise<void> {
  const iface = invocation.positionals[0] ?? '';
  const { values, output } = invocation;
  const options: Record<string, t.Variant> = {};
  if (flagValue(values, 'force')) options['force'] = t.makeVariant('b', true);
  const rollback = stringValue(values, 'rollback-timeout');
  if (rollback !== undefined) options['rollback-timeout'] = t.makeVariant('u', Number(rollback));
  await callService(await invocation.bus(), 'Unshare', 'sa{sv}', [iface, options], changeTimeoutMs());
  if (invocation.json) writeJson(output, { interface: iface, shared: false });
  else output.out(`${iface} is no longer shared; its own configuration is active again`);
}

export const unshareCommand: CliCommand = {
  name: 'unshare',
  summary: 'Stop sharing an interface; its own configuration comes back.',
  description: 'Removes the bridge IFACE is shared through and activates IFACE\'s own configuration again, verified like share. Refused while guests are attached to the bridge, unless --force.',
  positionals: [{ ...INTERFACE_ARGUMENT, help: 'The shared network interface, e.g. eth0.' }],
  options: {
    force: { type: 'boolean', short: 'f', help: 'Unshare even if guests are still attached to the bridge (they lose the network).' },
    'rollback-timeout': ROLLBACK_TIMEOUT_OPTION,
  },
  run,
};
