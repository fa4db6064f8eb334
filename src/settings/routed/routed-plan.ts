// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's data plane, planned without I/O: which sysctls it sets, the address the guests'
// bridge borrows from the uplink, dnsmasq's relay arguments, and which guests get a host route and
// a proxy ARP entry. routed-data-plane.ts reads the kernel, asks these functions, and applies.
//
//     LAN ── uplink (host 192.0.2.10/24, its own NM profile, untouched)
//             │  proxy ARP entries: 192.0.2.150, 192.0.2.151 answered with the uplink's MAC
//             │  routes 192.0.2.150/32, 192.0.2.151/32 dev bridge (proto 212)
//            bridge (192.0.2.10/32 borrowed: the relay's giaddr; proxy_arp answers for the LAN)
//             ├── tap: guest 192.0.2.150 (leased by the LAN's DHCP server through the relay)
//             └── tap: guest 192.0.2.151
import { interfaceNameProblem } from '../../bridge/interface-name';

/** Our mark on the routes and proxy ARP entries we add (iproute2's `proto 212`), and nobody else's. */
export const ROUTED_PROTOCOL = 212;

export interface RoutedLinks {
  /** The NIC on the LAN (Wi-Fi station, MAC-locked port): keeps its own configuration. */
  readonly uplink: string;
  /** The guests' bridge: their taps are its ports, the uplink is not. */
  readonly bridge: string;
}

/** Why these links cannot carry routed sharing, or undefined. */
export function routedLinksProblem(links: RoutedLinks): string | undefined {
  const problem = interfaceNameProblem(links.uplink) ?? interfaceNameProblem(links.bridge);
  if (problem !== undefined) return problem;
  if (links.uplink === links.bridge) return `the uplink and the guests' bridge must differ (both are ${links.uplink})`;
  return undefined;
}

export interface Ipv4Prefix {
  readonly address: string;
  readonly prefixLength: number;
}

/** A sysctl as the path under /proc/sys: components, since an interface name may hold a '.'. */
export interface SysctlSetting {
  readonly path: readonly string[];
  readonly value: string;
}

export function sysctlName(path: readonly string[]): string {
  return path.join('/');
}

/**
 * What the kernel must do for routed sharing, per interface only (never net.ipv4.ip_forward, which
 * would turn every interface of the host into a router): forward what arrives on the uplink and on
 * the bridge (IPv4 forwarding is decided by the input interface's setting); answer ARP on the
 * bridge for every address routed elsewhere (the LAN's hosts and gateway, for the guests); answer
 * proxied ARP at once rather than after up to 0.8 s (proxy_delay, in jiffies).
 */
export function routedSysctls(links: RoutedLinks): SysctlSetting[] {
  return [
    { path: ['net', 'ipv4', 'conf', links.uplink, 'forwarding'], value: '1' },
    { path: ['net', 'ipv4', 'conf', links.bridge, 'forwarding'], value: '1' },
    { path: ['net', 'ipv4', 'conf', links.bridge, 'proxy_arp'], value: '1' },
    { path: ['net', 'ipv4', 'neigh', links.uplink, 'proxy_delay'], value: '0' },
    { path: ['net', 'ipv4', 'neigh', links.bridge, 'proxy_delay'], value: '0' },
  ];
}

/**
 * The address the bridge borrows: the uplink's own, as a /32 without a prefix route. dnsmasq relays
 * from an address of the interface the request arrived on and gives it to the server as giaddr;
 * the server leases from the subnet giaddr is in, so the uplink's address makes it lease from the
 * LAN's own subnet, and its reply comes back to the host.
 */
export function bridgeAddress(uplink: Ipv4Prefix): Ipv4Prefix {
  return { address: uplink.address, prefixLength: 32 };
}

export interface RelayOptions {
  /** The LAN's DHCP server; absent: broadcast on the uplink (any server there answers). */
  readonly server?: string;
  readonly pidFile: string;
}

/**
 * dnsmasq as a DHCP relay only: no DNS (--port=0), no configuration file of the host's, requests
 * accepted on the bridge alone (the LAN's own broadcasts on the uplink are not relayed), replies
 * accepted from the uplink alone. It injects each client's MAC into the bridge's ARP table when it
 * hands on a unicast reply: the neighbour event that teaches the data plane a new guest.
 */
export function relayArgv(links: RoutedLinks, uplink: Ipv4Prefix, options: RelayOptions): string[] {
  const relay = options.server === undefined ? `${uplink.address},${links.uplink}` : `${uplink.address},${options.server},${links.uplink}`;
  return [
    'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', '--log-facility=-',
    `--interface=${links.bridge}`, `--dhcp-relay=${relay}`, `--pid-file=${options.pidFile}`,
  ];
}

/** An IPv4 neighbour as `ip -j neigh show` prints it. */
export interface Neighbour {
  readonly address: string;
  readonly mac: string | undefined;
  readonly states: readonly string[];
}

/** A guest the data plane routes to: its address on the LAN's subnet and its MAC on the bridge. */
export interface Guest {
  readonly address: string;
  readonly mac: string;
  /** Since when (ms since the epoch) the guest has not answered the host's ARP while its MAC is still on the bridge. */
  readonly unansweredSince?: number;
}

/**
 * How long a guest that stopped answering ARP keeps its route while its MAC is still on the
 * bridge: a guest between its DHCP offer and its acknowledgement does not answer yet (the LAN's
 * server pings the address it is about to offer, through us), nor does one rebooting.
 */
export const UNANSWERED_GRACE_MS = 60_000;

export interface GuestPlanInput {
  /** The uplink's address; none: no guest is routed (the uplink lost its network). */
  readonly uplink: Ipv4Prefix | undefined;
  /** Gateways of the uplink's routes: never taken for a guest. */
  readonly gateways: readonly string[];
  readonly bridgeNeighbours: readonly Neighbour[];
  readonly uplinkNeighbours: readonly Neighbour[];
  /** The guests of the last reading, and the MACs the bridge's forwarding database holds now. */
  readonly known: readonly Guest[];
  readonly bridgeMacs: readonly string[];
  readonly nowMs: number;
  /** Our routes' destinations on the bridge (/32s) and our proxy entries on the uplink now. */
  readonly routes: readonly string[];
  readonly proxies: readonly string[];
}

export interface RefusedGuest {
  readonly address: string;
  readonly mac: string;
  readonly reason: string;
}

export interface GuestPlan {
  readonly guests: readonly Guest[];
  readonly refused: readonly RefusedGuest[];
  readonly addRoutes: readonly string[];
  readonly removeRoutes: readonly string[];
  readonly addProxies: readonly string[];
  readonly removeProxies: readonly string[];
}

/** Neighbour states of an address that answered (or was told us by the relay) and has not failed since. */
const LIVE_STATES = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT']);
/** States of an address the uplink confirmed lately: a LAN host has it now. */
const CONFIRMED_STATES = new Set(['REACHABLE', 'DELAY', 'PROBE', 'PERMANENT']);

/**
 * Which guests get a route and a proxy entry, from what the bridge's neighbour table says: a guest
 * is an address on the uplink's subnet with a live neighbour entry on the bridge. Refused: the
 * host's own address, the subnet's network and broadcast addresses, the uplink's gateways, and an
 * address a LAN host answered for on the uplink lately, so that a guest cannot take the LAN's
 * router or a neighbour's address from the host. A guest whose entry failed (the host asked and
 * it did not answer) or went away loses its route and proxy entry once its MAC is gone from the
 * bridge too, or after UNANSWERED_GRACE_MS.
 */
export function planGuests(input: GuestPlanInput): GuestPlan {
  const guests: Guest[] = [];
  const refused: RefusedGuest[] = [];
  const onLan = new Set(input.uplinkNeighbours.filter((n) => n.states.some((s) => CONFIRMED_STATES.has(s))).map((n) => n.address));
  const bridgeMacs = new Set(input.bridgeMacs.map((m) => m.toLowerCase()));
  const candidates: Guest[] = [];
  for (const neighbour of input.bridgeNeighbours) {
    if (neighbour.mac === undefined || !neighbour.states.some((s) => LIVE_STATES.has(s))) continue;
    candidates.push({ address: neighbour.address, mac: neighbour.mac.toLowerCase() });
  }
  for (const known of input.known) {
    if (candidates.some((c) => c.address === known.address) || !bridgeMacs.has(known.mac)) continue;
    const since = known.unansweredSince ?? input.nowMs;
    if (input.nowMs - since < UNANSWERED_GRACE_MS) candidates.push({ address: known.address, mac: known.mac, unansweredSince: since });
  }
  const uplink = input.uplink;
  for (const guest of candidates) {
    if (uplink === undefined) break;
    const reason = guestRefusal(guest.address, uplink, input.gateways, onLan);
    if (reason === undefined) guests.push(guest);
    else refused.push({ address: guest.address, mac: guest.mac, reason });
  }
  guests.sort((a, b) => ipv4Number(a.address) - ipv4Number(b.address));
  const wanted = new Set(guests.map((g) => g.address));
  const routes = new Set(input.routes);
  const proxies = new Set(input.proxies);
  return {
    guests,
    refused,
    addRoutes: [...wanted].filter((a) => !routes.has(a)),
    removeRoutes: [...routes].filter((a) => !wanted.has(a)),
    addProxies: [...wanted].filter((a) => !proxies.has(a)),
    removeProxies: [...proxies].filter((a) => !wanted.has(a)),
  };
}

function guestRefusal(address: string, uplink: Ipv4Prefix, gateways: readonly string[], onLan: ReadonlySet<string>): string | undefined {
  if (!isIpv4(address)) return 'not an IPv4 address';
  if (!inSubnet(address, uplink)) return `not on the uplink's subnet ${subnetOf(uplink)}`;
  const number = ipv4Number(address);
  const network = ipv4Number(subnetOf(uplink).split('/')[0] ?? '');
  const size = 2 ** (32 - uplink.prefixLength);
  if (uplink.prefixLength < 31 && (number === network || number === network + size - 1)) return `the network or broadcast address of ${subnetOf(uplink)}`;
  if (address === uplink.address) return "the host's own address";
  if (gateways.includes(address)) return "the uplink's gateway";
  if (onLan.has(address)) return 'a host on the LAN answers for it on the uplink';
  return undefined;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export function ipv4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function ipv4Text(number: number): string {
  return [24, 16, 8, 0].map((shift) => String(Math.floor(number / 2 ** shift) % 256)).join('.');
}

export function subnetOf(prefix: Ipv4Prefix): string {
  const size = 2 ** (32 - prefix.prefixLength);
  return `${ipv4Text(Math.floor(ipv4Number(prefix.address) / size) * size)}/${String(prefix.prefixLength)}`;
}

export function inSubnet(address: string, prefix: Ipv4Prefix): boolean {
  const size = 2 ** (32 - prefix.prefixLength);
  return Math.floor(ipv4Number(address) / size) === Math.floor(ipv4Number(prefix.address) / size);
}

/**
 * What to tell when the uplink's address changed: guests on the old subnet cannot follow by
 * themselves until they ask for a lease again (the relay then gives them one on the new subnet).
 */
export function uplinkChange(before: Ipv4Prefix | undefined, after: Ipv4Prefix | undefined): string | undefined {
  const show = (p: Ipv4Prefix | undefined): string => (p === undefined ? 'none' : `${p.address}/${String(p.prefixLength)}`);
  if (before?.address === after?.address && before?.prefixLength === after?.prefixLength) return undefined;
  if (after === undefined) return `the uplink lost its IPv4 address (was ${show(before)}): guests are unreachable until it has one again; relay stopped`;
  if (before === undefined) return `the uplink has the address ${show(after)}: relaying from it`;
  if (subnetOf(before) === subnetOf(after)) return `the uplink's address changed from ${show(before)} to ${show(after)} on the same subnet: guests keep their addresses; relaying from the new one`;
  return `the uplink moved from ${subnetOf(before)} to ${subnetOf(after)} (address ${show(after)}): guests with addresses on the old subnet are unreachable until they renew their lease, which the relay then answers from the new subnet (a guest renews at half its lease time, or when its network restarts)`;
}

/** The primary IPv4 address of `ip -j addr show dev X` output: the first global, not secondary one. */
export function primaryIpv4(addresses: unknown): Ipv4Prefix | undefined {
  const links = Array.isArray(addresses) ? addresses as unknown[] : [];
  for (const link of links) {
    const infos = (link as { addr_info?: unknown }).addr_info;
    for (const info of Array.isArray(infos) ? infos as unknown[] : []) {
      const { family, local, prefixlen, scope, secondary } = info as { family?: unknown; local?: unknown; prefixlen?: unknown; scope?: unknown; secondary?: unknown };
      if (family !== 'inet' || scope !== 'global' || secondary === true) continue;
      if (typeof local !== 'string' || !isIpv4(local) || typeof prefixlen !== 'number') continue;
      return { address: local, prefixLength: prefixlen };
    }
  }
  return undefined;
}

/** `ip -j neigh show …` output, IPv4 entries only. */
export function parseNeighbours(json: unknown): Neighbour[] {
  const out: Neighbour[] = [];
  for (const entry of Array.isArray(json) ? json as unknown[] : []) {
    const { dst, lladdr, state } = entry as { dst?: unknown; lladdr?: unknown; state?: unknown };
    if (typeof dst !== 'string' || !isIpv4(dst)) continue;
    const states = Array.isArray(state) ? (state as unknown[]).filter((s): s is string => typeof s === 'string') : [];
    out.push({ address: dst, mac: typeof lladdr === 'string' ? lladdr : undefined, states });
  }
  return out;
}

/** Destinations of `ip -j route show …` output: gateways, or /32 destinations (as bare addresses). */
export function routeGateways(json: unknown): string[] {
  const out: string[] = [];
  for (const route of Array.isArray(json) ? json as unknown[] : []) {
    const gateway = (route as { gateway?: unknown }).gateway;
    if (typeof gateway === 'string' && isIpv4(gateway)) out.push(gateway);
  }
  return out;
}

export function hostRouteDestinations(json: unknown): string[] {
  const out: string[] = [];
  for (const route of Array.isArray(json) ? json as unknown[] : []) {
    const dst = (route as { dst?: unknown }).dst;
    if (typeof dst !== 'string') continue;
    const address = dst.endsWith('/32') ? dst.slice(0, -3) : dst;
    if (isIpv4(address)) out.push(address);
  }
  return out;
}
