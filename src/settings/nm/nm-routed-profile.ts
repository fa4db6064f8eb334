// SPDX-License-Identifier: GPL-2.0-or-later
// Pure translation: a routed share plan → the one NetworkManager profile it makes, the guests'
// bridge. The NIC is not its port and keeps its own profile untouched; the bridge has no IP
// configuration of its own (ipv4 and ipv6 disabled): the data plane lends it the NIC's address as
// a /32 and routes each guest to it, and NetworkManager 1.42 leaves both alone on a bridge whose
// IPv4 is disabled (settings/routed/routed-agent-control.ts says what the data plane needs).
import { randomUUID } from 'node:crypto';
import * as t from '../../dbus-wire/bus-value';
import type { SharePlan } from '../../bridge/share-plan';
import { TAG_BRIDGE, TAG_FIREWALL, TAG_NIC, TAG_ORIGINAL, TAG_ROLE, setSetting, type NmSettings } from './nm-settings';

/** The role tag of the guests' bridge of a routed share: neither the firewall hook's 'bridge' nor a 'port'. */
export const ROUTED_ROLE = 'routed';

/**
 * `zone`: the firewalld zone of the NIC's own (system-wide) profile. The guests' traffic is
 * forwarded between the NIC and the bridge, which firewalld lets through within a zone.
 */
export function routedBridgeProfile(plan: Pick<SharePlan, 'nic' | 'bridge'> & Partial<Pick<SharePlan, 'firewall'>>, newUuid: () => string = randomUUID, zone?: string): NmSettings {
  const bridge: NmSettings = new Map();
  setSetting(bridge, 'connection', 'id', t.string, `${plan.bridge} (routed guests of ${plan.nic})`);
  setSetting(bridge, 'connection', 'uuid', t.string, newUuid());
  setSetting(bridge, 'connection', 'type', t.string, 'bridge');
  setSetting(bridge, 'connection', 'interface-name', t.string, plan.bridge);
  setSetting(bridge, 'connection', 'autoconnect', t.boolean, true);
  if (zone) setSetting(bridge, 'connection', 'zone', t.string, zone);
  // A bridge without ports is up only with this: NM would otherwise wait for a port to carry it.
  setSetting(bridge, 'bridge', 'stp', t.boolean, false);
  // Guests learn this MAC as the way to every LAN address (proxy ARP): it must not follow the
  // lowest MAC of the guests' taps, as an unpinned kernel bridge's does. 'stable': derived from the
  // profile, the same after every reboot.
  setSetting(bridge, '802-3-ethernet', 'assigned-mac-address', t.string, 'stable');
  setSetting(bridge, 'ipv4', 'method', t.string, 'disabled');
  setSetting(bridge, 'ipv6', 'method', t.string, 'disabled');
  setSetting(bridge, 'user', 'data', t.dict(t.string), new Map([
    [TAG_ROLE, ROUTED_ROLE], [TAG_NIC, plan.nic], [TAG_BRIDGE, plan.bridge],
    // The NIC's own profile is never replaced: nothing to bring back at Unshare.
    [TAG_ORIGINAL, ''],
    // Only when asked: the dispatcher's hook lets every other routed share through the firewall.
    ...(plan.firewall === false ? [[TAG_FIREWALL, 'no'] as const] : []),
  ]));
  return bridge;
}
