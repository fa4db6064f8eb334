// SPDX-License-Identifier: GPL-2.0-or-later
// Pure translation: a share plan plus the NIC's original profile → the two NetworkManager
// profiles that make the share (a bridge, and a port for the NIC with `master` set). The bridge
// takes the original's IP settings whole (DHCP or static, addresses, gateway, routes, DNS, DHCP
// client id and hostname, every key we don't model); the port takes the rest of it. Only from a
// system-wide original: a user's private profile is never copied into ours (nm-profile-owner).
import { randomUUID } from 'node:crypto';
import * as t from '../../dbus-wire/bus-value';
import { ShareError } from '../../bridge/share-error';
import type { SharePlan } from '../../bridge/share-plan';
import { isPrivateProfile, privateProfileRefusal } from './nm-profile-owner';
import {
  TAG_BRIDGE, TAG_FIREWALL, TAG_NIC, TAG_ORIGINAL, TAG_ROLE, cloneSettings, connectionUuid, deleteSetting, getSetting, setSetting,
  type NmSettings,
} from './nm-settings';

// connection.autoconnect-priority is limited to -999..999 by NetworkManager.
const MAX_AUTOCONNECT_PRIORITY = 999;
// NMSettingIP6ConfigAddrGenMode.
export const ADDR_GEN_MODE_EUI64 = 0;
export const ADDR_GEN_MODE_STABLE_PRIVACY = 1;
// The IP settings move to the bridge; a port has none.
const IP_SETTINGS = ['ipv4', 'ipv6', 'proxy'];
// Connection keys that act on the interface carrying the host's addresses, so they move with them.
// secondaries: the VPNs NM starts once the profile is up, over the host's addresses; on a port
// (no IP configuration) they could not run, and NM fails the base profile when a secondary fails.
// mdns, llmnr, dns-over-tls: per-link DNS behaviour, for the link with the DNS servers; metered:
// NM takes it from the device with the default route.
const IP_CONNECTION_KEYS = ['secondaries', 'mdns', 'llmnr', 'dns-over-tls', 'metered'];
// Per-activation facts NetworkManager keeps in a profile, not the user's configuration.
const VOLATILE_CONNECTION_KEYS = ['uuid', 'id', 'timestamp', 'master', 'slave-type', 'controller', 'port-type', 'read-only'];

export interface ShareProfiles {
  readonly bridge: NmSettings;
  readonly port: NmSettings;
}

/** NM's connection type for a NIC that has no profile yet. */
function connectionTypeFor(nicType: SharePlan['nicType']): string {
  switch (nicType) {
    case 'bond': return 'bond';
    case 'team': return 'team';
    case 'vlan': return 'vlan';
    default: return '802-3-ethernet';
  }
}

function tags(plan: SharePlan, role: 'bridge' | 'port', original: NmSettings | undefined): Map<string, string> {
  return new Map([
    [TAG_ROLE, role],
    [TAG_NIC, plan.nic],
    [TAG_BRIDGE, plan.bridge],
    [TAG_ORIGINAL, original === undefined ? '' : connectionUuid(original)],
    // Only when asked: the dispatcher script lets every other bridge of ours through the firewall.
    ...(role === 'bridge' && plan.firewall === false ? [[TAG_FIREWALL, 'no'] as const] : []),
  ]);
}

/**
 * The bridge and port profiles. An original from a system-wide profile only: the backend refuses a
 * NIC whose active profile is private before it gets here, and this refuses again, in case that
 * profile came up in between.
 */
export function shareProfiles(plan: SharePlan, original: NmSettings | undefined, newUuid: () => string = randomUUID): ShareProfiles {
  if (original !== undefined && isPrivateProfile(original)) {
    const refusal = privateProfileRefusal(plan.nic);
    throw new ShareError('NotShareable', `${plan.nic} cannot be shared: ${refusal.reason}`, refusal.hint);
  }
  const bridgeUuid = newUuid();
  const originalPriority = original === undefined ? 0 : getSetting(original, 'connection', 'autoconnect-priority', t.int32) ?? 0;

  const bridge: NmSettings = new Map();
  setSetting(bridge, 'connection', 'id', t.string, `${plan.bridge} (shares ${plan.nic})`);
  setSetting(bridge, 'connection', 'uuid', t.string, bridgeUuid);
  setSetting(bridge, 'connection', 'type', t.string, 'bridge');
  setSetting(bridge, 'connection', 'interface-name', t.string, plan.bridge);
  setSetting(bridge, 'connection', 'autoconnect', t.boolean, true);
  setSetting(bridge, 'connection', 'autoconnect-slaves', t.int32, 1);
  // The host's address moves to the bridge, so its firewalld zone must too (NetworkManager puts a
  // device into its profile's zone); otherwise the host would land in the default zone.
  const zone = original === undefined ? undefined : getSetting(original, 'connection', 'zone', t.string);
  if (zone) setSetting(bridge, 'connection', 'zone', t.string, zone);
  setSetting(bridge, 'bridge', 'stp', t.boolean, plan.stp);
  // NetworkManager accepts 2..30 s; without STP the kernel forwards at once whatever it is.
  if (plan.stp) setSetting(bridge, 'bridge', 'forward-delay', t.uint32, plan.forwardDelay);
  // The bridge keeps the NIC's MAC: the same DHCP lease, and neighbours' ARP caches stay right;
  // unpinned, a kernel bridge takes its lowest port MAC, which a guest could change.
  setSetting(bridge, '802-3-ethernet', 'assigned-mac-address', t.string, plan.nicMac.toUpperCase());
  const mtu = original === undefined ? undefined : getSetting(original, '802-3-ethernet', 'mtu', t.uint32);
  if (mtu !== undefined && mtu !== 0) setSetting(bridge, '802-3-ethernet', 'mtu', t.uint32, mtu);
  if (original !== undefined) {
    for (const name of IP_SETTINGS) {
      const props = original.get(name);
      if (props !== undefined) bridge.set(name, new Map(props));
    }
    const connection = original.get('connection');
    for (const key of IP_CONNECTION_KEYS) {
      const value = connection?.get(key);
      if (value !== undefined) bridge.get('connection')?.set(key, value);
    }
  } else {
    setSetting(bridge, 'ipv4', 'method', t.string, 'auto');
    setSetting(bridge, 'ipv6', 'method', t.string, 'auto');
    setSetting(bridge, 'ipv6', 'addr-gen-mode', t.int32, ADDR_GEN_MODE_EUI64);
  }
  setSetting(bridge, 'user', 'data', t.dict(t.string), tags(plan, 'bridge', original));

  const port: NmSettings = original === undefined ? new Map() : cloneSettings(original);
  // The port keeps the NIC's link settings (MAC, MTU, 802.1X: the switch authenticates the NIC's
  // link, which the bridge's frames then use), and nothing that acts where the addresses are.
  for (const name of IP_SETTINGS) port.delete(name);
  for (const key of [...VOLATILE_CONNECTION_KEYS, ...IP_CONNECTION_KEYS]) deleteSetting(port, 'connection', key);
  // Ours are system-wide, like the bridge (the original's list is empty: see above).
  deleteSetting(port, 'connection', 'permissions');
  setSetting(port, 'connection', 'id', t.string, `${plan.nic} (port of ${plan.bridge})`);
  setSetting(port, 'connection', 'uuid', t.string, newUuid());
  if (original === undefined) {
    setSetting(port, 'connection', 'type', t.string, connectionTypeFor(plan.nicType));
    setSetting(port, 'connection', 'interface-name', t.string, plan.nic);
  }
  setSetting(port, 'connection', 'master', t.string, bridgeUuid);
  setSetting(port, 'connection', 'slave-type', t.string, 'bridge');
  setSetting(port, 'connection', 'autoconnect', t.boolean, true);
  // While shared, the port must win autoconnect over the user's original profile (which we
  // leave untouched), so after a restart the bridge comes back, not the old profile.
  setSetting(port, 'connection', 'autoconnect-priority', t.int32, Math.min(originalPriority + 1, MAX_AUTOCONNECT_PRIORITY));
  const portData = new Map(getSetting(port, 'user', 'data', t.dict(t.string)) ?? []);
  for (const [key, value] of tags(plan, 'port', original)) portData.set(key, value);
  setSetting(port, 'user', 'data', t.dict(t.string), portData);
  return { bridge, port };
}

/** The profile Unshare activates when the NIC had none before: DHCP, addresses that survive renames. */
export function dhcpProfile(nic: string, nicType: SharePlan['nicType'], newUuid: () => string = randomUUID): NmSettings {
  const settings: NmSettings = new Map();
  setSetting(settings, 'connection', 'id', t.string, `Wired ${nic}`);
  setSetting(settings, 'connection', 'uuid', t.string, newUuid());
  setSetting(settings, 'connection', 'type', t.string, connectionTypeFor(nicType));
  setSetting(settings, 'connection', 'interface-name', t.string, nic);
  setSetting(settings, 'ipv4', 'method', t.string, 'auto');
  setSetting(settings, 'ipv6', 'method', t.string, 'auto');
  setSetting(settings, 'ipv6', 'addr-gen-mode', t.int32, ADDR_GEN_MODE_EUI64);
  return settings;
}

// NetworkManager hashes the interface name into stable-privacy addresses (RFC 7217), and offers no
// way to keep the old name's: say so rather than surprise the user.
export const IPV6_STABLE_PRIVACY_NOTE = 'its autoconfigured IPv6 addresses will change: its profile uses stable-privacy addresses, which depend on the interface name (set ipv6.addr-gen-mode eui64 to keep them)';

/** True when the bridge's IPv6 addresses will differ from the NIC's (they hash the interface name). */
export function ipv6AddressesWillChange(original: NmSettings | undefined): boolean {
  if (original === undefined) return false;
  const method = getSetting(original, 'ipv6', 'method', t.string) ?? 'auto';
  if (method !== 'auto' && method !== 'dhcp') return false;
  return (getSetting(original, 'ipv6', 'addr-gen-mode', t.int32) ?? ADDR_GEN_MODE_STABLE_PRIVACY) !== ADDR_GEN_MODE_EUI64;
}
