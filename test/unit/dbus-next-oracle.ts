// SPDX-License-Identifier: GPL-2.0-or-later
// @particle/dbus-next as the oracle our wire code is checked against, byte for byte. Its values
// carry its own Variant class and ours src/dbus-wire's: they are converted here, at the oracle's
// edge, so neither side's code knows the other's.
import { Variant } from '../../src/dbus-wire/bus-value';

interface LibraryVariantClass { new (signature: string, value: unknown): { signature: string; value: unknown } }
const LibraryVariant = (require('@particle/dbus-next/lib/variant') as { Variant: LibraryVariantClass }).Variant;

function convert(value: unknown, variant: (signature: string, inner: unknown) => unknown, isVariant: (v: unknown) => v is { signature: string; value: unknown }): unknown {
  const walk = (v: unknown): unknown => {
    if (isVariant(v)) return variant(v.signature, walk(v.value));
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Map) return new Map([...v].map(([k, item]) => [k, walk(item)]));
    if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item)]));
    return v;
  };
  return walk(value);
}

/** Our values (body members) as the library marshals them. */
export function toLibrary<T>(value: T): T {
  return convert(value, (s, inner) => new LibraryVariant(s, inner), (v): v is Variant => v instanceof Variant) as T;
}

/** The library's values as ours. */
export function fromLibrary<T>(value: T): T {
  return convert(value, (s, inner) => new Variant(s, inner), (v): v is { signature: string; value: unknown } => v instanceof LibraryVariant) as T;
}
