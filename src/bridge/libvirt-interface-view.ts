// SPDX-License-Identifier: GPL-2.0-or-later
// The host as libvirt's interface XML describes it, and back. Pure translations:
//  - the live state (the kernel's links, addresses and routes) → a LibvirtInterface, as libvirt's
//    udev backend describes it (type by the kernel's kind, ports of a bridge nested, guests' taps
//    left out), plus the addresses that backend never reported;
//  - a configured state (NM profile, ifcfg file) → a LibvirtInterface, as `--inactive` asks;
//  - a LibvirtInterface a caller defines → the share it asks for, or why we can't honour it.
import type { ConfiguredInterface } from './interface-config';
import {
  isDeviceName, isMacAddress, isSchemaIpAddress, BOND_MODES,
  type LibvirtInterface, type LibvirtInterfaceType, type LibvirtLinkState, type LibvirtProtocol,
} from './libvirt-interface-xml';
import { ShareError } from './share-error';
import type { LiveHost, LiveLink } from './verify';
import type { HostInterface } from './host-network';

const LINK_STATES: readonly LibvirtLinkState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];
// The kernel's range for a bridge's forward delay with spanning tree on (seconds); NM's too.
const STP_MIN_DELAY = 2;
const STP_MAX_DELAY = 30;

function checkName(name: string): string {
  if (!isDeviceName(name)) throw new ShareError('NotSupported', `libvirt's interface XML cannot name the interface '${name}' (its device names have only letters, digits and _ . - : / \\)`);
  return name;
}

function libvirtType(kind: string | undefined): LibvirtInterfaceType {
  // As libvirt's udev backend: by the kernel's device type; anything else is an ethernet.
  return kind === 'bridge' || kind === 'bond' || kind === 'vlan' ? kind : 'ethernet';
}

function splitCidr(cidr: string): { address: string; prefix: number } {
  const [address = '', prefix = ''] = cidr.split('/');
  return { address, prefix: Number(prefix) };
}

function ips(family: 'ipv4' | 'ipv6', cidrs: readonly string[]): LibvirtProtocol['ips'] {
  return cidrs.map(splitCidr).filter((a) => isSchemaIpAddress(family, a.address)).map((a) => (Number.isInteger(a.prefix) ? { address: a.address, prefix: a.prefix } : { address: a.address }));
}

function gatewayOf(family: 'ipv4' | 'ipv6', gateway: string | undefined): { gateway?: string } {
  return gateway !== undefined && isSchemaIpAddress(family, gateway) ? { gateway } : {};
}

// ---- live ----

/** Facts the kernel's link list lacks: link speeds (sysfs), read only for the links shown. */
export type LinkSpeeds = ReadonlyMap<string, number>;

/** Links whose description is asked for, with the ports of bridges and bonds among them. */
export function linksToDescribe(host: LiveHost, name: string): string[] {
  const out = [name];
  for (const link of host.links.values()) {
    if (link.controller === name) out.push(...linksToDescribe(host, link.name));
  }
  return out;
}

function livePorts(host: LiveHost, controller: string): LiveLink[] {
  // A guest's tap (libvirt's vnetN, QEMU's tapN) is the guest's device, not the host's interface.
  return [...host.links.values()].filter((l) => l.controller === controller && l.kind !== 'tun').sort((a, b) => (a.name < b.name ? -1 : 1));
}

function liveProtocols(host: LiveHost, link: LiveLink): LibvirtProtocol[] {
  const out: LibvirtProtocol[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const n = family === 'ipv4' ? 4 : 6;
    const addresses = link.addresses.filter((a) => a.family === n && a.global);
    const gateway = host.routes.find((r) => r.family === n && r.dev === link.name && r.dst === 'default')?.gateway;
    if (addresses.length === 0 && gateway === undefined) continue;
    // A lease (DHCP, or router advertisements for IPv6) has a lifetime; an address set by hand hasn't.
    const dynamic = addresses.some((a) => a.dynamic);
    out.push({
      family,
      ...(dynamic ? (family === 'ipv4' ? { dhcp: {} } : { autoconf: true }) : {}),
      ips: ips(family, addresses.map((a) => a.cidr)),
      ...gatewayOf(family, gateway),
    });
  }
  return out;
}

function liveDefinition(host: LiveHost, link: LiveLink, speeds: LinkSpeeds, topLevel: boolean): LibvirtInterface {
  const type = libvirtType(link.kind);
  const speed = speeds.get(link.name);
  const state = LINK_STATES.find((s) => s === link.operstate);
  const base = {
    type,
    name: checkName(link.name),
    ...(topLevel && link.mtu !== undefined ? { mtu: link.mtu } : {}),
    ...(topLevel ? { protocols: liveProtocols(host, link) } : {}),
    ...(type !== 'bridge' && (speed !== undefined || state !== undefined) ? { link: { ...(speed === undefined ? {} : { speed }), ...(state === undefined ? {} : { state }) } } : {}),
  };
  switch (type) {
    case 'ethernet':
      return isMacAddress(link.mac) ? { ...base, mac: link.mac } : base;
    case 'bridge':
      return {
        ...base,
        bridge: {
          ...(link.stp === undefined ? {} : { stp: link.stp }),
          ...(link.forwardDelay === undefined ? {} : { delay: link.forwardDelay }),
          // A bridge's port may be an ethernet, a bond or a VLAN: what else is on it, libvirt can't say.
          ports: livePorts(host, link.name).filter((p) => libvirtType(p.kind) !== 'bridge').map((p) => liveDefinition(host, p, speeds, false)),
        },
      };
    case 'bond': {
      const mode = BOND_MODES.find((m) => m === link.bondMode);
      const ports = livePorts(host, link.name).filter((p) => libvirtType(p.kind) === 'ethernet').map((p) => liveDefinition(host, p, speeds, false));
      // The schema wants at least one port in a <bond>; a bond with none is described without it.
      return ports.length === 0 ? { ...base, type: 'ethernet' } : { ...base, bond: { ...(mode === undefined ? {} : { mode }), ports } };
    }
    case 'vlan':
      return link.vlan === undefined || !isDeviceName(link.vlan.parent) ? { ...base, type: 'ethernet' } : { ...base, vlan: { tag: link.vlan.id, device: link.vlan.parent } };
  }
}

/** The live interface `name` as libvirt's XML describes it (`virsh iface-dumpxml NAME`). */
export function liveInterfaceDefinition(host: LiveHost, name: string, speeds: LinkSpeeds): LibvirtInterface {
  const link = host.links.get(name);
  if (link === undefined) throw new ShareError('NoSuchInterface', `there is no network interface named ${name}`);
  return liveDefinition(host, link, speeds, true);
}

// ---- configured ----

function configuredProtocols(config: ConfiguredInterface): LibvirtProtocol[] {
  const out: LibvirtProtocol[] = [];
  if (config.ipv4 !== undefined) {
    const v4 = config.ipv4;
    out.push({
      family: 'ipv4',
      ...(v4.dhcp ? { dhcp: v4.peerDns === false ? { peerdns: false } : {} } : {}),
      ips: ips('ipv4', v4.addresses),
      ...gatewayOf('ipv4', v4.gateway),
    });
  }
  if (config.ipv6 !== undefined) {
    const v6 = config.ipv6;
    out.push({
      family: 'ipv6',
      ...(v6.autoconf ? { autoconf: true } : {}),
      ...(v6.dhcp ? { dhcp: {} } : {}),
      ips: ips('ipv6', v6.addresses),
      ...gatewayOf('ipv6', v6.gateway),
    });
  }
  return out;
}

function configuredDefinition(config: ConfiguredInterface, topLevel: boolean): LibvirtInterface {
  const type: LibvirtInterfaceType = config.type === 'other' ? 'ethernet' : config.type;
  const base = {
    type,
    name: checkName(config.name),
    ...(topLevel ? { start: config.startOnBoot ? 'onboot' as const : 'none' as const } : {}),
    ...(topLevel && config.mtu !== undefined ? { mtu: config.mtu } : {}),
    ...(topLevel ? { protocols: configuredProtocols(config) } : {}),
  };
  switch (type) {
    case 'ethernet':
      return config.mac !== undefined && isMacAddress(config.mac) ? { ...base, mac: config.mac } : base;
    case 'bridge': {
      const bridge = config.bridge ?? { stp: false, forwardDelay: 0, ports: [] };
      return { ...base, bridge: { stp: bridge.stp, delay: bridge.forwardDelay, ports: bridge.ports.filter((p) => p.type !== 'bridge').map((p) => configuredDefinition(p, false)) } };
    }
    case 'bond': {
      const mode = BOND_MODES.find((m) => m === config.bond?.mode);
      const ports = (config.bond?.ports ?? []).filter((p) => p.type === 'ethernet' || p.type === 'other').map((p) => configuredDefinition(p, false));
      return ports.length === 0 ? { ...base, type: 'ethernet' } : { ...base, bond: { ...(mode === undefined ? {} : { mode }), ports } };
    }
    case 'vlan':
      return config.vlan === undefined || !isDeviceName(config.vlan.parent) ? { ...base, type: 'ethernet' } : { ...base, vlan: { tag: config.vlan.id, device: config.vlan.parent } };
  }
}

/** The configured interface as libvirt's XML describes it (`virsh iface-dumpxml --inactive`). */
export function configuredInterfaceDefinition(config: ConfiguredInterface): LibvirtInterface {
  return configuredDefinition(config, true);
}

/** An interface with nothing configured for it: only what identifies it. */
export function unconfiguredInterfaceDefinition(iface: HostInterface): LibvirtInterface {
  const name = checkName(iface.name);
  // A bond's or VLAN's own element would need a configuration to fill it in.
  if (iface.type === 'bridge') return { type: 'bridge', name, bridge: { ports: [] } };
  return { type: 'ethernet', name, ...(isMacAddress(iface.mac) ? { mac: iface.mac } : {}) };
}

// ---- defined by a caller ----

/** What a caller's bridge definition asks of Share. */
export interface DefinedShare {
  readonly nic: string;
  readonly bridge: string;
  readonly stp: boolean;
  /** Seconds; 0 for the default (only meaningful with STP on). */
  readonly forwardDelay: number;
}

/** What the host says about the NIC a definition names, for the checks. */
export interface DefinedNic {
  readonly iface: HostInterface;
  /** The kernel's MTU. */
  readonly mtu: number | undefined;
  /** The NIC as its configuration describes it (its protocols are what the bridge would take). */
  readonly configured: LibvirtInterface;
}

function notSupported(reason: string, hint?: string): ShareError {
  return new ShareError('NotSupported', `this interface definition can't be honoured: ${reason}`, hint);
}

function protocolKey(p: LibvirtProtocol): string {
  const ipsKey = p.ips.map((ip) => `${ip.address.toLowerCase()}/${ip.prefix ?? ''}`).sort().join(',');
  return `${p.family}|${p.autoconf === true}|${p.dhcp !== undefined}|${p.dhcp?.peerdns ?? ''}|${ipsKey}|${p.gateway?.toLowerCase() ?? ''}`;
}

/** The NIC a definition bridges: its one port. */
export function definedPort(def: LibvirtInterface): LibvirtInterface {
  if (def.type !== 'bridge' || def.bridge === undefined) {
    throw notSupported(`only a bridge can be defined (an <interface type='bridge'> with the NIC to share as its port, as virsh iface-bridge writes it), not an interface of type '${def.type}'`);
  }
  const ports = def.bridge.ports;
  if (ports.length === 0) throw notSupported(`the bridge ${def.name ?? ''} has no port; a bridge shares one NIC`, 'name the NIC to share inside <bridge>');
  const [port] = ports;
  if (ports.length > 1 || port === undefined) throw notSupported(`the bridge ${def.name ?? ''} has ${ports.length} ports (${ports.map((p) => p.name ?? '?').join(', ')}); a shared bridge has the one NIC it shares as its port, and guests add theirs`);
  if (port.name === undefined) throw notSupported("the bridge's port has no name");
  return port;
}

/**
 * The share a bridge definition asks for, checked against the NIC: everything the schema allows
 * that sharing can't honour is NotSupported, with the reason.
 */
export function definedShare(def: LibvirtInterface, nic: DefinedNic): DefinedShare {
  const port = definedPort(def);
  const name = port.name ?? '';
  const bridge = def.name ?? '';
  if (def.start === 'hotplug') throw notSupported("<start mode='hotplug'>: a shared bridge is up as long as it is shared, not when a device appears", "leave <start> out, or use mode='onboot'");
  if (def.start === 'none') throw notSupported("<start mode='none'>: a shared bridge comes back at boot, so the host stays on the LAN through it", "leave <start> out, or use mode='onboot'");
  const nicType = libvirtType(nic.iface.type);
  if (port.type !== nicType) throw new ShareError('InvalidArgs', `the port ${name} is described as a ${port.type} interface, but it is a${nicType === 'ethernet' ? 'n' : ''} ${nicType} interface`);
  if (port.mac !== undefined && port.mac.toLowerCase() !== nic.iface.mac.toLowerCase()) {
    throw notSupported(`<mac address='${port.mac}'> is not ${name}'s MAC ${nic.iface.mac}: the bridge keeps the NIC's MAC, so the host keeps its identity on the LAN`, `leave <mac> out, or give ${nic.iface.mac}`);
  }
  if (port.vlan !== undefined && nic.configured.vlan !== undefined && (port.vlan.tag !== nic.configured.vlan.tag || port.vlan.device !== nic.configured.vlan.device)) {
    throw notSupported(`<vlan tag='${port.vlan.tag}'> on ${port.vlan.device} is not ${name}'s own (tag ${nic.configured.vlan.tag} on ${nic.configured.vlan.device}); sharing doesn't change the VLAN`);
  }
  if (port.bond !== undefined) {
    const want = port.bond.ports.map((p) => p.name ?? '').sort().join(',');
    const have = (nic.configured.bond?.ports ?? []).map((p) => p.name ?? '').sort().join(',');
    if (nic.configured.bond !== undefined && want !== have) throw notSupported(`the bond ${name} is described with the ports ${want}, but has ${have}; sharing doesn't change the bond`);
    if (port.bond.mode !== undefined && nic.configured.bond?.mode !== undefined && port.bond.mode !== nic.configured.bond.mode) {
      throw notSupported(`the bond ${name} is described in mode ${port.bond.mode}, but is in ${nic.configured.bond.mode}; sharing doesn't change the bond`);
    }
  }
  if (def.mtu !== undefined && nic.mtu !== undefined && def.mtu !== nic.mtu) {
    throw notSupported(`<mtu size='${def.mtu}'> differs from ${name}'s MTU ${nic.mtu}; the bridge takes the NIC's`, 'leave <mtu> out');
  }
  if (def.protocols !== undefined && def.protocols.length > 0) {
    const want = def.protocols.map(protocolKey).sort().join(' ');
    const have = (nic.configured.protocols ?? []).map(protocolKey).sort().join(' ');
    if (want !== have) {
      throw notSupported(`its <protocol> differs from ${name}'s own IP configuration; a shared bridge takes the NIC's configuration as it is`, `leave <protocol> out (as virsh iface-bridge copies the NIC's), or see the NIC's with: shared-interface dumpxml --inactive ${name}`);
    }
  }
  const stp = def.bridge?.stp ?? false;
  const delay = def.bridge?.delay;
  let forwardDelay = 0;
  // Without STP the kernel forwards at once, whatever the delay says: it is accepted and unused.
  if (stp && delay !== undefined) {
    if (!Number.isInteger(delay) || delay < STP_MIN_DELAY || delay > STP_MAX_DELAY) {
      throw notSupported(`with STP on, the bridge's forward delay must be a whole number of seconds from ${STP_MIN_DELAY} to ${STP_MAX_DELAY} (the kernel's range), not ${delay}`, `give delay='15' (the usual), or stp='off'`);
    }
    forwardDelay = delay;
  }
  return { nic: name, bridge, stp, forwardDelay };
}
