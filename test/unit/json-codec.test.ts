// SPDX-License-Identifier: GPL-2.0-or-later
// The codecs for the ifcfg backend's own JSON: typed values out, or an error naming the field.
import test from 'ava';
import * as json from '../../src/settings/json-codec';

const entry = json.object<{ path: string; mode: number; note?: string }>({ path: json.string(/^\//), mode: json.integer(0), note: json.optional(json.string()) });

test('an object of the shape comes out typed; optional fields stay absent; other keys are dropped', (t) => {
  t.deepEqual(entry.decode({ path: '/etc/x', mode: 420, extra: 1 }), { path: '/etc/x', mode: 420 });
  t.deepEqual(entry.decode({ path: '/etc/x', mode: 420, note: 'n' }), { path: '/etc/x', mode: 420, note: 'n' });
  t.false('note' in entry.decode({ path: '/etc/x', mode: 420, note: 7 }));
});

test('a value of another shape is a JsonShapeError naming where', (t) => {
  t.throws(() => json.array(entry).decode([{ path: '/a', mode: 1 }, { path: 'relative', mode: 1 }], 'entries'), { instanceOf: json.JsonShapeError, message: /^entries\[1\]\.path does not match/ });
  t.throws(() => entry.decode({ path: '/a', mode: -1 }), { message: /^mode is not a whole number/ });
  t.throws(() => entry.decode(null), { message: /is not an object/ });
  t.throws(() => json.parseJson('{', entry), { message: /is not JSON/ });
  t.throws(() => json.oneOf(1).decode(2, 'version'), { message: 'version is not one of 1' });
});

test('lenient parts: a fallback for a missing or odd value, and only the valid items of a list', (t) => {
  t.is(json.orElse(json.boolean, false).decode(undefined), false);
  t.is(json.orElse(json.boolean, false).decode('yes'), false);
  t.deepEqual(json.validItems(json.string(/^[0-9]+$/)).decode(['1', 'x', 2, '3']), ['1', '3']);
  t.is(json.nullable(json.string()).decode(null), null);
  const shape = json.either(json.object<{ kind: 'a' }>({ kind: json.oneOf('a') }), json.object<{ kind: 'b'; n: number }>({ kind: json.oneOf('b'), n: json.number }));
  t.deepEqual(shape.decode({ kind: 'b', n: 1 }), { kind: 'b', n: 1 });
  t.throws(() => shape.decode({ kind: 'b' }), { instanceOf: json.JsonShapeError });
  t.is(json.refine(json.string(), (s) => s.length < 3, 'is too long').decode('ab'), 'ab');
  t.throws(() => json.refine(json.string(), (s) => s.length < 3, 'is too long').decode('abcd', 'name'), { message: 'name is too long' });
});
