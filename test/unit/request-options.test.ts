// SPDX-License-Identifier: GPL-2.0-or-later
// The table of the methods' options (src/bridge/request-options.ts) is what the codec decodes by,
// what the D-Bus spec documents and what the CLI offers: each row is checked in all three.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { DEFAULT_SHARE_OPTIONS, describeOption, METHOD_OPTIONS, optionRow, REQUEST_OPTIONS, type OptionName } from '../../src/bridge/request-options';
import { decodeInterfaceXmlOptions, decodeShareOptions, decodeUnshareOptions } from '../../src/service/options-codec';
import { sharedInterfaceSpec } from '../../src/service/shared-interface-spec';
import { shareCommand } from '../../src/cli/share-command';
import { unshareCommand } from '../../src/cli/unshare-command';
import { flagName } from '../../src/cli/request-flags';
import { ShareError } from '../../src/bridge/share-error';

const decoders = { Share: decodeShareOptions, Unshare: decodeUnshareOptions, GetInterfaceXML: decodeInterfaceXmlOptions } as const;

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof ShareError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'accepted';
}

test('every row is used by some method, and every method\'s options are rows', (t) => {
  const used = new Set(Object.values(METHOD_OPTIONS).flat());
  t.deepEqual([...used].sort(), Object.keys(REQUEST_OPTIONS).sort());
});

test('the codec decodes by the table: defaults, types, and each number\'s range at both ends', (t) => {
  for (const [method, decode] of Object.entries(decoders)) {
    const names: readonly OptionName[] = METHOD_OPTIONS[method as keyof typeof decoders];
    const defaults = decode(new Map()) as unknown as Record<string, unknown>;
    for (const name of names) {
      const row = optionRow(name);
      t.is(defaults[name], row.default, `${method} ${row.key}'s default`);
      const wrongType = row.type === 's' ? makeVariant('b', true) : makeVariant('s', 'x');
      t.regex(refusal(() => decode(new Map([[row.key, wrongType]]))), /^InvalidArgs: /, `${method} ${row.key} of the wrong type`);
      if (row.type !== 'u') continue;
      t.is(refusal(() => decode(new Map([[row.key, makeVariant('u', row.min)]]))), 'accepted', `${row.key} = ${row.min}`);
      t.is(refusal(() => decode(new Map([[row.key, makeVariant('u', row.max)]]))), 'accepted', `${row.key} = ${row.max}`);
      t.regex(refusal(() => decode(new Map([[row.key, makeVariant('u', row.max + 1)]]))), new RegExp(`^InvalidArgs: option '${row.key}' must be`));
      if (row.min > 0) t.regex(refusal(() => decode(new Map([[row.key, makeVariant('u', row.min - 1)]]))), new RegExp(`^InvalidArgs: option '${row.key}' must be`));
    }
  }
  t.deepEqual(decodeShareOptions(new Map()), DEFAULT_SHARE_OPTIONS);
});

test('the spec documents each method\'s options in the table\'s words, so the introspection XML and the man page do', (t) => {
  const docOf = (method: 'Share' | 'Unshare' | 'GetInterfaceXML' | 'DefineInterfaceXML') => sharedInterfaceSpec.methods[method].in.find((a) => a.name === 'options')?.doc ?? '';
  for (const [method, names] of Object.entries(METHOD_OPTIONS)) {
    for (const name of names) t.true(docOf(method as keyof typeof METHOD_OPTIONS).includes(describeOption(name)), `${method}: ${describeOption(name)}`);
  }
});

test('the CLI offers Share\'s and Unshare\'s options by the table: --KEY, or --no-KEY for a boolean that defaults to true, with the row\'s range', (t) => {
  for (const [command, names] of [[shareCommand, METHOD_OPTIONS.Share], [unshareCommand, METHOD_OPTIONS.Unshare]] as const) {
    for (const name of names) {
      if (name === 'confirmTimeout') continue; // --confirm[=S] sets it, and confirms (change.ts)
      const option = command.options[flagName(name)];
      t.not(option, undefined, `${command.name} --${flagName(name)}`);
      const row = optionRow(name);
      if (row.type === 'u') {
        t.is(option?.check?.(String(row.max)), undefined);
        t.not(option?.check?.(String(row.max + 1)), undefined, `${command.name} --${row.key}=${row.max + 1} is refused before connecting`);
      }
    }
  }
  t.is(flagName('persist'), 'no-persist');
  t.is(flagName('stp'), 'stp');
});
