// SPDX-License-Identifier: GPL-2.0-or-later
// Pure translation: ifcfg files → the domain's configured state of an interface (what
// `--inactive` describes; netcf, libvirt's old writable backend, read the same files this way).
import type { ConfiguredInterface } from '../../bridge/interface-config';
import { shvarGet, type ShvarFile } from './ifcfg-shvar';
import { readIfcfgIpConfig } from './ifcfg-ip-reader';

const isYes = (v: string | undefined): boolean => v !== undefined && /^(yes|true|y|t|1|on)$/i.test(v);
const isNo = (v: string | undefined): boolean => v !== undefined && /^(no|false|n|f|0|off)$/i.test(v);

function typeOf(file: ShvarFile, device: string): ConfiguredInterface['type'] {
  const type = (shvarGet(file, 'TYPE') ?? '').toLowerCase();
  if (type === 'bridge') return 'bridge';
  if (type === 'bond' || shvarGet(file, 'BONDING_OPTS') !== undefined) return 'bond';
  if (type === 'vlan' || isYes(shvarGet(file, 'VLAN')) || /\.[0-9]+$/.test(device)) return 'vlan';
  return type === '' || type === 'ethernet' ? 'ethernet' : 'other';
}

function withPrefix(a: { address: string; prefix: number }): string {
  return `${a.address}/${a.prefix}`;
}

function configured(device: string, files: ReadonlyMap<string, ShvarFile>, macOf: (name: string) => string | undefined, depth: number): ConfiguredInterface | undefined {
  const file = files.get(device);
  if (file === undefined) return undefined;
  const type = typeOf(file, device);
  const ip = readIfcfgIpConfig(file);
  const isPort = ['BRIDGE', 'MASTER'].some((k) => (shvarGet(file, k) ?? '') !== '');
  const mac = (shvarGet(file, 'MACADDR') || shvarGet(file, 'HWADDR') || macOf(device) || '').toLowerCase();
  const base: ConfiguredInterface = {
    name: device,
    type,
    startOnBoot: !isNo(shvarGet(file, 'ONBOOT')),
    ...(mac === '' ? {} : { mac }),
    ...(ip.mtu === undefined ? {} : { mtu: ip.mtu }),
    ...(isPort || (!ip.dhcp && ip.ipv4Addresses.length === 0) ? {} : {
      ipv4: {
        dhcp: ip.dhcp, addresses: ip.ipv4Addresses.map(withPrefix),
        ...(ip.ipv4Gateway === undefined ? {} : { gateway: ip.ipv4Gateway }),
        ...(ip.dhcp && isNo(shvarGet(file, 'PEERDNS')) ? { peerDns: false } : {}),
      },
    }),
    ...(isPort || !ip.ipv6Init ? {} : {
      ipv6: {
        autoconf: ip.ipv6Autoconf, dhcp: ip.dhcpv6, addresses: ip.ipv6Addresses.map(withPrefix),
        ...(ip.ipv6Gateway === undefined ? {} : { gateway: ip.ipv6Gateway }),
      },
    }),
  };
  const ports = (key: 'BRIDGE' | 'MASTER'): ConfiguredInterface[] => {
    if (depth > 2) return [];
    return [...files].filter(([, f]) => shvarGet(f, key) === device).map(([name]) => name).sort()
      .map((name) => configured(name, files, macOf, depth + 1)).filter((p): p is ConfiguredInterface => p !== undefined);
  };
  switch (type) {
    case 'bridge': {
      const delay = Number(shvarGet(file, 'DELAY') ?? '');
      // initscripts leave the kernel's defaults alone: no spanning tree, 15 s.
      return { ...base, bridge: { stp: isYes(shvarGet(file, 'STP')), forwardDelay: Number.isFinite(delay) && (shvarGet(file, 'DELAY') ?? '') !== '' ? delay : 15, ports: ports('BRIDGE') } };
    }
    case 'bond': {
      const mode = /(?:^|\s)mode=(\S+)/.exec(shvarGet(file, 'BONDING_OPTS') ?? '')?.[1];
      return { ...base, bond: { ...(mode === undefined ? {} : { mode }), ports: ports('MASTER') } };
    }
    case 'vlan': {
      const physdev = shvarGet(file, 'PHYSDEV');
      const match = /^(.+)\.([0-9]+)$/.exec(device);
      const parent = physdev ?? match?.[1];
      const id = Number(shvarGet(file, 'VLAN_ID') ?? match?.[2]);
      return parent === undefined || !Number.isInteger(id) ? base : { ...base, vlan: { id, parent } };
    }
    default:
      return base;
  }
}

/**
 * The configured state of `device` from the ifcfg files (by device name), with a bridge's or
 * bond's ports; undefined when it has no file.
 */
export function ifcfgConfiguredInterface(device: string, files: ReadonlyMap<string, ShvarFile>, macOf: (name: string) => string | undefined): ConfiguredInterface | undefined {
  return configured(device, files, macOf, 0);
}
