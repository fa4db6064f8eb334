// SPDX-License-Identifier: GPL-2.0-or-later
// The CLI's calls to the service: what any other D-Bus client would send and receive.
import { BusCallError, type BusConnection } from '../dbus-wire/bus-connection';
import * as t from '../dbus-wire/bus-value';
import { callSeconds, type ShareOptions } from '../bridge/share-request';
import { decodeInterfaceListing, type ListedInterface } from '../service/interface-listing';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../service/shared-interface-spec';

export type { ListedInterface };

// A person answering a polkit agent's password prompt, before the change itself starts.
const AUTHORIZATION_PROMPT_SECONDS = 120;

/** How long to wait for Share or Unshare: the service's own limit for these options (callSeconds), and a prompt. */
export function changeTimeoutMs(options: Partial<Pick<ShareOptions, 'stp' | 'forwardDelay'>> = {}): number {
  return (callSeconds(options) + AUTHORIZATION_PROMPT_SECONDS) * 1000;
}

/**
 * A method of the service. A person at the CLI can answer a polkit agent's prompt, so the call
 * allows interactive authorization unless told not to (as busctl and gdbus call by default).
 */
export async function callService(
  bus: BusConnection, member: string, signature = '', body: unknown[] = [], timeoutMs = 180_000, allowInteractiveAuthorization = true,
): Promise<unknown[]> {
  return bus.call({
    destination: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member, signature, body,
    allowInteractiveAuthorization,
    timeoutMs,
  });
}

/** ListInterfaces; with `all`, ListInterfacesFiltered's every interface (its options a{sv}). */
export async function listInterfaces(bus: BusConnection, all = false): Promise<ListedInterface[]> {
  const [reply] = all ? await callService(bus, 'ListInterfacesFiltered', 'a{sv}', [{ all: t.makeVariant('b', true) }]) : await callService(bus, 'ListInterfaces');
  return decodeInterfaceListing(reply);
}

/** A property of the service, as the variant it came in. */
export async function serviceProperty(bus: BusConnection, name: string): Promise<t.Variant> {
  const [value] = await bus.call({
    destination: BUS_NAME, path: OBJECT_PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get',
    signature: 'ss', body: [INTERFACE_NAME, name], timeoutMs: 30_000,
  });
  return t.variant.decode(value);
}

async function typedProperty<T>(bus: BusConnection, name: string, codec: t.Codec<T>): Promise<T> {
  return t.fromVariant(codec, await serviceProperty(bus, name), name);
}

export function serviceVersion(bus: BusConnection): Promise<string> {
  return typedProperty(bus, 'Version', t.string);
}

/** The Shared property: every shared NIC → its bridge. */
export function sharedInterfaces(bus: BusConnection): Promise<Map<string, string>> {
  return typedProperty(bus, 'Shared', t.dict(t.string));
}

/** A change awaiting Confirm, from the Pending property. */
export interface PendingChange {
  readonly operation: string;
  readonly bridge: string;
  /** Rolled back at this time (ms since the epoch) unless confirmed. */
  readonly deadline: number;
}

const pendingCodec = t.dict(t.struct<[string, string, number]>(t.string, t.string, t.uint64));

/** The Pending property: every interface whose change awaits Confirm. */
export async function pendingChanges(bus: BusConnection): Promise<Map<string, PendingChange>> {
  const pending = await typedProperty(bus, 'Pending', pendingCodec);
  return new Map([...pending].map(([nic, [operation, bridge, deadlineUs]]) => [nic, { operation, bridge, deadline: Math.floor(deadlineUs / 1000) }]));
}

/** What a user can do about an error the bus itself (not the service) answered. */
export function busErrorHint(err: BusCallError): string | undefined {
  const name = err.errorName;
  if (name === 'org.freedesktop.DBus.Error.NoServer') {
    return 'is the system bus running (systemctl status dbus.service)? DBUS_SYSTEM_BUS_ADDRESS selects another bus';
  }
  if (name === 'org.freedesktop.DBus.Error.ServiceUnknown' || name === 'org.freedesktop.DBus.Error.NameHasNoOwner' || name.startsWith('org.freedesktop.DBus.Error.Spawn.')) {
    return `is shared-interface installed (rpm -q shared-interface)? Its log: journalctl -u shared-interface.service`;
  }
  if (name === 'org.freedesktop.DBus.Error.AccessDenied' || name === 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired') {
    return `run as root, or as a user polkit allows ${BUS_NAME}.share-interface (pkaction --verbose --action-id ${BUS_NAME}.share-interface)`;
  }
  if (name === 'org.freedesktop.DBus.Error.NoReply' || name === 'org.freedesktop.DBus.Error.Timeout') {
    return 'the service did not answer in time; its log: journalctl -u shared-interface.service';
  }
  return undefined;
}

export { BusCallError };
