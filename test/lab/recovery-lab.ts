// SPDX-License-Identifier: GPL-2.0-or-later
// What the recovery tests and the bench's recovery part share: faults mounted in the sealed lab,
// and the state they must end in.
import type { Lab } from './lab';
import { activeProfiles, ipv4, links } from './nm-state';

/** Our profiles as NetworkManager lists them (on disk or in memory). */
export async function ourProfiles(lab: Lab): Promise<string[]> {
  const out = await lab.sh('nmcli -t -f NAME connection show');
  return out.trim().split('\n').filter((name) => name.includes('br-eth0'));
}

/** eth0 on "Wired eth0" with its IPv4 address of before, no br-eth0, no profile of ours. */
export async function restored(lab: Lab, address: string | undefined): Promise<true | undefined> {
  const now = await links(lab);
  if (now.has('br-eth0') || ipv4(now.get('eth0')) !== address) return undefined;
  if (!(await activeProfiles(lab)).includes('Wired eth0:eth0')) return undefined;
  return (await ourProfiles(lab)).length === 0 ? true : undefined;
}

export async function pauseDhcp(lab: Lab): Promise<void> {
  await lab.sh(`kill -STOP "$(cat ${lab.dir}/dnsmasq.pid)"`);
}

export async function resumeDhcp(lab: Lab): Promise<void> {
  await lab.sh(`kill -CONT "$(cat ${lab.dir}/dnsmasq.pid)"`);
}

/**
 * NetworkManager killed and started again while a change waits for a lease: its own "startup
 * complete" would wait for that lease too, so only its name on the bus is awaited here.
 */
export async function restartNetworkManagerMidChange(lab: Lab): Promise<void> {
  await lab.stopNetworkManager();
  await lab.sh(`NetworkManager --no-daemon >>${lab.dir}/nm.log 2>&1 & echo $! >${lab.dir}/nm.pid
    for _ in $(seq 300); do busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.freedesktop.NetworkManager | grep -q true && exit 0; sleep 0.1; done; exit 1`);
}
