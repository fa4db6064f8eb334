// SPDX-License-Identifier: GPL-2.0-or-later
// The IP configuration that moves between the NIC and the bridge: captured from the kernel's JSON
// when sharing, kept in our journal and records, checked again when read back, and turned into
// `ip route` arguments. Every value that reaches `ip` matches a pattern here.
import { asArray, type IpLink, type IpRoute, type IpState } from '../kernel-observer';
import * as json from '../json-codec';

export interface RouteSpec {
  readonly family: 4 | 6;
  readonly dst: string;
  readonly gateway?: string;
  readonly metric?: number;
  readonly protocol?: string;
  readonly onlink?: boolean;
}

/** What a device carries: a DHCP client, or addresses and routes configured by hand (or both, per family). */
export interface IpConfig {
  /** IPv4 comes from a DHCP client: its addresses and routes are the client's, not moved by hand. */
  readonly dhcp: boolean;
  readonly addresses: readonly string[];
  readonly routes: readonly RouteSpec[];
}

const ADDRESS_CIDR = /^[0-9A-Fa-f.:]+\/[0-9]{1,3}$/;
const ADDRESS = /^[0-9A-Fa-f.:]+$/;
const ROUTE_DST = /^(default|[0-9A-Fa-f.:]+(\/[0-9]{1,3})?)$/;
const PROTOCOL = /^[a-z][a-z0-9_]{0,15}$/;

/**
 * The configuration on `device` that is the user's, not the kernel's: global addresses (IPv4 ones
 * only without DHCP; IPv6 ones only when not autoconfigured) and the routes through it that the
 * kernel or router advertisements did not make (IPv4 ones only without DHCP).
 */
export function captureIpConfig(state: IpState, device: string, dhcp: boolean): IpConfig {
  const link = asArray<IpLink>(state.addresses).find((l) => l.ifname === device);
  const addresses: string[] = [];
  for (const a of link?.addr_info ?? []) {
    if (a.scope !== 'global' || a.local === undefined) continue;
    const cidr = `${a.local}/${a.prefixlen ?? 0}`;
    if (!ADDRESS_CIDR.test(cidr)) continue;
    if (a.family === 'inet' && !dhcp) addresses.push(cidr);
    if (a.family === 'inet6' && a.dynamic !== true) addresses.push(cidr);
  }
  const routes: RouteSpec[] = [];
  const collect = (family: 4 | 6, list: unknown): void => {
    for (const r of asArray<IpRoute>(list)) {
      if (r.dev !== device || r.dst === undefined || !ROUTE_DST.test(r.dst)) continue;
      if (r.protocol === 'kernel' || r.protocol === 'ra' || r.protocol === 'redirect') continue;
      if (family === 4 && dhcp) continue;
      if (r.gateway !== undefined && !ADDRESS.test(r.gateway)) continue;
      routes.push({
        family,
        dst: r.dst,
        ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
        ...(typeof r.metric === 'number' && Number.isInteger(r.metric) && r.metric >= 0 ? { metric: r.metric } : {}),
        ...(r.protocol !== undefined && PROTOCOL.test(r.protocol) ? { protocol: r.protocol } : {}),
        ...((r.flags ?? []).includes('onlink') ? { onlink: true } : {}),
      });
    }
  };
  collect(4, state.routes4);
  collect(6, state.routes6);
  return { dhcp, addresses, routes };
}

const routeCodec = json.object<RouteSpec>({
  family: json.oneOf(4, 6),
  dst: json.string(ROUTE_DST),
  gateway: json.optional(json.string(ADDRESS)),
  metric: json.optional(json.integer(0)),
  protocol: json.optional(json.string(PROTOCOL)),
  onlink: json.optional(json.oneOf(true)),
});

/**
 * A configuration read back from our own journal or records, before it reaches `ip`: only what is
 * safe to pass on is kept (an address or route of another shape is left out, not guessed at).
 */
export const ipConfigCodec: json.JsonCodec<IpConfig> = json.orElse(json.object<IpConfig>({
  dhcp: json.orElse(json.boolean, false),
  addresses: json.orElse(json.validItems(json.string(ADDRESS_CIDR)), []),
  routes: json.orElse(json.validItems(routeCodec), []),
}), { dhcp: false, addresses: [], routes: [] });

/** Checks a configuration read back from disk (ipConfigCodec). */
export function checkIpConfig(value: unknown): IpConfig {
  return ipConfigCodec.decode(value);
}

/** `ip route replace` arguments for one route through `device`. */
export function routeArgs(route: RouteSpec, device: string): string[] {
  return [
    route.family === 6 ? '-6' : '-4', 'route', 'replace', route.dst,
    ...(route.gateway !== undefined ? ['via', route.gateway] : []),
    'dev', device,
    ...(route.metric !== undefined ? ['metric', String(route.metric)] : []),
    ...(route.protocol !== undefined ? ['proto', route.protocol] : []),
    ...(route.onlink ? ['onlink'] : []),
  ];
}
