// SPDX-License-Identifier: GPL-2.0-or-later
// Pure translation of "share this NIC through a bridge" into initscripts ifcfg files: the NIC's IP
// configuration moves to a new ifcfg-<bridge>, and ifcfg-<nic> becomes a bridge port. No I/O here;
// the caller snapshots, writes atomically and restores (unshare puts the old files back byte for byte,
// so there is no reverse translation).

import { IfcfgError } from './ifcfg-error';
import { formatShvar, parseShvar, shvarGet, shvarKeys, shvarProblems, shvarSet, type ShvarFile } from './ifcfg-shvar';
import { BOOTPROTOS, parseIpv6WithPrefix, splitList } from './ifcfg-ip-reader';
import {
  checkInterfaceName,
  configFileName,
  checkUnicastMac,
  isBoolean,
  isHostname,
  isInteger,
  isInterfaceName,
  isIpv4,
  isIpv6,
  isMtu,
  isTrue,
  netmaskToPrefix,
  parsePrefix,
} from './ifcfg-validate';

export interface IfcfgShareInput {
  /** The NIC's parsed ifcfg file, or undefined when it has none. */
  readonly nicFile: ShvarFile | undefined;
  readonly nic: string;
  readonly nicMac: string;
  readonly bridge: string;
  readonly stp: boolean;
  /** Bridge forward delay in whole seconds, 0–30. */
  readonly forwardDelay: number;
}

export interface IfcfgShareFiles {
  readonly bridgeFileName: string;
  readonly bridgeText: string;
  readonly nicFileName: string;
  readonly nicText: string;
}

type KeyKind =
  | 'bootproto'
  | 'ipv4'
  | 'ipv4-prefix'
  | 'ipv4-netmask'
  | 'ip'
  | 'ipv6-address'
  | 'ipv6-addresses'
  | 'ipv6-gateway'
  | 'device'
  | 'boolean'
  | 'integer'
  | 'mtu'
  | 'hostname'
  | 'text';

// Keys that configure IP on the device that carries it: they leave the NIC for the bridge.
const NUMBERED_IP_KEYS: readonly (readonly [RegExp, KeyKind])[] = [
  [/^IPADDR[0-9]*$/, 'ipv4'],
  [/^PREFIX[0-9]*$/, 'ipv4-prefix'],
  [/^NETMASK[0-9]*$/, 'ipv4-netmask'],
  [/^GATEWAY[0-9]*$/, 'ipv4'],
  [/^BROADCAST[0-9]*$/, 'ipv4'],
  [/^ARPCHECK[0-9]*$/, 'boolean'],
  [/^ARPUPDATE[0-9]*$/, 'boolean'],
  [/^DNS[0-9]+$/, 'ip'],
];

// A Map, not an object literal: keys come from files, and `constructor=` is a valid shell name.
const NAMED_IP_KEYS: ReadonlyMap<string, KeyKind> = new Map<string, KeyKind>([
  ['BOOTPROTO', 'bootproto'],
  ['SRCADDR', 'ipv4'],
  ['DEFROUTE', 'boolean'],
  ['PEERDNS', 'boolean'],
  ['PEERROUTES', 'boolean'],
  ['PERSISTENT_DHCLIENT', 'boolean'],
  ['DHCP_SEND_HOSTNAME', 'boolean'],
  ['IPV4_FAILURE_FATAL', 'boolean'],
  ['IPV6INIT', 'boolean'],
  ['IPV6_AUTOCONF', 'boolean'],
  ['IPV6_DEFROUTE', 'boolean'],
  ['IPV6_PEERDNS', 'boolean'],
  ['IPV6_PEERROUTES', 'boolean'],
  ['IPV6_FAILURE_FATAL', 'boolean'],
  ['IPV6_SET_SYSCTLS', 'boolean'],
  ['IPV6_DISABLED', 'boolean'],
  ['IPV6FORWARDING', 'boolean'],
  ['DHCPV6C', 'boolean'],
  ['METRIC', 'integer'],
  ['WINDOW', 'integer'],
  ['IPV4_ROUTE_METRIC', 'integer'],
  ['IPV6_ROUTE_METRIC', 'integer'],
  ['IPV4_ROUTE_TABLE', 'integer'],
  ['IPV6_ROUTE_TABLE', 'integer'],
  ['IPV4_DNS_PRIORITY', 'integer'],
  ['IPV6_DNS_PRIORITY', 'integer'],
  ['IPV4_DHCP_TIMEOUT', 'integer'],
  ['IPV6_RA_TIMEOUT', 'integer'],
  ['IPV6_MTU', 'mtu'],
  ['IPV6ADDR', 'ipv6-address'],
  ['IPV6ADDR_SECONDARIES', 'ipv6-addresses'],
  ['IPV6_DEFAULTGW', 'ipv6-gateway'],
  ['GATEWAYDEV', 'device'],
  ['IPV6_DEFAULTDEV', 'device'],
  // initscripts pastes these into `eval` (set_hostname_options), so they must be plain host names.
  ['DHCP_HOSTNAME', 'hostname'],
  ['DHCP_FQDN', 'hostname'],
  ['DHCPV6_HOSTNAME', 'hostname'],
  ['DHCPV6_FQDN', 'hostname'],
  ['DOMAIN', 'text'],
  ['RES_OPTIONS', 'text'],
  ['IPV6_RES_OPTIONS', 'text'],
  ['DHCP_CLIENT_ID', 'text'],
  ['DHCP_VENDOR_CLASS_IDENTIFIER', 'text'],
  ['DHCLIENTARGS', 'text'],
  ['DHCPV6C_OPTIONS', 'text'],
  ['DHCPV6_DUID', 'text'],
  ['DHCPV6_IAID', 'text'],
  ['IPV6_PRIVACY', 'text'],
  ['IPV6_ADDR_GEN_MODE', 'text'],
  ['IPV6_TOKEN', 'text'],
  ['NOZEROCONF', 'text'],
  ['ZONE', 'text'],
]);

// MTU is a link property both devices need (a bridge cannot exceed its port's MTU), so it is copied.
const COPIED_KEYS: ReadonlyMap<string, KeyKind> = new Map<string, KeyKind>([['MTU', 'mtu']]);

function movedKeyKind(key: string): KeyKind | undefined {
  const named = NAMED_IP_KEYS.get(key);
  if (named !== undefined) return named;
  return NUMBERED_IP_KEYS.find(([re]) => re.test(key))?.[1];
}


/** The first words of every file we write: how a bridge file is recognised as ours. */
export const OUR_FILE_MARKER = '# Created by shared-interface:';

/** Builds ifcfg-<bridge> and the rewritten ifcfg-<nic>. Every input is validated before use. */
export function translateIfcfgShare(input: IfcfgShareInput): IfcfgShareFiles {
  const nic = checkInterfaceName(input.nic, 'NIC name');
  const bridge = checkInterfaceName(input.bridge, 'Bridge name');
  if (nic === bridge) {
    throw new IfcfgError('InvalidValue', `The bridge cannot be named like the NIC (${nic}).`);
  }
  const mac = checkUnicastMac(input.nicMac, 'NIC MAC address');
  const delay = bridgeDelay(input.stp, input.forwardDelay);

  const nicFile = input.nicFile;
  if (nicFile !== undefined) checkNicFile(nicFile, nic, mac);

  let br = parseShvar(
    `${OUR_FILE_MARKER} ${bridge} carries the IP configuration of ${nic}.\n` +
      '# Unsharing restores the previous files.\n',
  );
  br = shvarSet(br, 'DEVICE', bridge);
  // ifup compares TYPE case-sensitively with "Bridge".
  br = shvarSet(br, 'TYPE', 'Bridge');
  br = shvarSet(br, 'ONBOOT', 'yes');
  // A NIC without a file was left to DHCP; one with a file but no BOOTPROTO was static (or unaddressed).
  const bootproto = nicFile === undefined ? 'dhcp' : shvarGet(nicFile, 'BOOTPROTO') || 'none';
  br = shvarSet(br, 'BOOTPROTO', checkMovedValue('BOOTPROTO', 'bootproto', bootproto, nic, bridge));

  let port = nicFile ?? newPortFile(nic, bridge);
  if (nicFile !== undefined) {
    for (const key of shvarKeys(nicFile)) {
      const moved = movedKeyKind(key);
      const kind = moved ?? COPIED_KEYS.get(key);
      if (kind === undefined) continue;
      // BOOTPROTO stays on its line: it is rewritten to none below.
      if (moved !== undefined && key !== 'BOOTPROTO') port = shvarSet(port, key, undefined);
      const value = shvarGet(nicFile, key);
      // initscripts tests values with [ -n ]: an empty value is an unset key and is not carried over.
      if (value === undefined || value === '' || key === 'BOOTPROTO') continue;
      br = shvarSet(br, key, checkMovedValue(key, kind, value, nic, bridge));
    }
  }

  br = shvarSet(br, 'STP', input.stp ? 'yes' : 'no');
  br = shvarSet(br, 'DELAY', delay);
  // MACADDR, never HWADDR: ifup-eth bails out when a bridge's HWADDR does not match the device.
  br = shvarSet(br, 'MACADDR', mac);
  br = shvarSet(br, 'NM_CONTROLLED', 'no');

  port = shvarSet(port, 'BRIDGE', bridge);
  port = shvarSet(port, 'BOOTPROTO', 'none');
  // A port that stays down at boot leaves the bridge without its uplink.
  port = shvarSet(port, 'ONBOOT', 'yes');
  // The port of a bridge NetworkManager must not touch must not be touched either.
  port = shvarSet(port, 'NM_CONTROLLED', 'no');

  return {
    bridgeFileName: configFileName('ifcfg', bridge),
    bridgeText: formatShvar(br),
    nicFileName: configFileName('ifcfg', nic),
    nicText: formatShvar(port),
  };
}

function newPortFile(nic: string, bridge: string): ShvarFile {
  let f = parseShvar(`${OUR_FILE_MARKER} ${nic} is a port of ${bridge}.\n`);
  f = shvarSet(f, 'DEVICE', nic);
  f = shvarSet(f, 'TYPE', 'Ethernet');
  return f;
}

// What ifcfg supports, decided here once: bridges without STP. The domain plans a forward delay of
// 2–30 s with STP and none without (planShare). initscripts ≥ 10 passes DELAY straight to `ip link …
// forward_delay`, which counts centiseconds, and with STP on also sleeps DELAY*2+7 *seconds*
// (LINKDELAY in ifup-eth): no DELAY value gives an STP bridge its delay, so STP is NotSupported.
function bridgeDelay(stp: boolean, seconds: number): string {
  if (stp) {
    throw new IfcfgError('Unsupported', 'initscripts cannot give a bridge with STP its forward delay.', {
      hint: 'Share without STP (the default), or with NetworkManager running.',
    });
  }
  if (seconds !== 0) {
    throw new IfcfgError('InvalidValue', `Forward delay ${seconds} without STP: a bridge without STP forwards at once (0).`);
  }
  return '0';
}

function checkNicFile(file: ShvarFile, nic: string, mac: string): void {
  const problem = shvarProblems(file)[0];
  if (problem !== undefined) {
    // Lines we cannot read could re-add what we remove, or run commands; we will not rewrite around them.
    throw new IfcfgError('InvalidSyntax', `ifcfg-${nic}: ${problem.message}.`, {
      ...(problem.key !== undefined ? { key: problem.key } : {}),
      line: problem.line,
      hint: 'Simplify that line to KEY=value (quote with single quotes) or remove it, then share again.',
    });
  }
  const device = shvarGet(file, 'DEVICE');
  if (device !== undefined && device !== '' && device !== nic) {
    throw new IfcfgError('Mismatch', `ifcfg-${nic} configures device ${JSON.stringify(device)}, not ${nic}.`, {
      key: 'DEVICE',
    });
  }
  const hwaddr = shvarGet(file, 'HWADDR');
  if (hwaddr !== undefined && hwaddr !== '' && checkUnicastMac(hwaddr, 'HWADDR', 'HWADDR') !== mac) {
    throw new IfcfgError('Mismatch', `ifcfg-${nic} is bound to MAC ${hwaddr}, but ${nic} has ${mac}.`, {
      key: 'HWADDR',
    });
  }
  if (shvarGet(file, 'TYPE') === 'Bridge') {
    throw new IfcfgError('Unsupported', `${nic} is itself a bridge and cannot be a bridge port.`, { key: 'TYPE' });
  }
  for (const key of ['BRIDGE', 'MASTER', 'TEAM_MASTER', 'OVS_BRIDGE']) {
    const v = shvarGet(file, key);
    if (v !== undefined && v !== '') {
      throw new IfcfgError('Unsupported', `${nic} is already a port of ${v} (${key}).`, { key });
    }
  }
  if (isTrue(shvarGet(file, 'SLAVE'))) {
    throw new IfcfgError('Unsupported', `${nic} is a bonding port (SLAVE=yes).`, { key: 'SLAVE' });
  }
}

// Validates a value before it moves to the bridge; device references to the NIC follow it.
function checkMovedValue(key: string, kind: KeyKind, value: string, nic: string, bridge: string): string {
  const bad = (what: string): IfcfgError =>
    new IfcfgError('InvalidValue', `${key}=${JSON.stringify(value)} is not ${what}.`, {
      key,
      hint: `Correct ${key} in ifcfg-${nic}, then share again.`,
    });
  switch (kind) {
    case 'bootproto':
      if (!(BOOTPROTOS as readonly string[]).includes(value)) throw bad(`one of ${BOOTPROTOS.join(', ')}`);
      return value;
    case 'ipv4':
      if (!isIpv4(value)) throw bad('an IPv4 address');
      return value;
    case 'ipv4-prefix':
      if (parsePrefix(value, 32) === undefined) throw bad('an IPv4 prefix length');
      return value;
    case 'ipv4-netmask':
      if (netmaskToPrefix(value) === undefined) throw bad('an IPv4 netmask');
      return value;
    case 'ip':
      if (!isIpv4(value) && !isIpv6(value)) throw bad('an IP address');
      return value;
    case 'ipv6-address':
      if (parseIpv6WithPrefix(value) === undefined) throw bad('an IPv6 address with an optional /prefix');
      return value;
    case 'ipv6-addresses':
      if (splitList(value).some((a) => parseIpv6WithPrefix(a) === undefined)) {
        throw bad('a list of IPv6 addresses with optional /prefix');
      }
      return value;
    case 'ipv6-gateway': {
      const [address, dev, ...rest] = value.split('%');
      if (address === undefined || !isIpv6(address) || rest.length > 0) throw bad('an IPv6 address[%device]');
      if (dev === undefined) return value;
      if (!isInterfaceName(dev)) throw bad('an IPv6 address[%device]');
      return dev === nic ? `${address}%${bridge}` : value;
    }
    case 'device':
      if (!isInterfaceName(value)) throw bad('an interface name');
      return value === nic ? bridge : value;
    case 'boolean':
      if (!isBoolean(value)) throw bad('yes or no');
      return value;
    case 'integer':
      if (!isInteger(value)) throw bad('an integer');
      return value;
    case 'mtu':
      if (!isMtu(value)) throw bad('an MTU from 68 to 65535');
      return value;
    case 'hostname':
      if (!isHostname(value)) throw bad('a host name');
      return value;
    case 'text':
      // Free text is escaped by shvarSet, which also refuses control characters.
      return value;
  }
}

