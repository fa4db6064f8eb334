// SPDX-License-Identifier: GPL-2.0-or-later
// Pure translation: NetworkManager profiles → the domain's configured state of an interface
// (what `--inactive` describes). Which profile stands for an interface, and a bridge's ports.
import * as t from '../../dbus-wire/bus-value';
import type { ConfiguredInterface, ConfiguredIpv4, ConfiguredIpv6 } from '../../bridge/interface-config';
import { connectionUuid, getSetting, type NmSettings } from './nm-settings';
import { isMacAddress } from '../../bridge/mac-address';

const ETHERNET = '802-3-ethernet';
const addressData = t.array(t.vardict);

function typeOf(settings: NmSettings): ConfiguredInterface['type'] {
  switch (getSetting(settings, 'connection', 'type', t.string)) {
    case ETHERNET: return 'ethernet';
    case 'bridge': return 'bridge';
    case 'bond': return 'bond';
    case 'vlan': return 'vlan';
    default: return 'other';
  }
}

export function interfaceNameOf(settings: NmSettings): string | undefined {
  return getSetting(settings, 'connection', 'interface-name', t.string);
}

function controllerOf(settings: NmSettings): string | undefined {
  return getSetting(settings, 'connection', 'master', t.string) ?? getSetting(settings, 'connection', 'controller', t.string);
}

function portTypeOf(settings: NmSettings): string | undefined {
  return getSetting(settings, 'connection', 'slave-type', t.string) ?? getSetting(settings, 'connection', 'port-type', t.string);
}

function addresses(settings: NmSettings, family: 'ipv4' | 'ipv6'): string[] {
  const data = getSetting(settings, family, 'address-data', addressData) ?? [];
  const out: string[] = [];
  for (const entry of data) {
    const address = entry.get('address');
    const prefix = entry.get('prefix');
    if (address?.signature === 's' && prefix?.signature === 'u') out.push(`${String(address.value)}/${String(prefix.value)}`);
  }
  return out;
}

function gateway(settings: NmSettings, family: 'ipv4' | 'ipv6'): { gateway?: string } {
  const value = getSetting(settings, family, 'gateway', t.string);
  return value === undefined || value === '' ? {} : { gateway: value };
}

function ipv4(settings: NmSettings): ConfiguredIpv4 | undefined {
  if (!settings.has('ipv4')) return undefined;
  const method = getSetting(settings, 'ipv4', 'method', t.string) ?? 'auto';
  if (method !== 'auto' && method !== 'manual') return undefined;
  const dhcp = method === 'auto';
  const ignoreDns = getSetting(settings, 'ipv4', 'ignore-auto-dns', t.boolean) === true;
  return { dhcp, addresses: addresses(settings, 'ipv4'), ...gateway(settings, 'ipv4'), ...(dhcp && ignoreDns ? { peerDns: false } : {}) };
}

function ipv6(settings: NmSettings): ConfiguredIpv6 | undefined {
  if (!settings.has('ipv6')) return undefined;
  const method = getSetting(settings, 'ipv6', 'method', t.string) ?? 'auto';
  if (method !== 'auto' && method !== 'dhcp' && method !== 'manual') return undefined;
  return { autoconf: method === 'auto', dhcp: method === 'dhcp', addresses: addresses(settings, 'ipv6'), ...gateway(settings, 'ipv6') };
}

function macOf(settings: NmSettings, deviceMac: string | undefined): string | undefined {
  const assigned = getSetting(settings, ETHERNET, 'assigned-mac-address', t.string);
  if (assigned !== undefined && isMacAddress(assigned)) return assigned.toLowerCase();
  const bound = getSetting(settings, ETHERNET, 'mac-address', t.bytes);
  if (bound !== undefined && bound.length === 6) return [...bound].map((b) => b.toString(16).padStart(2, '0')).join(':');
  return deviceMac;
}

/** What `configuredInterface` needs from the backend: every profile, and the device facts. */
export interface NmProfiles {
  readonly all: readonly NmSettings[];
  /** The profile active on each device, by interface name. */
  readonly activeOn: ReadonlyMap<string, NmSettings>;
  readonly macOf: (name: string) => string | undefined;
}

/**
 * The profile that stands for `name`: the one active on it, else the one NetworkManager would
 * pick (autoconnect, highest priority) among those bound to that interface name.
 */
export function profileFor(name: string, profiles: NmProfiles): NmSettings | undefined {
  const active = profiles.activeOn.get(name);
  if (active !== undefined) return active;
  const candidates = profiles.all.filter((s) => interfaceNameOf(s) === name);
  const rank = (s: NmSettings) => (getSetting(s, 'connection', 'autoconnect', t.boolean) === false ? -10_000 : 0) + (getSetting(s, 'connection', 'autoconnect-priority', t.int32) ?? 0);
  return candidates.sort((a, b) => rank(b) - rank(a))[0];
}

function configuredFrom(settings: NmSettings, name: string, profiles: NmProfiles, depth: number): ConfiguredInterface {
  const type = typeOf(settings);
  const mtu = getSetting(settings, ETHERNET, 'mtu', t.uint32);
  const isPort = controllerOf(settings) !== undefined;
  const v4 = isPort ? undefined : ipv4(settings);
  const v6 = isPort ? undefined : ipv6(settings);
  const mac = macOf(settings, profiles.macOf(name));
  const base: ConfiguredInterface = {
    name,
    type,
    startOnBoot: getSetting(settings, 'connection', 'autoconnect', t.boolean) ?? true,
    ...(mac === undefined ? {} : { mac }),
    ...(mtu === undefined || mtu === 0 ? {} : { mtu }),
    ...(v4 === undefined ? {} : { ipv4: v4 }),
    ...(v6 === undefined ? {} : { ipv6: v6 }),
  };
  const ports = (portType: string): ConfiguredInterface[] => {
    if (depth > 2) return [];
    const ids = new Set([connectionUuid(settings), name]);
    const byName = new Map<string, NmSettings>();
    for (const s of profiles.all) {
      const portName = interfaceNameOf(s);
      const controller = controllerOf(s);
      if (portName === undefined || controller === undefined || !ids.has(controller) || portTypeOf(s) !== portType) continue;
      // Several profiles may be ports for one interface: the one that stands for it counts.
      if (profileFor(portName, profiles) === s || !byName.has(portName)) byName.set(portName, s);
    }
    return [...byName].sort(([a], [b]) => (a < b ? -1 : 1)).map(([portName, s]) => configuredFrom(s, portName, profiles, depth + 1));
  };
  switch (type) {
    case 'bridge':
      return {
        ...base,
        bridge: {
          // NetworkManager's defaults: spanning tree on, 15 s.
          stp: getSetting(settings, 'bridge', 'stp', t.boolean) ?? true,
          forwardDelay: getSetting(settings, 'bridge', 'forward-delay', t.uint32) ?? 15,
          ports: ports('bridge'),
        },
      };
    case 'bond': {
      const mode = getSetting(settings, 'bond', 'options', t.dict(t.string))?.get('mode');
      return { ...base, bond: { ...(mode === undefined ? {} : { mode }), ports: ports('bond') } };
    }
    case 'vlan': {
      const id = getSetting(settings, 'vlan', 'id', t.uint32);
      const parent = getSetting(settings, 'vlan', 'parent', t.string);
      return id === undefined || parent === undefined ? base : { ...base, vlan: { id, parent } };
    }
    default:
      return base;
  }
}

/** The configured state of `name`, or undefined when no profile stands for it. */
export function configuredInterface(name: string, profiles: NmProfiles): ConfiguredInterface | undefined {
  const settings = profileFor(name, profiles);
  return settings === undefined ? undefined : configuredFrom(settings, name, profiles, 0);
}
