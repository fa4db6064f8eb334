// SPDX-License-Identifier: GPL-2.0-or-later
// Share and Unshare options: a{sv} from the bus into the domain's typed options. Unknown keys
// and values of the wrong type are InvalidArgs, never silently ignored.
import * as t from '../dbus-wire/bus-value';
import { ShareError } from '../bridge/share-error';
import type { DefineOptions } from '../bridge/libvirt-interfaces';
import {
  DEFAULT_SHARE_OPTIONS, DEFAULT_UNSHARE_OPTIONS, MAX_CONFIRM_TIMEOUT_SECONDS, MAX_FORWARD_DELAY_SECONDS, MAX_ROLLBACK_TIMEOUT_SECONDS,
  type ShareOptions, type UnshareOptions,
} from '../bridge/share-request';

type Fields<T> = { readonly [K in keyof T]-?: readonly [string, t.Codec<NonNullable<T[K]>>] };

const shareFields: Fields<ShareOptions> = {
  bridge: ['bridge', t.string],
  stp: ['stp', t.boolean],
  forwardDelay: ['forward-delay', t.uint32],
  rollbackTimeout: ['rollback-timeout', t.uint32],
  persist: ['persist', t.boolean],
  firewall: ['firewall', t.boolean],
  confirmTimeout: ['confirm-timeout', t.uint32],
};

const defineFields: Fields<DefineOptions> = {
  rollbackTimeout: shareFields.rollbackTimeout,
  persist: shareFields.persist,
  firewall: shareFields.firewall,
  confirmTimeout: shareFields.confirmTimeout,
};

const interfaceXmlFields: Fields<InterfaceXmlOptions> = {
  inactive: ['inactive', t.boolean],
};

const listFields: Fields<ListOptions> = {
  all: ['all', t.boolean],
};

const unshareFields: Fields<UnshareOptions> = {
  force: ['force', t.boolean],
  rollbackTimeout: ['rollback-timeout', t.uint32],
  confirmTimeout: ['confirm-timeout', t.uint32],
};

function decodeOptions<T extends object>(method: string, options: ReadonlyMap<string, t.Variant>, fields: Fields<T>, defaults: T): T {
  const entries = Object.entries(fields) as Array<[string, readonly [string, t.Codec<unknown>]]>;
  const byKey = new Map(entries.map(([prop, [key, codec]]) => [key, { prop, codec }]));
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of options) {
    const field = byKey.get(key);
    if (field === undefined) {
      throw new ShareError('InvalidArgs', `unknown ${method} option '${key}'; known options: ${[...byKey.keys()].join(', ')}`);
    }
    try {
      out[field.prop] = t.fromVariant(field.codec, value, `option '${key}'`);
    } catch (err) {
      if (err instanceof t.BusDecodeError) throw new ShareError('InvalidArgs', `${method}: ${err.message}`);
      throw err;
    }
  }
  return out as T;
}

export function decodeShareOptions(options: ReadonlyMap<string, t.Variant>): ShareOptions {
  const decoded = decodeOptions('Share', options, shareFields, DEFAULT_SHARE_OPTIONS);
  if (decoded.forwardDelay > MAX_FORWARD_DELAY_SECONDS) {
    throw new ShareError('InvalidArgs', `option 'forward-delay' must be at most ${MAX_FORWARD_DELAY_SECONDS} seconds`);
  }
  checkRollbackTimeout(decoded.rollbackTimeout);
  checkConfirmTimeout(decoded.confirmTimeout);
  return decoded;
}

export function decodeUnshareOptions(options: ReadonlyMap<string, t.Variant>): UnshareOptions {
  const decoded = decodeOptions('Unshare', options, unshareFields, DEFAULT_UNSHARE_OPTIONS);
  checkRollbackTimeout(decoded.rollbackTimeout);
  checkConfirmTimeout(decoded.confirmTimeout);
  return decoded;
}

export function decodeDefineOptions(options: ReadonlyMap<string, t.Variant>): DefineOptions {
  const { rollbackTimeout, persist, firewall, confirmTimeout } = DEFAULT_SHARE_OPTIONS;
  const decoded = decodeOptions('DefineInterfaceXML', options, defineFields, { rollbackTimeout, persist, firewall, confirmTimeout });
  checkRollbackTimeout(decoded.rollbackTimeout);
  checkConfirmTimeout(decoded.confirmTimeout);
  return decoded;
}

export interface ListOptions {
  /** Every interface, not only those a person wants to see (listedByDefault). */
  readonly all: boolean;
}

export function decodeListOptions(options: ReadonlyMap<string, t.Variant>): ListOptions {
  return decodeOptions('ListInterfacesFiltered', options, listFields, { all: false });
}

export interface InterfaceXmlOptions {
  readonly inactive: boolean;
}

export function decodeInterfaceXmlOptions(options: ReadonlyMap<string, t.Variant>): InterfaceXmlOptions {
  return decodeOptions('GetInterfaceXML', options, interfaceXmlFields, { inactive: false });
}

function checkConfirmTimeout(seconds: number): void {
  if (seconds > MAX_CONFIRM_TIMEOUT_SECONDS) {
    throw new ShareError('InvalidArgs', `option 'confirm-timeout' must be at most ${MAX_CONFIRM_TIMEOUT_SECONDS} seconds (0: no confirmation)`);
  }
}

function checkRollbackTimeout(seconds: number): void {
  if (seconds < 1 || seconds > MAX_ROLLBACK_TIMEOUT_SECONDS) {
    throw new ShareError('InvalidArgs', `option 'rollback-timeout' must be between 1 and ${MAX_ROLLBACK_TIMEOUT_SECONDS} seconds`);
  }
}
