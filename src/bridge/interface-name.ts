// SPDX-License-Identifier: GPL-2.0-or-later
import { ShareError } from './share-error';

// The one rule for interface names, for every backend. The kernel's (dev_valid_name) is 1..15
// bytes, not "." or "..", no '/', ':' or whitespace. Ours is stricter: names end up in NM
// profiles, ifcfg files sourced by bash, systemd unit names, iptables rules and commands people
// paste. So: letters, digits, '_', '.' and '-', not starting with '.' or '-' (ip and ifup would
// read "-x" as an option). No '%' (printf templates), no shell metacharacters, and no '+' (a
// trailing '+' is a wildcard in an iptables interface match, and systemd unit names refuse it).
const KERNEL_NAME_MAX_BYTES = 15;
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Why `name` is not an acceptable interface name, or undefined when it is. */
export function interfaceNameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'an interface name cannot be empty';
  if (bytes > KERNEL_NAME_MAX_BYTES) return `'${printable(name)}' is ${bytes} bytes long; interface names have at most ${KERNEL_NAME_MAX_BYTES}`;
  if (name === '.' || name === '..') return `'${name}' is not a valid interface name`;
  if (!SAFE_NAME.test(name)) return `'${printable(name)}' contains characters not allowed in an interface name (allowed: letters, digits, '_', '.' and '-', but not '.' or '-' first)`;
  return undefined;
}

export function isInterfaceName(name: string): boolean {
  return interfaceNameProblem(name) === undefined;
}

export function validateInterfaceName(name: string, what = 'interface'): string {
  const problem = interfaceNameProblem(name);
  if (problem !== undefined) throw new ShareError('InvalidArgs', `invalid ${what} name: ${problem}`);
  return name;
}

/** Shows control characters visibly, so an error message can't smuggle a newline into a log. */
export function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
