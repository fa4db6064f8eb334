// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { makeVariant, type Variant } from '../../src/dbus-wire/bus-value';
import { ShareError } from '../../src/bridge/share-error';
import { DEFAULT_SHARE_OPTIONS } from '../../src/bridge/request-options';
import { decodeShareOptions, decodeUnshareOptions } from '../../src/service/options-codec';

const opts = (entries: Record<string, Variant>) => new Map(Object.entries(entries));

test('no options: the domain defaults (STP off, no forward delay, persistent)', (t) => {
  t.deepEqual(decodeShareOptions(new Map()), DEFAULT_SHARE_OPTIONS);
});

test('every known option is decoded', (t) => {
  t.deepEqual(decodeShareOptions(opts({
    bridge: makeVariant('s', 'br9'), mode: makeVariant('s', 'routed'), stp: makeVariant('b', true), 'forward-delay': makeVariant('u', 4),
    'rollback-timeout': makeVariant('u', 30), persist: makeVariant('b', false), firewall: makeVariant('b', false), 'confirm-timeout': makeVariant('u', 30),
  })), { bridge: 'br9', mode: 'routed', stp: true, forwardDelay: 4, rollbackTimeout: 30, persist: false, firewall: false, confirmTimeout: 30 });
  t.deepEqual(decodeUnshareOptions(opts({ force: makeVariant('b', true) })), { force: true, rollbackTimeout: 60, confirmTimeout: 0 });
  t.deepEqual(decodeUnshareOptions(opts({ 'confirm-timeout': makeVariant('u', 10) })), { force: false, rollbackTimeout: 60, confirmTimeout: 10 });
});

for (const [name, entries, pattern] of [
  ['unknown key', { colour: makeVariant('s', 'red') }, /unknown Share option 'colour'/],
  ['wrong type', { stp: makeVariant('s', 'yes') }, /option 'stp': expected type 'b', got 's'/],
  ['forward delay too long', { 'forward-delay': makeVariant('u', 31) }, /at most 30/],
  ['rollback timeout zero', { 'rollback-timeout': makeVariant('u', 0) }, /between 1 and/],
  ['confirm timeout too long', { 'confirm-timeout': makeVariant('u', 3601) }, /at most 3600/],
] as const) {
  test(`InvalidArgs: ${name}`, (t) => {
    const err = t.throws(() => decodeShareOptions(opts(entries)), { instanceOf: ShareError });
    t.is(err?.code, 'InvalidArgs');
    t.regex(err?.message ?? '', pattern);
  });
}

test('Unshare refuses Share-only options', (t) => {
  const err = t.throws(() => decodeUnshareOptions(opts({ bridge: makeVariant('s', 'br0') })), { instanceOf: ShareError });
  t.is(err?.code, 'InvalidArgs');
});
