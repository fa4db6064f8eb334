// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface-firewall up|down BRIDGE`: the rules a shared bridge needs, added when it comes
// up and removed when it goes down, while our daemon is not running (after a reboot, or a restart
// of NetworkManager). NetworkManager's dispatcher script and initscripts' ifup-local/ifdown-local
// hooks call it; the decision is the daemon's own (src/bridge/firewall.ts), so there is one source
// of the rules. A composition root like main.ts: no logic beyond the arguments and the exit code.
import { FirewallKeeper } from './bridge/firewall-keeper';
import { interfaceNameProblem } from './bridge/interface-name';
import { errorMessage, journalLog } from './bridge/log';
import { FirewallTools } from './settings/firewall/firewall-tools';

const USAGE = 'usage: shared-interface-firewall up|down BRIDGE\n  up: accept traffic within BRIDGE where the firewall would drop it; down: remove our rules for BRIDGE';

export async function main(argv: readonly string[]): Promise<number> {
  const [verb, bridge, ...extra] = argv;
  const problem = bridge === undefined ? 'no bridge given' : interfaceNameProblem(bridge);
  if ((verb !== 'up' && verb !== 'down') || bridge === undefined || problem !== undefined || extra.length > 0) {
    console.error(`shared-interface-firewall: ${problem ?? 'unexpected arguments'}\n${USAGE}`);
    return 2;
  }
  const log = journalLog();
  const keeper = new FirewallKeeper(new FirewallTools(), log);
  try {
    if (verb === 'up') {
      const added = await keeper.allow(bridge);
      if (added.length > 0) log.info(`shared-interface-firewall: accepting traffic within ${bridge} in ${added.join(', ')}`);
    } else {
      const removed = await keeper.forget(bridge);
      if (removed > 0) log.info(`shared-interface-firewall: removed ${removed} rule(s) of ours for ${bridge}`);
    }
    return 0;
  } catch (err) {
    log.error(`shared-interface-firewall: ${verb} ${bridge}: ${errorMessage(err)}`);
    return 1;
  }
}
