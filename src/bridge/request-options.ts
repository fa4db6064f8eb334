// SPDX-License-Identifier: GPL-2.0-or-later
// Every option a caller may give a method, said once: its key on the bus, wire type, range,
// default and what it means. The adapter's codec, the D-Bus spec's documentation (and so the
// introspection XML and the API's man page), and the CLI's flags, help and man page are made from
// this table; the Cockpit page and the Ansible module are checked against it by tests. Adding an
// option is one row here, one name in METHOD_OPTIONS, and what the backends do with it.
import {
  DEFAULT_ROLLBACK_TIMEOUT_SECONDS, FORWARD_DELAY_DOC, SHARE_MODES, MAX_CONFIRM_TIMEOUT_SECONDS, MAX_FORWARD_DELAY_SECONDS, MAX_ROLLBACK_TIMEOUT_SECONDS,
  type ShareOptions, type UnshareOptions,
} from './share-request';

interface Row<Type extends 's' | 'b' | 'u', Value> {
  /** The key in the method's a{sv}. */
  readonly key: string;
  /** Its D-Bus type: s, b or u. */
  readonly type: Type;
  /** Absent: derived from the request (the bridge's name from the interface's). */
  readonly default?: Value;
  /** Inclusive bounds of a number. */
  readonly min?: number;
  readonly max?: number;
  /** One line: what it does. */
  readonly doc: string;
  /** A boolean that defaults to true: what false does, for clients that offer turning it off. */
  readonly whenFalse?: string;
}

type StringRow = Row<'s', string> & {
  /** The only values a string may take; any other is InvalidArgs. */
  readonly choices?: readonly string[];
};
type BooleanRow = Row<'b', boolean>;
type SecondsRow = Row<'u', number> & { readonly min: number; readonly max: number; readonly default: number };
export type OptionRow = StringRow | BooleanRow | SecondsRow;

export const REQUEST_OPTIONS = {
  bridge: { key: 'bridge', type: 's', doc: 'the bridge\'s name; default derived from the interface\'s (br-eth0 for eth0)' },
  mode: {
    key: 'mode', type: 's', default: 'bridge', choices: SHARE_MODES,
    doc: 'bridge: the interface becomes a port of the guests\' bridge; routed: the interface stays as it is, and guests on a bridge of their own get addresses from the LAN\'s DHCP server through a relay while the host answers ARP for them and routes to each (for an uplink that accepts only the host\'s MAC: Wi-Fi, a MAC-locked switch port); auto: routed where bridging cannot work (a Wi-Fi station), else bridge',
  },
  stp: { key: 'stp', type: 'b', default: false, doc: 'turn on the spanning tree protocol on the bridge (a single host NIC needs no loop protection)' },
  forwardDelay: { key: 'forward-delay', type: 'u', default: 0, min: 0, max: MAX_FORWARD_DELAY_SECONDS, doc: FORWARD_DELAY_DOC },
  rollbackTimeout: {
    key: 'rollback-timeout', type: 'u', default: DEFAULT_ROLLBACK_TIMEOUT_SECONDS, min: 1, max: MAX_ROLLBACK_TIMEOUT_SECONDS,
    doc: 'seconds before a change that could not be verified is rolled back by the backend itself',
  },
  persist: {
    key: 'persist', type: 'b', default: true,
    doc: 'write the profiles to disk, so the change outlives a reboot or a restart of NetworkManager',
    whenFalse: 'keep the change in memory only: a reboot or a restart of NetworkManager undoes it',
  },
  firewall: {
    key: 'firewall', type: 'b', default: true,
    doc: 'add rules accepting traffic within the bridge where iptables or nftables would drop it (bridge-nf-call-iptables on), each commented "shared-interface bridge NAME" and removed by Unshare',
    whenFalse: 'leave the firewall alone, even where it would drop the guests\' traffic across the bridge',
  },
  confirmTimeout: {
    key: 'confirm-timeout', type: 'u', default: 0, min: 0, max: MAX_CONFIRM_TIMEOUT_SECONDS,
    doc: 'seconds; 0 is off. The verified change stays under its checkpoint until Confirm is called, and is rolled back when it is not called in time (by NetworkManager\'s own checkpoint timer too, should the service die meanwhile)',
  },
  force: { key: 'force', type: 'b', default: false, doc: 'unshare even if guests are still attached to the bridge (they lose the network)' },
  inactive: { key: 'inactive', type: 'b', default: false, doc: 'the configured state (NetworkManager profile or ifcfg file) instead of the live one, as `virsh iface-dumpxml --inactive`' },
  all: { key: 'all', type: 'b', default: false, doc: 'every interface, including those ListInterfaces leaves out (loopback, tun and tap devices, unmanaged veths, ports of a bridge, bond or team)' },
} as const satisfies Readonly<Record<string, OptionRow>>;

export type OptionName = keyof typeof REQUEST_OPTIONS;

/** Which options each method takes, in the order its documentation lists them. */
export const METHOD_OPTIONS = {
  Share: ['bridge', 'mode', 'stp', 'forwardDelay', 'rollbackTimeout', 'persist', 'firewall', 'confirmTimeout'],
  Unshare: ['force', 'rollbackTimeout', 'confirmTimeout'],
  DefineInterfaceXML: ['rollbackTimeout', 'persist', 'firewall', 'confirmTimeout'],
  GetInterfaceXML: ['inactive'],
  ListInterfacesFiltered: ['all'],
} as const satisfies Readonly<Record<string, readonly OptionName[]>>;

export type OptionsMethod = keyof typeof METHOD_OPTIONS;

export function optionRow(name: OptionName): OptionRow {
  return REQUEST_OPTIONS[name];
}

/** "key (u, 1 to 3600, default 60): doc", as the spec, the man page and a client's help say it. */
export function describeOption(name: OptionName): string {
  const row = optionRow(name);
  const facts: string[] = [row.type];
  if (row.type === 's' && row.choices !== undefined) facts.push(`one of ${row.choices.join(', ')}`);
  if (row.type === 'u') facts.push(`${row.min} to ${row.max}`);
  if (row.default !== undefined) facts.push(`default ${String(row.default)}`);
  const whenFalse = row.whenFalse === undefined ? '' : `; false: ${row.whenFalse}`;
  return `${row.key} (${facts.join(', ')}): ${row.doc.replace(/\.$/, '')}${whenFalse}`;
}

/** Why `value` is not one of a string option's choices, or undefined when it is (or any value goes). */
export function choiceProblem(name: OptionName, value: string): string | undefined {
  const row = optionRow(name);
  if (row.type !== 's' || row.choices === undefined || row.choices.includes(value)) return undefined;
  return `option '${row.key}' must be one of ${row.choices.join(', ')}, not '${value}'`;
}

/** The documentation of a method's a{sv} options, one clause per option. */
export function describeOptions(method: OptionsMethod): string {
  return `${METHOD_OPTIONS[method].map(describeOption).join('; ')}.`;
}

/** The defaults of a method's options (those with one), by option name. */
export function optionDefaults(method: OptionsMethod): Record<string, string | boolean | number> {
  const out: Record<string, string | boolean | number> = {};
  for (const name of METHOD_OPTIONS[method]) {
    const row = optionRow(name);
    if (row.default !== undefined) out[name] = row.default;
  }
  return out;
}

export const DEFAULT_SHARE_OPTIONS = optionDefaults('Share') as unknown as ShareOptions;
export const DEFAULT_UNSHARE_OPTIONS = optionDefaults('Unshare') as unknown as UnshareOptions;
