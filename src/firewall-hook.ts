// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface-firewall up|down BRIDGE [--nm-keyfile FILE]`: the rules a shared bridge needs,
// added when it comes up and removed when it goes down, while our daemon is not running (after a
// reboot, or a restart of NetworkManager). NetworkManager's dispatcher script (with the profile's
// keyfile) and initscripts' ifup-local/ifdown-local hooks call it; the decisions are the daemon's
// own (src/bridge/firewall.ts for the rules, nm-profile-owner's ourTag for whose profile it is),
// so each has one source. A composition root like main.ts: no logic beyond the arguments, reading
// the keyfile and the exit code.
import { FirewallKeeper } from './bridge/firewall-keeper';
import { interfaceNameProblem } from './bridge/interface-name';
import { errorMessage, journalLog } from './log';
import { readIfExists } from './settings/durable-file';
import { FirewallTools } from './settings/firewall/firewall-tools';
import { firewallHookAction } from './settings/nm/nm-dispatcher-profile';

const USAGE = 'usage: shared-interface-firewall up|down BRIDGE [--nm-keyfile FILE]\n  up: accept traffic within BRIDGE where the firewall would drop it; down: remove our rules for BRIDGE\n  --nm-keyfile: only if FILE is the keyfile of a system-wide bridge profile of ours for BRIDGE (down: or FILE is gone)';


export async function main(argv: readonly string[]): Promise<number> {
  const [verb, bridge, ...extra] = argv;
  const problem = bridge === undefined ? 'no bridge given' : interfaceNameProblem(bridge);
  const keyfilePath = extra.length === 2 && extra[0] === '--nm-keyfile' && extra[1] !== '' ? extra[1] : undefined;
  if ((verb !== 'up' && verb !== 'down') || bridge === undefined || problem !== undefined || (extra.length > 0 && keyfilePath === undefined)) {
    console.error(`shared-interface-firewall: ${problem ?? 'unexpected arguments'}\n${USAGE}`);
    return 2;
  }
  const log = journalLog();
  const keeper = new FirewallKeeper(new FirewallTools(), log);
  try {
    if (keyfilePath !== undefined) {
      const action = firewallHookAction(verb, bridge, (await readIfExists(keyfilePath))?.toString('utf8'));
      if (action === 'nothing') {
        log.debug(`shared-interface-firewall: ${keyfilePath} is no system-wide bridge profile of ours for ${bridge} (or asks for no rules): nothing to do`);
        return 0;
      }
    }
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
