// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface unshare IFACE`: the bridge goes away and the interface's own configuration comes back.
import type { CliCommand, Invocation } from './command';
import { changeTimeoutMs } from './cli-service';
import { CONFIRM_OPTION, makeChange } from './change';
import { writeJson } from './cli-output';
import { INTERFACE_ARGUMENT } from './share-command';
import { requestFlag, requestOptions } from './request-flags';

async function run(invocation: Invocation): Promise<number | void> {
  const iface = invocation.positionals[0] ?? '';
  const { values, output } = invocation;
  const options = requestOptions(['force', 'rollbackTimeout'], values);
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
    force: requestFlag('force'),
    'rollback-timeout': requestFlag('rollbackTimeout'),
    confirm: CONFIRM_OPTION,
  },
  run,
};
