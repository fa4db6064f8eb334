// SPDX-License-Identifier: GPL-2.0-or-later
// What the page knows of the service's D-Bus API, with no DOM and no Cockpit in it (so the unit
// tests compile it with the daemon's tsconfig and check it against the spec): names, the typed
// decoding of ListInterfaces' reply as cockpit.dbus hands it over (JSON, variants as {t, v}),
// an error's title, message and hint, and what a guest needs to attach to a bridge.

import { parseErrorMessage } from '../../src/service/error-message';
import type { ListedInterface } from '../../src/service/listed-interface';

export const BUS_NAME = 'org.fedoraproject.SharedInterface';
export const OBJECT_PATH = '/org/fedoraproject/SharedInterface';
export const INTERFACE_NAME = 'org.fedoraproject.SharedInterface';
export const ERROR_PREFIX = `${INTERFACE_NAME}.Error`;

export type { ListedInterface };

export class ReplyFormatError extends Error {}

/** Marks a text for translation where it is shown, not here (this file runs without Cockpit). */
const N_ = (text: string): string => text;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A variant's value, when it has the expected D-Bus signature; the fallback when absent. */
function variant<T>(details: Record<string, unknown>, key: string, signature: string, check: (v: unknown) => v is T, fallback: T): T {
  const entry = details[key];
  if (entry === undefined) return fallback;
  if (!isRecord(entry) || entry['t'] !== signature || !check(entry['v'])) {
    throw new ReplyFormatError(`ListInterfaces: detail '${key}' is not of type ${signature}`);
  }
  return entry['v'];
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** ListInterfaces' reply, `a(ssa{sv})`, as cockpit.dbus delivers it (the out-arguments' array). */
export function decodeInterfaces(reply: unknown): ListedInterface[] {
  if (!Array.isArray(reply) || !Array.isArray(reply[0])) throw new ReplyFormatError('ListInterfaces: the reply is not a(ssa{sv})');
  return reply[0].map((entry: unknown) => {
    if (!Array.isArray(entry) || !isString(entry[0]) || !isString(entry[1]) || !isRecord(entry[2])) {
      throw new ReplyFormatError('ListInterfaces: an entry is not (ssa{sv})');
    }
    const details = entry[2];
    return {
      name: entry[0],
      bridge: entry[1],
      type: variant(details, 'type', 's', isString, ''),
      mac: variant(details, 'mac', 's', isString, ''),
      carrier: variant(details, 'carrier', 'b', isBoolean, false),
      shareable: variant(details, 'shareable', 'b', isBoolean, false),
      reason: variant(details, 'reason', 's', isString, ''),
      addresses: variant(details, 'addresses', 'as', isStrings, []),
      notes: variant(details, 'notes', 'as', isStrings, []),
      mode: variant(details, 'mode', 's', isString, ''),
    };
  });
}

/**
 * Seconds a change made from the page waits for the page's Confirm before the host undoes it by
 * itself (where the service has confirm-timeout): the browser is remote, and a change that cuts
 * it off must not stay.
 */
export const CONFIRM_TIMEOUT_SECONDS = 60;

/** The Share dialog's help for the forward delay: the service's own words for the option
 *  (test/unit/forward-delay-doc.test.ts keeps them equal to src/bridge/share-request.ts's). */
export const FORWARD_DELAY_HELP = N_('With STP on, the seconds a new port listens and then learns before it forwards (2 to 30; 0, the default, means the usual 15). With STP off the bridge forwards at once and the delay is not used.');

/** A string property from Properties.Get's reply as cockpit.dbus delivers it: [{t: 's', v}]. */
export function decodeStringProperty(reply: unknown, name: string): string {
  const value = Array.isArray(reply) ? reply[0] : undefined;
  if (!isRecord(value) || value['t'] !== 's' || !isString(value['v'])) throw new ReplyFormatError(`${name} is not a string`);
  return value['v'];
}

/** A change that awaits Confirm (the service's Pending property, a{s(sst)}). */
export interface PendingChange {
  readonly operation: string;
  readonly bridge: string;
  /** When the host undoes it by itself, in milliseconds since the epoch. */
  readonly deadline: number;
}

/** Properties.Get's reply for Pending as cockpit.dbus delivers it: [{t: 'a{s(sst)}', v: {nic: [op, bridge, µs]}}]. */
export function decodePending(reply: unknown): Map<string, PendingChange> {
  const value = Array.isArray(reply) ? reply[0] : undefined;
  if (!isRecord(value) || value['t'] !== 'a{s(sst)}' || !isRecord(value['v'])) throw new ReplyFormatError('Pending is not a{s(sst)}');
  return new Map(Object.entries(value['v']).map(([nic, entry]): [string, PendingChange] => {
    if (!Array.isArray(entry) || !isString(entry[0]) || !isString(entry[1]) || typeof entry[2] !== 'number') {
      throw new ReplyFormatError(`Pending: the entry of ${nic} is not (sst)`);
    }
    return [nic, { operation: entry[0], bridge: entry[1], deadline: entry[2] / 1000 }];
  }));
}

/** A `Progress(s interface, s step, s message)` signal's arguments, when well-formed. */
export interface ProgressStep {
  readonly nic: string;
  readonly step: string;
  readonly message: string;
}

export function decodeProgress(args: unknown): ProgressStep | undefined {
  if (!Array.isArray(args) || !isString(args[0]) || !isString(args[1]) || !isString(args[2])) return undefined;
  return { nic: args[0], step: args[1], message: args[2] };
}

/** An error as a person reads it: what went wrong, the service's message, and its hint. */
export interface ErrorView {
  readonly title: string;
  readonly message: string;
  readonly hint: string;
}

const ERROR_TITLES: Readonly<Record<string, string>> = {
  'org.freedesktop.DBus.Error.InvalidArgs': N_('The settings are not valid'),
  [`${ERROR_PREFIX}.NoSuchInterface`]: N_('The interface is gone'),
  [`${ERROR_PREFIX}.AlreadyShared`]: N_('The interface is already shared'),
  [`${ERROR_PREFIX}.NotShared`]: N_('The interface is not shared'),
  [`${ERROR_PREFIX}.NotShareable`]: N_('The interface cannot be shared'),
  [`${ERROR_PREFIX}.Busy`]: N_('The interface is busy'),
  [`${ERROR_PREFIX}.NotPending`]: N_('No change awaits confirmation'),
  [`${ERROR_PREFIX}.RolledBack`]: N_('The change was undone'),
  [`${ERROR_PREFIX}.BackendUnavailable`]: N_('The network configuration service is unavailable'),
  [`${ERROR_PREFIX}.NotSupported`]: N_('Not supported here'),
  [`${ERROR_PREFIX}.Failed`]: N_('The change failed'),
  'org.freedesktop.DBus.Error.AccessDenied': N_('Not permitted'),
  'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired': N_('Not permitted'),
  'org.freedesktop.DBus.Error.ServiceUnknown': N_('The shared-interface service is not available'),
  'org.freedesktop.DBus.Error.NameHasNoOwner': N_('The shared-interface service is not available'),
  'org.freedesktop.DBus.Error.NoReply': N_('The service did not answer'),
};

const ERROR_HINTS: Readonly<Record<string, string>> = {
  'org.freedesktop.DBus.Error.AccessDenied': N_('Turn on administrative access, or ask an administrator.'),
  'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired': N_('Turn on administrative access, or ask an administrator.'),
  'org.freedesktop.DBus.Error.ServiceUnknown': N_('Install the shared-interface package on this host.'),
};

function sentence(s: string): string {
  const t = s.trim();
  if (t === '') return t;
  return t[0]?.toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
}

/**
 * The service's errors carry a message and maybe a hint (error-message.ts). A name we don't
 * know still gets a readable title; a raw D-Bus name is never all a user sees. The title and
 * our own hints are in English here; the page translates them where it shows them. The
 * service's message is the service's (docs/translations.md).
 */
export function describeError(name: string | undefined, message: string | undefined): ErrorView {
  const parsed = parseErrorMessage(message ?? '');
  const hint = (parsed.hint ?? '').replaceAll('\n', ' ');
  const text = parsed.message.replaceAll('\n', ' ').trim();
  const title = (name !== undefined ? ERROR_TITLES[name] : undefined) ?? N_('The request failed');
  return {
    title,
    message: sentence(text === '' ? title : text),
    hint: sentence(hint !== '' ? hint : (name !== undefined ? ERROR_HINTS[name] ?? '' : '')),
  };
}

/** Every error name the page has a title for (a unit test checks it covers the spec's). */
export const KNOWN_ERROR_NAMES: readonly string[] = Object.keys(ERROR_TITLES);

/** Guests on a Busy error's message ("guests are still attached to br-eth0: vnet0, vnet1"). */
export function attachedGuests(message: string): string[] {
  const m = /guests are still attached to \S+: ([^\n]+)/.exec(message);
  return m?.[1] === undefined ? [] : m[1].split(',').map((g) => g.trim()).filter((g) => g !== '');
}

/** The bridge name the service picks when none is given, where it is br-<nic> (15 bytes at most). */
export function defaultBridgeName(nic: string, taken: ReadonlySet<string>): string {
  const preferred = `br-${nic}`;
  return new TextEncoder().encode(preferred).length <= 15 && !taken.has(preferred) ? preferred : '';
}

/** How a libvirt guest attaches to the bridge: the domain XML and virt-install's option. */
export function guestSnippets(bridge: string): { readonly xml: string; readonly virtInstall: string } {
  return {
    xml: `<interface type='bridge'>\n  <source bridge='${bridge}'/>\n  <model type='virtio'/>\n</interface>`,
    virtInstall: `virt-install --network bridge=${bridge}`,
  };
}
