// SPDX-License-Identifier: GPL-2.0-or-later
// Verification, nmstate-style: after a change, read the kernel's real state and compare it with
// what the plan promised. Pure: the state comes from a HostObserver (iproute2 in production).

export interface LiveAddress {
  readonly cidr: string;
  readonly family: 4 | 6;
  /** Global scope: the addresses that identify the host on the LAN. */
  readonly global: boolean;
  /** Has a lifetime: from DHCP or router advertisements rather than configured by hand. */
  readonly dynamic: boolean;
  /** IPv6 duplicate address detection failed: the kernel will not use the address. */
  readonly dadFailed?: boolean;
}

export interface LiveLink {
  readonly name: string;
  readonly mac: string;
  readonly up: boolean;
  /** The bridge/bond this link is a port of. */
  readonly controller: string | undefined;
  readonly kind: string | undefined;
  readonly addresses: readonly LiveAddress[];
  /** For bridges: spanning tree on. */
  readonly stp?: boolean;
  readonly mtu?: number;
  /** The kernel's operational state, lower case (RFC 2863: up, down, lowerlayerdown, …). */
  readonly operstate?: string;
  /** For bridges: the forward delay, in seconds. */
  readonly forwardDelay?: number;
  /** For VLANs: the tag and the parent device. */
  readonly vlan?: { readonly id: number; readonly parent: string };
  /** For bonds: the mode, by the kernel's name (active-backup, 802.3ad, …). */
  readonly bondMode?: string;
}

export interface LiveRoute {
  readonly family: 4 | 6;
  /** 'default' or a prefix. */
  readonly dst: string;
  readonly dev: string;
  readonly gateway: string | undefined;
  /** Kernel-made routes (prefix routes of addresses) are not the user's configuration. */
  readonly kernel: boolean;
}

export interface LiveHost {
  readonly links: ReadonlyMap<string, LiveLink>;
  readonly routes: readonly LiveRoute[];
}

/** How the domain reads the real state of the host (implemented with iproute2, ping and sysfs). */
/** Changes of the host's links, addresses and routes, as they happen. */
export interface HostChanges {
  /** How many changes were seen so far. */
  count(): number;
  /** Resolves once more than `seen` changes were seen (at once if they were), or at close(). */
  after(seen: number): Promise<void>;
  close(): void;
}

export interface HostObserver {
  /**
   * The links of `devices` (those that exist) and the main-table routes through them: what a
   * call touches, not the whole host, which may carry thousands of links.
   */
  observe(devices: readonly string[]): Promise<LiveHost>;
  /**
   * `name` and the links it is made of (a bridge's or bond's ports, a VLAN's parent), recursively;
   * no process, no wait (sysfs).
   */
  linkTree(name: string): string[];
  /**
   * Notifications of changes of these devices (their links, addresses and routes, and links
   * naming one of them as controller), for as long as the caller needs them (verification).
   */
  watch(devices: readonly string[]): HostChanges;
  /**
   * Whether `address` answers a ping sent out of `device`. `newDevice`: the device has just
   * taken over the address (after a change), so its neighbour entries may be stale; ask afresh.
   * `source`: the device's own address of that family, when known, to send from.
   */
  answers(address: string, device: string, newDevice?: boolean, source?: string): Promise<boolean>;
  /** The link's speed in Mb/s, when the driver knows it (not for bridges, nor while down). */
  linkSpeed(device: string): Promise<number | undefined>;
  /**
   * The bridge, bond or team the kernel has `name` as a port of, or undefined. Costs no process
   * and no wait (sysfs): callable before authorization.
   */
  controllerOf(name: string): string | undefined;
  /** The kernel's ports of `bridge` (none when it doesn't exist); no process, no wait (sysfs). */
  bridgePorts(bridge: string): string[];
  /** The link's MTU, or undefined when it doesn't exist; no process, no wait (sysfs). */
  linkMtu(name: string): number | undefined;
}

/** What must be true of the interface that carries the host's identity after a move. */
export interface IdentityExpectation {
  readonly device: string;
  readonly addresses: readonly string[];
  readonly routes: readonly { readonly family: 4 | 6; readonly dst: string; readonly gateway: string | undefined }[];
  /** Gateways that answered before the change and must answer after it. */
  readonly gateways: readonly string[];
  /** The device gets IPv4 by DHCP and the NIC held no lease to compare with: any lease will do. */
  readonly ipv4Lease: boolean;
  /** Autoconfigured IPv6 addresses not awaited (ipv6Follows): they come with the next router advertisement. */
  readonly later: readonly string[];
}

/** EUI-64 interface identifier of a MAC, as it appears at the end of an IPv6 address. */
function eui64Suffix(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => Number.isNaN(x))) return '';
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0] = b;
  const hex = (n: number) => n.toString(16);
  return `${hex(((b0 ^ 2) << 8) | b1)}:${hex((b2 << 8) | 0xff)}:${hex((0xfe << 8) | b3)}:${hex((b4 << 8) | b5)}`;
}

/**
 * How the device that carries the host's identity gets its addresses, as the backend's profile
 * says: what verification may wait for.
 */
export interface IpRequirements {
  /** IPv4 comes by DHCP: a lease counts even when the NIC held none to compare with. */
  readonly ipv4Dhcp: boolean;
  /**
   * IPv6 must work before the change counts as done: NetworkManager's `ipv6.may-fail=no`
   * (ifcfg's `IPV6_FAILURE_FATAL=yes`). Otherwise, as NetworkManager's own activation does, the
   * call doesn't wait for router advertisements while IPv4 is there to prove the host reachable.
   */
  readonly ipv6Required: boolean;
}

export const NO_IP_REQUIREMENTS: IpRequirements = { ipv4Dhcp: false, ipv6Required: false };

/**
 * Whether the IPv6 that comes from the network (addresses from router advertisements, and the
 * reachability of IPv6 gateways) is followed after the change rather than awaited by it: IPv6 is
 * not required, and IPv4 (an address the NIC holds, or a DHCP lease) proves the host reachable.
 * It needs the bridge's link-local address out of duplicate address detection first (~1 s), then
 * a router's answer; NetworkManager's activation doesn't wait for it either (nm-online(1)).
 */
export function ipv6Follows(before: LiveHost, from: string, ip: IpRequirements): boolean {
  if (ip.ipv6Required) return false;
  return ip.ipv4Dhcp || (before.links.get(from)?.addresses ?? []).some((a) => a.family === 4 && a.global);
}

/**
 * What moving the host's identity from `from` to `to` must preserve, read from the state before
 * the change: every global IPv4 address (a DHCP lease too: the bridge asks with the same MAC),
 * every static IPv6 address and every autoconfigured one derived from the MAC by EUI-64 (a
 * stable-privacy address hashes the interface name, so it changes with it and isn't expected),
 * the routes the user configured, and the gateways that answered. Autoconfigured IPv6 addresses
 * go to `later` instead when IPv6 follows (ipv6Follows).
 */
export function expectIdentityMove(before: LiveHost, from: string, to: string, answeringGateways: readonly string[], ip: IpRequirements = NO_IP_REQUIREMENTS): IdentityExpectation {
  const link = before.links.get(from);
  const suffix = link ? eui64Suffix(link.mac) : '';
  const kept = (link?.addresses ?? [])
    .filter((a) => a.global && (a.family === 4 || !a.dynamic || (suffix !== '' && (a.cidr.split('/')[0] ?? '').endsWith(suffix))));
  const follows = ipv6Follows(before, from, ip);
  const isLater = (a: LiveAddress) => follows && a.family === 6 && a.dynamic;
  const addresses = kept.filter((a) => !isLater(a)).map((a) => a.cidr);
  const routes = before.routes
    .filter((r) => r.dev === from && !r.kernel)
    .map((r) => ({ family: r.family, dst: r.dst, gateway: r.gateway }));
  const ipv4Lease = ip.ipv4Dhcp && !addresses.some((a) => !a.includes(':'));
  return { device: to, addresses, routes, gateways: answeringGateways, ipv4Lease, later: kept.filter(isLater).map((a) => a.cidr) };
}

/**
 * The gateways of the default routes through `device` (ping them before and after); IPv6 ones
 * only when IPv6 is awaited (ipv6Follows: a ping through the new device would wait for its DAD).
 */
export function defaultGateways(host: LiveHost, device: string, ip: IpRequirements = NO_IP_REQUIREMENTS): string[] {
  const ipv6 = !ipv6Follows(host, device, ip);
  return host.routes
    .filter((r) => r.dev === device && r.dst === 'default' && r.gateway !== undefined && (ipv6 || r.family === 4))
    .map((r) => r.gateway as string);
}

/** Which of `later` (autoconfigured IPv6 addresses) `device` carries now. */
export function laterArrived(after: LiveHost, device: string, later: readonly string[]): string[] {
  const present = new Set((after.links.get(device)?.addresses ?? []).filter((a) => a.dadFailed !== true).map((a) => a.cidr));
  return later.filter((a) => present.has(a));
}

/** Problems with `identity` in the state after the change; empty when all is well. */
export function identityProblems(expectation: IdentityExpectation, after: LiveHost, answering: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const link = after.links.get(expectation.device);
  if (link === undefined) return [`${expectation.device} does not exist`];
  if (!link.up) problems.push(`${expectation.device} is not up`);
  // A tentative IPv6 address (DAD still running) is there and counts; one whose DAD failed is not usable.
  const present = new Map(link.addresses.map((a) => [a.cidr, a]));
  for (const address of expectation.addresses) {
    const found = present.get(address);
    if (found === undefined) problems.push(`${expectation.device} lacks the address ${address}`);
    else if (found.dadFailed === true) problems.push(`${expectation.device}'s address ${address} failed duplicate address detection (another host on the LAN uses it)`);
  }
  if (expectation.ipv4Lease && !link.addresses.some((a) => a.family === 4 && a.global)) problems.push(`${expectation.device} has no DHCP lease`);
  for (const route of expectation.routes) {
    const found = after.routes.some((r) => r.dev === expectation.device && r.family === route.family && r.dst === route.dst && r.gateway === route.gateway);
    if (!found) problems.push(`${expectation.device} lacks the route ${route.dst}${route.gateway ? ` via ${route.gateway}` : ''}`);
  }
  for (const gateway of expectation.gateways) if (!answering.has(gateway)) problems.push(`the gateway ${gateway} does not answer through ${expectation.device}`);
  return problems;
}

/** Problems with a shared NIC's bridge: it exists, is up, has the NIC as port and the NIC's MAC. */
export function bridgeProblems(after: LiveHost, nic: string, bridge: string, mac: string, stp: boolean): string[] {
  const problems: string[] = [];
  const br = after.links.get(bridge);
  const port = after.links.get(nic);
  if (br === undefined) return [`the bridge ${bridge} does not exist`];
  if (br.kind !== 'bridge') problems.push(`${bridge} is not a bridge`);
  if (br.mac.toLowerCase() !== mac.toLowerCase()) problems.push(`${bridge} has the MAC ${br.mac}, not the NIC's ${mac}`);
  if (br.stp !== undefined && br.stp !== stp) problems.push(`${bridge} has spanning tree ${br.stp ? 'on' : 'off'}`);
  if (port?.controller !== bridge) problems.push(`${nic} is not a port of ${bridge}`);
  return problems;
}

/** Problems after unsharing: the NIC is nobody's port and the bridge is gone. */
export function unsharedProblems(after: LiveHost, nic: string, bridge: string): string[] {
  const problems: string[] = [];
  const port = after.links.get(nic);
  if (port?.controller !== undefined) problems.push(`${nic} is still a port of ${port.controller}`);
  if (after.links.has(bridge)) problems.push(`the bridge ${bridge} still exists`);
  return problems;
}
