// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface-routed-hook up|down BRIDGE --nm-keyfile FILE [--state-dir DIR]`: NetworkManager's
// dispatcher script runs it when a routed share's guests' bridge comes up or goes down, so the data
// plane follows the bridge NetworkManager owns (after a reboot, a restart of NetworkManager, `nmcli
// connection down|up`) while our daemon is not running. Whose profile it is comes from the daemon's
// own rule (nm-dispatcher-profile.ts's routedHookAction, ourTag); while the daemon changes that NIC
// (its change record exists) the daemon starts and stops the data plane itself, and this does
// nothing. The share's firewall rules (src/bridge/firewall.ts) follow the bridge too, as the
// firewall hook's do for a bridged share. A composition root like main.ts: the arguments, the
// keyfile, the exit code.
import { parseArgs } from 'node:util';
import { interfaceNameProblem } from './bridge/interface-name';
import { FirewallKeeper } from './bridge/firewall-keeper';
import { errorMessage, journalLog, type Log } from './log';
import { FirewallTools } from './settings/firewall/firewall-tools';
import { readIfExists } from './settings/durable-file';
import { DEFAULT_IFCFG_CONFIG } from './settings/ifcfg/ifcfg-state';
import { NmChangeRecords } from './settings/nm/nm-change-record';
import { routedHookAction } from './settings/nm/nm-dispatcher-profile';
import { hostGuestRouting } from './settings/routed/guest-routing-agents';

const USAGE = `usage: shared-interface-routed-hook up|down BRIDGE --nm-keyfile FILE [--state-dir DIR]
  up: start the data plane of the NIC whose routed share FILE (a system-wide profile of ours for
  BRIDGE) is; down: stop it. --state-dir: the daemon's (default ${DEFAULT_IFCFG_CONFIG.stateDir}).`;


async function keepFirewall(log: Log, action: 'start' | 'stop', bridge: string, nic: string): Promise<void> {
  const keeper = new FirewallKeeper(new FirewallTools(), log);
  if (action === 'start') {
    const added = await keeper.allow(bridge, nic);
    if (added.length > 0) log.info(`shared-interface-routed-hook: accepting traffic between ${bridge} and ${nic} in ${added.join(', ')}`);
  } else {
    const removed = await keeper.forget(bridge);
    if (removed > 0) log.info(`shared-interface-routed-hook: removed ${removed} firewall rule(s) of ours for ${bridge}`);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { 'nm-keyfile': { type: 'string' }, 'state-dir': { type: 'string' } } });
  } catch (err) {
    console.error(`shared-interface-routed-hook: ${errorMessage(err)}\n${USAGE}`);
    return 2;
  }
  const [verb, bridge, ...extra] = parsed.positionals;
  const keyfile = parsed.values['nm-keyfile'];
  const stateDir = parsed.values['state-dir'] ?? DEFAULT_IFCFG_CONFIG.stateDir;
  const problem = bridge === undefined ? 'no bridge given' : interfaceNameProblem(bridge);
  if ((verb !== 'up' && verb !== 'down') || bridge === undefined || problem !== undefined || extra.length > 0 || keyfile === undefined || !stateDir.startsWith('/')) {
    console.error(`shared-interface-routed-hook: ${problem ?? 'unexpected arguments'}\n${USAGE}`);
    return 2;
  }
  const log = journalLog();
  try {
    const decided = routedHookAction(verb, bridge, (await readIfExists(keyfile))?.toString('utf8'));
    if (decided.action === 'nothing') {
      log.debug(`shared-interface-routed-hook: ${keyfile} is no system-wide routed profile of ours for ${bridge}: nothing to do`);
      return 0;
    }
    // The firewall's rules follow the bridge whoever changes it: an Unshare rolled back brings the
    // bridge up again, and its rules with it, as the firewall hook does for a bridged share.
    // A firewall that refuses is logged; the data plane is still started or stopped.
    if (decided.firewall || decided.action === 'stop') {
      await keepFirewall(log, decided.action, bridge, decided.nic).catch((err: unknown) => log.error(`shared-interface-routed-hook: the firewall's rules for ${bridge}: ${errorMessage(err)}`));
    }
    if (await new NmChangeRecords(NmChangeRecords.directory(stateDir), log).exists(decided.nic)) {
      log.info(`shared-interface-routed-hook: the daemon is changing ${decided.nic}; its routing is the daemon's to ${decided.action}`);
      return 0;
    }
    const routing = hostGuestRouting(log);
    if (decided.action === 'start') log.info(`shared-interface-routed-hook: ${await routing.start(decided.nic, bridge)}`);
    else {
      await routing.stop(decided.nic);
      log.info(`shared-interface-routed-hook: stopped routing for the guests of ${decided.nic} (${bridge} went down)`);
    }
    return 0;
  } catch (err) {
    log.error(`shared-interface-routed-hook: ${verb} ${bridge}: ${errorMessage(err)}`);
    return 1;
  }
}
