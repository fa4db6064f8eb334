// SPDX-License-Identifier: GPL-2.0-or-later
// Pure reading of the IP configuration an ifcfg file gives its device, as initscripts' ifup-eth and
// ifup-ipv6 would apply it: what the bridge must carry for a share to be verified, and what
// `--inactive` describes. Anything initscripts would read another way is refused, not guessed at.
import { IfcfgError } from './ifcfg-error';
import { shvarGet, shvarKeys, type ShvarFile } from './ifcfg-shvar';
import { isFalse, isIpv4, isIpv6, isMtu, isTrue, netmaskToPrefix, parsePrefix } from './ifcfg-validate';

export interface IfcfgAddress {
  readonly address: string;
  readonly prefix: number;
}

/** What ifup-eth / ifup-ipv6 would configure from a file (routes files are not read). */
export interface IfcfgIpConfig {
  /** BOOTPROTO; `none` when unset. */
  readonly bootproto: IfcfgBootproto;
  /** BOOTPROTO is dhcp or bootp: ifup-eth then ignores the IPADDR/GATEWAY keys. */
  readonly dhcp: boolean;
  readonly ipv4Addresses: readonly IfcfgAddress[];
  readonly ipv4Gateway: string | undefined;
  /** DEFROUTE is not false. */
  readonly defaultRoute: boolean;
  readonly dns: readonly string[];
  readonly ipv6Init: boolean;
  readonly ipv6Autoconf: boolean;
  readonly dhcpv6: boolean;
  readonly ipv6Addresses: readonly IfcfgAddress[];
  readonly ipv6Gateway: string | undefined;
  /** IPV6_FAILURE_FATAL: IPv6 must come up for the interface to count as up (NM's ipv6.may-fail=no). */
  readonly ipv6FailureFatal: boolean;
  readonly mtu: number | undefined;
}

export type IfcfgBootproto = 'none' | 'static' | 'dhcp' | 'bootp';

export const BOOTPROTOS: readonly IfcfgBootproto[] = ['none', 'static', 'dhcp', 'bootp'];

/** A list value (IPV6ADDR_SECONDARIES): words separated by blanks. */
export function splitList(value: string): string[] {
  return value.split(/[ \t]+/).filter((s) => s !== '');
}

export function parseIpv6WithPrefix(s: string): IfcfgAddress | undefined {
  const [address, prefixText, ...rest] = s.split('/');
  if (address === undefined || !isIpv6(address) || rest.length > 0) return undefined;
  // initscripts assumes /64 when IPV6ADDR has no prefix.
  const prefix = prefixText === undefined ? 64 : parsePrefix(prefixText, 128);
  return prefix === undefined ? undefined : { address, prefix };
}

function invalid(key: string, value: string, what: string): IfcfgError {
  return new IfcfgError('InvalidValue', `${key}=${JSON.stringify(value)} is not ${what}.`, { key });
}

// When neither PREFIX nor NETMASK is given, ipcalc (as called by expand_config) assumes the classful mask.
function classfulPrefix(address: string): number | undefined {
  const first = Number(address.split('.')[0]);
  if (first < 128) return 8;
  if (first < 192) return 16;
  if (first < 224) return 24;
  return undefined;
}

/**
 * The IP configuration ifup would apply from `file`, for live apply and verification. Follows
 * initscripts: IPADDR, IPADDR0… up to the first gap after IPADDR1 (expand_config), PREFIX before
 * NETMASK, static keys ignored under DHCP, IPv6 prefixes default to 64.
 */
export function readIfcfgIpConfig(file: ShvarFile): IfcfgIpConfig {
  const get = (key: string): string | undefined => {
    const v = shvarGet(file, key);
    return v === '' ? undefined : v;
  };

  const bootprotoText = get('BOOTPROTO') ?? 'none';
  const bootproto = BOOTPROTOS.find((b) => b === bootprotoText);
  if (bootproto === undefined) throw invalid('BOOTPROTO', bootprotoText, `one of ${BOOTPROTOS.join(', ')}`);
  const dhcp = bootproto === 'dhcp' || bootproto === 'bootp';

  const ipv4Addresses: IfcfgAddress[] = [];
  let ipv4Gateway: string | undefined;
  if (!dhcp) {
    for (const idx of ['', ...Array.from({ length: 256 }, (_, n) => String(n))]) {
      const address = get(`IPADDR${idx}`);
      if (address === undefined) {
        if (idx !== '' && Number(idx) >= 2) break;
        continue;
      }
      if (!isIpv4(address)) throw invalid(`IPADDR${idx}`, address, 'an IPv4 address');
      ipv4Addresses.push({ address, prefix: ipv4Prefix(address, idx, get) });
    }
    ipv4Gateway = get('GATEWAY');
    if (ipv4Gateway !== undefined && !isIpv4(ipv4Gateway)) throw invalid('GATEWAY', ipv4Gateway, 'an IPv4 address');
  }

  const dnsKeys = shvarKeys(file)
    .map((k) => /^DNS([0-9]+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => m[0]);
  const dns: string[] = [];
  for (const key of dnsKeys) {
    const v = get(key);
    if (v === undefined) continue;
    if (!isIpv4(v) && !isIpv6(v)) throw invalid(key, v, 'an IP address');
    dns.push(v);
  }

  const ipv6Addresses: IfcfgAddress[] = [];
  const primary = get('IPV6ADDR');
  for (const text of [...(primary !== undefined ? [primary] : []), ...splitList(get('IPV6ADDR_SECONDARIES') ?? '')]) {
    const a = parseIpv6WithPrefix(text);
    if (a === undefined) throw invalid('IPV6ADDR', text, 'an IPv6 address with an optional /prefix');
    ipv6Addresses.push(a);
  }
  const gw6 = get('IPV6_DEFAULTGW');
  const ipv6Gateway = gw6?.split('%')[0];
  if (gw6 !== undefined && (ipv6Gateway === undefined || !isIpv6(ipv6Gateway))) {
    throw invalid('IPV6_DEFAULTGW', gw6, 'an IPv6 address[%device]');
  }

  const autoconf = get('IPV6_AUTOCONF');
  const mtuText = get('MTU');
  if (mtuText !== undefined && !isMtu(mtuText)) throw invalid('MTU', mtuText, 'an MTU from 68 to 65535');

  return {
    bootproto,
    dhcp,
    ipv4Addresses,
    ipv4Gateway,
    defaultRoute: !isFalse(get('DEFROUTE')),
    dns,
    ipv6Init: isTrue(get('IPV6INIT')),
    ipv6FailureFatal: isTrue(get('IPV6_FAILURE_FATAL')),
    // ifup-ipv6: autoconf defaults to on unless the host forwards IPv6.
    ipv6Autoconf: autoconf !== undefined ? isTrue(autoconf) : !isTrue(get('IPV6FORWARDING')),
    dhcpv6: isTrue(get('DHCPV6C')),
    ipv6Addresses,
    ipv6Gateway,
    mtu: mtuText !== undefined ? Number(mtuText) : undefined,
  };
}

function ipv4Prefix(address: string, idx: string, get: (key: string) => string | undefined): number {
  const prefixText = get(`PREFIX${idx}`);
  if (prefixText !== undefined) {
    const p = parsePrefix(prefixText, 32);
    if (p === undefined) throw invalid(`PREFIX${idx}`, prefixText, 'an IPv4 prefix length');
    return p;
  }
  const netmask = get(`NETMASK${idx}`);
  if (netmask !== undefined) {
    const p = netmaskToPrefix(netmask);
    if (p === undefined) throw invalid(`NETMASK${idx}`, netmask, 'an IPv4 netmask');
    return p;
  }
  const p = classfulPrefix(address);
  if (p === undefined) throw invalid(`IPADDR${idx}`, address, 'a unicast address (and it has no PREFIX)');
  return p;
}
