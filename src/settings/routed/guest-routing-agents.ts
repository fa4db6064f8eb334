// SPDX-License-Identifier: GPL-2.0-or-later
// The domain's GuestRouting (src/bridge/guest-routing.ts) made of the data plane's agents
// (routed-agent-control.ts: the unit instance shared-interface-routed@NIC.service where systemd
// runs, the agent process started directly where it does not, as in the sealed lab) and the lease
// probe (routed-lease-probe.ts).
import type { GuestRouting } from '../../bridge/guest-routing';
import type { Log } from '../../log';
import { findProgram, underSystemd } from '../host-tools/systemd-run';
import { processRoutedAgents, systemdRoutedAgents, type RoutedAgents, type RoutedState } from './routed-agent-control';
import { probeLease, udhcpcCommand } from './routed-lease-probe';

/** What the agent does now, in a line for Progress. */
export function describeRouting(state: RoutedState): string {
  const relay = state.dhcpServer === null ? `broadcast on ${state.uplink}` : `to ${state.dhcpServer}`;
  if (state.phase === 'waiting') return `routing for the guests on ${state.bridge} waits: ${state.message ?? `${state.uplink} has no IPv4 address`}`;
  return `routing for the guests on ${state.bridge}: their DHCP relayed ${relay} from ${state.uplink}'s ${state.uplinkAddress ?? 'address'}, ARP answered for them on ${state.uplink}, a route to each`;
}

export function guestRouting(agents: RoutedAgents): GuestRouting {
  return {
    lacking: () => {
      const lacks = [
        ...(findProgram('dnsmasq') === undefined ? ['dnsmasq (the DHCP relay)'] : []),
        ...(udhcpcCommand() === undefined ? ['busybox\'s udhcpc (the probe that proves a lease comes through)'] : []),
      ];
      return lacks.length === 0 ? undefined : lacks.join(' and ');
    },
    start: async (nic, bridge) => describeRouting(await agents.start({ uplink: nic, bridge })),
    stop: (nic) => agents.stop(nic),
    probeLease: (bridge, timeoutMs) => probeLease(bridge, timeoutMs),
  };
}

/**
 * Under systemd, the unit instance, not enabled: NetworkManager's dispatcher starts it whenever the
 * guests' bridge comes up (after a reboot, a restart of NetworkManager), as NetworkManager owns
 * the bridge. Elsewhere the agent as a process of its own.
 */
export function hostGuestRouting(log: Log): GuestRouting {
  return guestRouting(underSystemd() === undefined ? processRoutedAgents({ log }) : systemdRoutedAgents({ log }));
}
