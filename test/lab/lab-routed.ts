// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's model of an uplink that cannot be bridged, and routed sharing driven inside the lab:
//   - lockLanToMac: the LAN drops every frame whose source MAC is not the host's (an nftables
//     `netdev` ingress filter on the LAN end of the veth), which is what a Wi-Fi access point does
//     to a station's frames from other MACs, and a switch port with port security;
//   - addLanHost: another machine on the LAN, for a guest to reach;
//   - routedAgentsInLab: routed-agent-control.ts's processRoutedAgents run inside the lab (its PID 1
//     is no systemd), as the daemon there would call it;
//   - routedHostSnapshot: what routed sharing may change on the host (sysctls, addresses, routes,
//     proxy entries, the processes it starts), to compare before and after.
import { join } from 'node:path';
import type { Lab } from './lab';
import { REPO_ROOT } from './lab';
import type { RoutedLinks, RoutedState } from '../../src/settings/routed/routed-agent-control';

/** The table lockLanToMac adds in the LAN's namespace. */
const LOCK_TABLE = 'locked_port';

export async function lockLanToMac(lab: Lab, mac: string): Promise<void> {
  await lab.exec(['ip', 'netns', 'exec', 'lan', 'nft', '-f', '-'], {
    input: `table netdev ${LOCK_TABLE} {
  chain ingress {
    type filter hook ingress device "lan0" priority filter; policy accept;
    ether saddr != ${mac} counter drop
  }
}
`,
  });
}

/** Frames the locked LAN dropped so far (other source MACs than the host's). */
export async function lockedLanDrops(lab: Lab): Promise<number> {
  const json = JSON.parse(await lab.sh(`ip netns exec lan nft -j list table netdev ${LOCK_TABLE}`)) as { nftables?: Array<{ rule?: { expr?: Array<{ counter?: { packets?: number } }> } }> };
  let packets = 0;
  for (const item of json.nftables ?? []) for (const expr of item.rule?.expr ?? []) packets += expr.counter?.packets ?? 0;
  return packets;
}

/** A machine on the LAN (a network namespace on the LAN's bridge) with a fixed address. */
export async function addLanHost(lab: Lab, options: { readonly name: string; readonly address: string; readonly mac: string }): Promise<void> {
  const port = `lh-${options.name}`.slice(0, 15);
  await lab.sh(`
    ip netns add ${options.name}
    ip link add ${port} type veth peer name eth0 netns ${options.name}
    ip link set ${port} netns lan
    ip -n lan link set ${port} master lanbr up
    ip -n ${options.name} link set eth0 address ${options.mac}
    ip -n ${options.name} link set lo up
    ip -n ${options.name} addr add ${options.address}/24 dev eth0
    ip -n ${options.name} link set eth0 up
    ip -n ${options.name} route add default via 192.0.2.1
  `);
}

/** A guests' bridge as NetworkManager must hold it for routed sharing (see routed-agent-control.ts). */
export async function addRoutedBridgeProfile(lab: Lab, bridge: string): Promise<void> {
  await lab.exec(['nmcli', 'connection', 'add', 'type', 'bridge', 'ifname', bridge, 'con-name', bridge,
    'bridge.stp', 'no', 'bridge.forward-delay', '0', 'ipv4.method', 'disabled', 'ipv6.method', 'disabled']);
  await lab.exec(['nmcli', '--wait', '30', 'connection', 'up', bridge]);
}

const CONTROL = join(REPO_ROOT, 'dist', 'src', 'settings', 'routed', 'routed-agent-control.js');

export interface RoutedAgentsInLab {
  readonly stateDir: string;
  readonly logPath: string;
  start(links: RoutedLinks, options?: { readonly dhcpServer?: string }): Promise<RoutedState>;
  stop(uplink: string): Promise<void>;
  status(uplink: string): Promise<RoutedState | undefined>;
}

/** processRoutedAgents, called inside the lab (pids in its state files are the lab's). */
export function routedAgentsInLab(lab: Lab): RoutedAgentsInLab {
  const stateDir = join(lab.dir, 'routed');
  const logPath = join(lab.dir, 'routed-agent.log');
  const call = async (verb: string, args: readonly unknown[]): Promise<unknown> => {
    const script = `
      const toStderr = (m) => process.stderr.write(m + '\\n');
      const log = { error: toStderr, warn: toStderr, info: toStderr, debug: toStderr };
      const agents = require(${JSON.stringify(CONTROL)}).processRoutedAgents({ stateDir: ${JSON.stringify(stateDir)}, logPath: ${JSON.stringify(logPath)}, log });
      agents[${JSON.stringify(verb)}](...${JSON.stringify(args)}).then(
        (result) => { process.stdout.write(JSON.stringify(result ?? null)); process.exit(0); },
        (err) => { process.stderr.write(String(err && err.message)); process.exit(1); });`;
    const { stdout } = await lab.exec(['node', '-e', script], { timeoutMs: 60_000 });
    return JSON.parse(stdout) as unknown;
  };
  return {
    stateDir,
    logPath,
    start: async (links, options = {}) => await call('start', [links, options]) as RoutedState,
    stop: async (uplink) => { await call('stop', [uplink]); },
    status: async (uplink) => (await call('status', [uplink]) ?? undefined) as RoutedState | undefined,
  };
}

/** Everything routed sharing of `links` may change on the host, as text lines to compare. */
export async function routedHostSnapshot(lab: Lab, links: RoutedLinks): Promise<string[]> {
  const out = await lab.sh(`
    for dev in ${links.uplink} ${links.bridge}; do
      for f in /proc/sys/net/ipv4/conf/$dev/* /proc/sys/net/ipv4/neigh/$dev/*; do
        [ -r "$f" ] && echo "sysctl $f=$(cat "$f" 2>/dev/null)"
      done
    done
    ip -4 -o addr show | sed 's/ *valid_lft.*//; s/^/addr /'
    # Without metrics: NetworkManager renumbers its own routes' metrics when it restarts; ours have none.
    ip -4 route show table all | sed 's/ metric [0-9]*//; s/^/route /'
    ip neigh show proxy | sed 's/^/proxy /'
    # What the data plane starts (the agent, dnsmasq, ping), not NetworkManager's helpers that come
    # and go by themselves; zombies are gone already (the lab's PID 1 reaps them in its own time).
    ps -e -o args= | grep -e dnsmasq -e shared-interface-routed -e '^ping ' | grep -v -e '^grep ' -e '<defunct>$' | sed 's/^/process /' || true
  `);
  return out.split('\n').filter((line) => line !== '').sort();
}

/** What differs between two snapshots: lines gone and lines added (both empty: the host is as before). */
export function snapshotChanges(before: readonly string[], after: readonly string[]): { gone: string[]; added: string[] } {
  return { gone: before.filter((line) => !after.includes(line)), added: after.filter((line) => !before.includes(line)) };
}
