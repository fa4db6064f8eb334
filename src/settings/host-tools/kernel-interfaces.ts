// SPDX-License-Identifier: GPL-2.0-or-later
// The domain's view of the links without NetworkManager, from the kernel's own JSON (`ip -j`, read
// by kernel-observer.ts): what each link is, its addresses, and whether it is shared.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HostInterface, InterfaceType } from '../../bridge/host-network';
import { asArray, type IpLink, type IpState } from '../kernel-observer';

const KIND_TYPES: ReadonlyMap<string, InterfaceType> = new Map<string, InterfaceType>([
  // A veth looks like an ethernet to everything above the kernel (and is the lab's NIC).
  ['veth', 'ethernet'],
  ['bridge', 'bridge'],
  ['bond', 'bond'],
  ['team', 'team'],
  ['vlan', 'vlan'],
  ['tun', 'tun'],
]);

/** What a link is, from `ip -d link`: its kind for virtual links, its link type for hardware. */
export function interfaceType(link: { link_type?: string; linkinfo?: { info_kind?: string } }, wireless: boolean): InterfaceType {
  if (link.link_type === 'loopback') return 'loopback';
  const kind = link.linkinfo?.info_kind;
  if (kind !== undefined) return KIND_TYPES.get(kind) ?? 'other';
  if (link.link_type === 'ether') return wireless ? 'wifi' : 'ethernet';
  if (link.link_type === 'none') return 'tun';
  return 'other';
}

const IPV6_CHANGES_NOTE = 'its autoconfigured IPv6 addresses will change: the kernel derives them from the interface name (addr_gen_mode stable_secret or random), and the bridge has another name';

/**
 * The domain's view of the links. Every link counts as managed: without NetworkManager nothing
 * else claims them, and the backend's own files say how each one is configured.
 */
export function hostInterfacesFromIp(state: IpState, shared: ReadonlyMap<string, string>, isWireless: (name: string) => boolean): HostInterface[] {
  const addressesOf = new Map<string, string[]>();
  for (const a of asArray<IpLink>(state.addresses)) {
    if (a.ifname === undefined) continue;
    addressesOf.set(a.ifname, (a.addr_info ?? []).filter((x) => x.local !== undefined).map((x) => `${x.local ?? ''}/${x.prefixlen ?? 0}`));
  }
  const out: HostInterface[] = [];
  for (const l of asArray<IpLink>(state.links)) {
    if (l.ifname === undefined) continue;
    const flags = l.flags ?? [];
    const type = interfaceType(l, l.linkinfo?.info_kind === undefined && l.link_type === 'ether' && isWireless(l.ifname));
    const iface: HostInterface = {
      name: l.ifname,
      type,
      mac: (l.address ?? '').toLowerCase(),
      carrier: flags.includes('LOWER_UP') && !flags.includes('NO-CARRIER'),
      addresses: addressesOf.get(l.ifname) ?? [],
      sharedThrough: shared.get(l.ifname),
      controller: l.master,
      managed: true,
    };
    // The kernel hashes the interface name into these addresses (RFC 7217), so the bridge's differ.
    const notes = l.inet6_addr_gen_mode === 'stable_secret' || l.inet6_addr_gen_mode === 'random' ? { shareNotes: [IPV6_CHANGES_NOTE] } : {};
    // iproute2 cannot tell a station from an access point; 'unknown' is refused like a station.
    out.push(type === 'wifi' ? { ...iface, ...notes, wifiMode: 'unknown' } : { ...iface, ...notes });
  }
  return out;
}

export function sysfsWireless(name: string): boolean {
  return existsSync(join('/sys/class/net', name, 'wireless')) || existsSync(join('/sys/class/net', name, 'phy80211'));
}

/** The link's current state, for the few facts live apply needs. */
export function linkInfo(state: IpState, name: string): { readonly master: string | undefined; readonly kind: string | undefined; readonly stp: boolean } | undefined {
  const l = asArray<IpLink>(state.links).find((x) => x.ifname === name);
  if (l === undefined) return undefined;
  return { master: l.master, kind: l.linkinfo?.info_kind, stp: (l.linkinfo?.info_data?.stp_state ?? 0) !== 0 };
}
