// SPDX-License-Identifier: GPL-2.0-or-later
// The ListInterfaces reply, a(ssa{sv}), in one codec: the service encodes with it, the CLI and the
// tests decode with it, and the spec's out-argument is its wire type. Unknown detail keys are
// ignored when decoding, so a newer service still talks to an older client.
import * as t from '../dbus-wire/bus-value';
import type { ListedInterface } from './listed-interface';

export type { ListedInterface };

type Entry = [string, string, Map<string, t.Variant>];

export const interfaceListingCodec = t.array(t.struct<Entry>(t.string, t.string, t.vardict));
const strings = t.array(t.string);

export function encodeInterfaceListing(interfaces: readonly ListedInterface[]): Entry[] {
  return interfaces.map((i): Entry => [i.name, i.bridge, new Map([
    ['type', t.makeVariant('s', i.type)],
    ['mac', t.makeVariant('s', i.mac)],
    ['carrier', t.makeVariant('b', i.carrier)],
    ['shareable', t.makeVariant('b', i.shareable)],
    ['reason', t.makeVariant('s', i.reason)],
    ['addresses', t.makeVariant('as', [...i.addresses])],
    ['notes', t.makeVariant('as', [...i.notes])],
    ['mode', t.makeVariant('s', i.mode)],
  ])]);
}

function detail<T>(details: ReadonlyMap<string, t.Variant>, key: string, codec: t.Codec<T>, fallback: T): T {
  const value = details.get(key);
  return value === undefined ? fallback : t.fromVariant(codec, value, `ListInterfaces detail '${key}'`);
}

/** The reply's body[0], checked; a malformed reply throws BusDecodeError. */
export function decodeInterfaceListing(reply: unknown): ListedInterface[] {
  return interfaceListingCodec.decode(reply, 'ListInterfaces reply').map(([name, bridge, details]) => ({
    name,
    bridge,
    type: detail(details, 'type', t.string, ''),
    mac: detail(details, 'mac', t.string, ''),
    carrier: detail(details, 'carrier', t.boolean, false),
    shareable: detail(details, 'shareable', t.boolean, false),
    reason: detail(details, 'reason', t.string, ''),
    addresses: detail(details, 'addresses', strings, []),
    notes: detail(details, 'notes', strings, []),
    mode: detail(details, 'mode', t.string, ''),
  }));
}

/** What an InterfacesChanged signal says: the entries that appeared or changed, and those gone. */
export interface ListingChange {
  readonly changed: ListedInterface[];
  readonly removed: string[];
}

export const INTERFACES_CHANGED_SIGNATURE = `${interfaceListingCodec.signature}as`;

/** An InterfacesChanged signal's body, checked; a malformed one throws BusDecodeError. */
export function decodeInterfacesChanged(signature: string | undefined, body: readonly unknown[]): ListingChange {
  if (signature !== INTERFACES_CHANGED_SIGNATURE) throw new t.BusDecodeError('InterfacesChanged', `the signature ${INTERFACES_CHANGED_SIGNATURE}, not '${signature ?? ''}'`);
  return { changed: decodeInterfaceListing(body[0]), removed: strings.decode(body[1], 'InterfacesChanged removed') };
}
