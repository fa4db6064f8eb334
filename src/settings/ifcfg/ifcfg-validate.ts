// SPDX-License-Identifier: GPL-2.0-or-later
// Strict patterns for the machine values we write into ifcfg files. Each is narrower than what the
// kernel or initscripts accept: ifup expands most values unquoted, so anything outside these
// patterns is refused rather than escaped.

import { isInterfaceName as isSafeInterfaceName } from '../../bridge/interface-name';
import { isMacAddress } from '../../bridge/mac-address';
import { IfcfgError } from './ifcfg-error';

// initscripts skips ifcfg files with these endings (__sed_discard_ignored_files in network-functions).
const IGNORED_SUFFIX = /\.(bak|old|orig|rpmnew|rpmorig|rpmsave)$/;
// No leading zeros: inet_aton (and so some of ifup's helpers) would read 010 as octal.
const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);
const IPV6_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const INTEGER = /^-?(0|[1-9][0-9]{0,9})$/;
const HOSTNAME_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
// initscripts' is_true / is_false, which accept these in any case.
const BOOLEAN = /^(yes|no|true|false|on|off|y|n|t|f|1|0)$/i;
const TRUE = /^(yes|true|on|y|t|1)$/i;
const FALSE = /^(no|false|off|n|f|0)$/i;

/** The domain's one rule for names, and none initscripts would skip as a backup file. */
export function isInterfaceName(name: string): boolean {
  return isSafeInterfaceName(name) && !IGNORED_SUFFIX.test(name);
}

/** `ifcfg-DEVICE`, `route-DEVICE`, `route6-DEVICE`: the one place these names are made. */
export function configFileName(kind: 'ifcfg' | 'route' | 'route6', device: string): string {
  return `${kind}-${checkInterfaceName(device, 'Device')}`;
}

export function checkInterfaceName(name: string, what: string, key?: string): string {
  if (!isInterfaceName(name)) {
    throw new IfcfgError('InvalidValue', `${what} ${JSON.stringify(name)} is not a valid interface name.`, {
      ...(key !== undefined ? { key } : {}),
      hint: 'Use 1–15 characters from A–Z, a–z, 0–9, "_", "." and "-", not starting with "." or "-".',
    });
  }
  return name;
}

/** The MAC in upper case, the form initscripts compares against (it upper-cases HWADDR/MACADDR). */
export function checkUnicastMac(mac: string, what: string, key?: string): string {
  const bad = (why: string): IfcfgError =>
    new IfcfgError('InvalidValue', `${what} ${JSON.stringify(mac)} ${why}.`, key !== undefined ? { key } : {});
  if (!isMacAddress(mac)) throw bad('is not a MAC address like 52:54:00:12:34:56');
  const first = parseInt(mac.slice(0, 2), 16);
  // A bridge cannot take a group or all-zero address (the kernel's is_valid_ether_addr).
  if ((first & 1) === 1) throw bad('is a multicast address');
  if (/^(00:){5}00$/.test(mac)) throw bad('is all zeros');
  return mac.toUpperCase();
}

export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** Plain IPv6 text (no zone, no prefix); `::` and a trailing dotted IPv4 part are allowed. */
export function isIpv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(s)) return false;
  let body = s;
  if (s.includes('.')) {
    const k = s.lastIndexOf(':');
    if (k < 0 || !isIpv4(s.slice(k + 1))) return false;
    body = `${s.slice(0, k + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => g.every((x) => IPV6_GROUP.test(x)))) return false;
  const count = groups.reduce((n, g) => n + g.length, 0);
  return halves.length === 1 ? count === 8 : count <= 7;
}

export function parsePrefix(s: string, max: number): number | undefined {
  if (!DECIMAL.test(s) || s.length > 3) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/** The prefix length of a contiguous IPv4 netmask, or undefined. */
export function netmaskToPrefix(s: string): number | undefined {
  if (!isIpv4(s)) return undefined;
  const m = s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const inverted = 0xffffffff - m;
  // The host part must be all ones: inverted + 1 is then a power of two.
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return 32 - Math.log2(inverted + 1);
}

/** Host names go into `eval` in initscripts (set_hostname_options), so only LDH labels are allowed. */
export function isHostname(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => HOSTNAME_LABEL.test(l));
}

export function isBoolean(s: string): boolean {
  return BOOLEAN.test(s);
}

export function isTrue(s: string | undefined): boolean {
  return s !== undefined && TRUE.test(s);
}

export function isFalse(s: string | undefined): boolean {
  return s !== undefined && FALSE.test(s);
}

export function isInteger(s: string): boolean {
  return INTEGER.test(s);
}

export function isMtu(s: string): boolean {
  if (!DECIMAL.test(s) || s.length > 5) return false;
  const n = Number(s);
  return n >= 68 && n <= 65535;
}
