// SPDX-License-Identifier: GPL-2.0-or-later
// The methods' a{sv} options, from the bus into the domain's typed options, by the domain's one
// table of them (src/bridge/request-options.ts): key, wire type, range and default. Unknown keys,
// values of the wrong type and values out of range are InvalidArgs, never silently ignored.
import * as t from '../dbus-wire/bus-value';
import { ShareError } from '../bridge/share-error';
import type { DefineOptions } from '../bridge/libvirt-interfaces';
import type { ShareOptions, UnshareOptions } from '../bridge/share-request';
import { choiceProblem, METHOD_OPTIONS, optionDefaults, optionRow, type OptionName, type OptionsMethod } from '../bridge/request-options';

export interface InterfaceXmlOptions {
  readonly inactive: boolean;
}

export interface ListOptions {
  /** Every interface, not only those a person wants to see (listedByDefault). */
  readonly all: boolean;
}

// The table's names for a method are exactly its options type's properties: a row added to one
// and not the other does not compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Names<M extends OptionsMethod> = (typeof METHOD_OPTIONS)[M][number];
const tableMatchesTypes: [
  Same<Names<'Share'>, keyof ShareOptions>, Same<Names<'Unshare'>, keyof UnshareOptions>,
  Same<Names<'DefineInterfaceXML'>, keyof DefineOptions>, Same<Names<'GetInterfaceXML'>, keyof InterfaceXmlOptions>,
  Same<Names<'ListInterfacesFiltered'>, keyof ListOptions>,
] = [true, true, true, true, true];
void tableMatchesTypes;

const CODECS = { s: t.string, b: t.boolean, u: t.uint32 } as const;

function decodeOptions<T>(method: OptionsMethod, options: ReadonlyMap<string, t.Variant>): T {
  const names: readonly OptionName[] = METHOD_OPTIONS[method];
  const byKey = new Map(names.map((name) => [optionRow(name).key, name]));
  const out: Record<string, unknown> = optionDefaults(method);
  for (const [key, value] of options) {
    const name = byKey.get(key);
    if (name === undefined) {
      throw new ShareError('InvalidArgs', `unknown ${method} option '${key}'; known options: ${[...byKey.keys()].join(', ')}`);
    }
    const row = optionRow(name);
    let decoded: unknown;
    try {
      decoded = t.fromVariant<unknown>(CODECS[row.type], value, `option '${key}'`);
    } catch (err) {
      if (err instanceof t.BusDecodeError) throw new ShareError('InvalidArgs', `${method}: ${err.message}`);
      throw err;
    }
    if (row.type === 'u' && typeof decoded === 'number' && (decoded < row.min || decoded > row.max)) {
      throw new ShareError('InvalidArgs', row.min === 0
        ? `option '${key}' must be at most ${row.max} seconds`
        : `option '${key}' must be between ${row.min} and ${row.max} seconds`);
    }
    const notAChoice = typeof decoded === 'string' ? choiceProblem(name, decoded) : undefined;
    if (notAChoice !== undefined) throw new ShareError('InvalidArgs', notAChoice);
    out[name] = decoded;
  }
  return out as T;
}

export function decodeShareOptions(options: ReadonlyMap<string, t.Variant>): ShareOptions {
  return decodeOptions('Share', options);
}

export function decodeUnshareOptions(options: ReadonlyMap<string, t.Variant>): UnshareOptions {
  return decodeOptions('Unshare', options);
}

export function decodeDefineOptions(options: ReadonlyMap<string, t.Variant>): DefineOptions {
  return decodeOptions('DefineInterfaceXML', options);
}

export function decodeInterfaceXmlOptions(options: ReadonlyMap<string, t.Variant>): InterfaceXmlOptions {
  return decodeOptions('GetInterfaceXML', options);
}

export function decodeListOptions(options: ReadonlyMap<string, t.Variant>): ListOptions {
  return decodeOptions('ListInterfacesFiltered', options);
}
