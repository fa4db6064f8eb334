// SPDX-License-Identifier: GPL-2.0-or-later
// Our marshaller against the library's: for every case the bytes must equal those of the
// library's own marshallMessage, and the library's unmarshaller must read them back to the
// values we meant. The library's internals are required here, in the test only.
import test from 'ava';
import { makeVariant, type Variant } from '../../src/dbus-wire/bus-value';
import { fromLibrary, toLibrary } from './dbus-next-oracle';
import {
  BusMarshalError, marshalMessage, MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN,
  MESSAGE_TYPE_SIGNAL, type OutgoingMessage, marshalBody,
} from '../../src/dbus-wire/bus-marshal';

interface LibrarySignatureNode { type: string; child: LibrarySignatureNode[] }
interface LibraryMessage {
  type: number; flags: number; serial: number; signature?: string; body: unknown[];
  path?: string; interface?: string; member?: string; errorName?: string; replySerial?: number;
  destination?: string; sender?: string;
}
const libraryCompat = require('@particle/dbus-next/lib/marshall-compat') as {
  marshallMessage(msg: Record<string, unknown>): [Buffer, unknown[]];
  messageToJsFmt(msg: LibraryMessage): LibraryMessage;
};
const libraryMessage = require('@particle/dbus-next/lib/message') as { unmarshall(buf: Buffer): LibraryMessage };
const librarySignature = require('@particle/dbus-next/lib/signature') as { parseSignature(s: string): LibrarySignatureNode[] };

const v = makeVariant;

/** A message whose body is values (not a MarshalledBody): what the library can be compared with. */
type ValuesMessage = OutgoingMessage & { readonly body?: readonly unknown[] };

function libraryBytes(msg: ValuesMessage): Buffer {
  return libraryCompat.marshallMessage({ ...msg, body: toLibrary([...(msg.body ?? [])]) })[0];
}

function libraryReads(bytes: Buffer): LibraryMessage {
  const read = libraryCompat.messageToJsFmt(libraryMessage.unmarshall(bytes));
  return { ...read, body: fromLibrary(read.body) };
}

/** What the library's unmarshaller gives back for `value` sent as `type`. */
function decoded(type: LibrarySignatureNode, value: unknown): unknown {
  switch (type.type) {
    case 'x': case 't': return BigInt(value as bigint | number);
    case 'b': return Boolean(value);
    case 'v': {
      const variant = value as Variant;
      const [inner] = librarySignature.parseSignature(variant.signature);
      return v(variant.signature, decoded(inner as LibrarySignatureNode, variant.value) as never);
    }
    case '(': return (value as unknown[]).map((member, i) => decoded(type.child[i] as LibrarySignatureNode, member));
    case 'a': {
      const element = type.child[0] as LibrarySignatureNode;
      if (element.type === 'y') return Buffer.from(value as Uint8Array | number[]);
      if (element.type === '{') {
        const entries = value instanceof Map ? [...(value as Map<unknown, unknown>)] : Object.entries(value as object);
        return Object.fromEntries(entries.map(([k, item]) => [String(k), decoded(element.child[1] as LibrarySignatureNode, item)]));
      }
      return (value as unknown[]).map((item) => decoded(element, item));
    }
    default: return value;
  }
}

function decodedBody(signature: string, body: readonly unknown[]): unknown[] {
  return librarySignature.parseSignature(signature).map((type, i) => decoded(type, body[i]));
}

function reply(signature: string, body: readonly unknown[]): ValuesMessage {
  return { type: MESSAGE_TYPE_METHOD_RETURN, serial: 1234, replySerial: 77, destination: ':1.42', signature, body };
}

// ListInterfaces' reply: a(ssa{sv}), an entry per NIC, each with a 7-entry a{sv}.
function listInterfacesBody(count: number, dicts: 'object' | 'map' = 'object'): unknown[] {
  const entries = Array.from({ length: count }, (_, i) => {
    const details: Array<[string, Variant]> = [
      ['type', v('s', i % 5 ? 'ethernet' : 'wifi')],
      ['mac', v('s', `52:54:00:12:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`)],
      ['carrier', v('b', i % 3 !== 0)],
      ['shareable', v('b', i % 2 === 0)],
      ['reason', v('s', i % 2 ? `vb${i} is a port of bridge “br${i}”` : '')],
      ['addresses', v('as', i % 4 ? [`192.0.2.${i % 250}/24`, `fe80::${i.toString(16)}/64`] : [])],
      ['notes', v('as', i % 7 ? [] : ['IPv6 addresses change when shared (stable-privacy)'])],
    ];
    return [`vb${i}`, i % 3 ? '' : `br-vb${i}`, dicts === 'map' ? new Map(details) : Object.fromEntries(details)];
  });
  return [entries];
}

interface Case {
  readonly name: string;
  readonly signature: string;
  readonly body: readonly unknown[];
  /** The same message in shapes the library takes, when ours uses one it lacks (a Map). */
  readonly libraryBody?: readonly unknown[];
  /** What the library reads back, when not simply the values sent. */
  readonly readBack?: readonly unknown[];
}

const LONG_ASCII = 'x'.repeat(200);
const cases: Case[] = [
  // basic types and their edges
  { name: 'bytes', signature: 'yyy', body: [0, 255, 7] },
  { name: 'booleans (and the 0/1 the library takes)', signature: 'bbbb', body: [true, false, 1, 0] },
  { name: 'int16 edges', signature: 'nnn', body: [-32768, 32767, -1] },
  { name: 'uint16 edges', signature: 'qq', body: [0, 65535] },
  { name: 'int32 edges', signature: 'iii', body: [-2147483648, 2147483647, -1] },
  { name: 'uint32 edges', signature: 'uu', body: [0, 4294967295] },
  { name: 'int64 edges as bigint', signature: 'xxxx', body: [9223372036854775807n, -9223372036854775807n, 0n, -1n] },
  { name: 'int64 from numbers', signature: 'xxxx', body: [-5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 4294967296] },
  { name: 'uint64 edges as bigint', signature: 'tttt', body: [18446744073709551615n, 0n, 4294967295n, 4294967296n] },
  { name: 'uint64 from numbers', signature: 'ttt', body: [0, Number.MAX_SAFE_INTEGER, 2 ** 33 + 5] },
  { name: 'doubles', signature: 'dddd', body: [0, -1.5, 1.7976931348623157e308, Number.MIN_VALUE] },
  { name: 'empty strings', signature: 'sss', body: ['', '', ''] },
  { name: 'unicode strings', signature: 'sss', body: ['héllo wörld', '🦊 ünïcödé ✓', 'ASCII then ü'] },
  { name: 'strings around the ASCII fast path', signature: 'ssss', body: ['a'.repeat(64), 'b'.repeat(65), LONG_ASCII, `${'é'.repeat(100)}🦊`] },
  { name: 'lone surrogate (the library writes U+FFFD, so do we)', signature: 's', body: ['x\ud800y'], readBack: ['x\ufffdy'] },
  { name: 'object paths', signature: 'oo', body: ['/', '/org/fedoraproject/SharedInterface'] },
  { name: 'signatures', signature: 'ggg', body: ['', 'a{sv}', 'a(ssa{sv})'] },
  { name: 'odd offsets before every alignment', signature: 'ynyiyxydysyoygyvyt', body: [1, -2, 3, -4, 5, -6n, 7, 8.5, 9, 's', 10, '/o', 11, 'as', 12, v('t', 13n), 14, 15n] },
  // arrays
  { name: 'array of strings', signature: 'asas', body: [[], ['a', '', 'ü']] },
  { name: 'ay as Buffer and as number[]', signature: 'ayayay', body: [Buffer.alloc(0), Buffer.from([0, 1, 255]), [1, 2, 3]] },
  { name: 'ay from a Uint8Array', signature: 'ay', body: [new Uint8Array([9, 8, 7])] },
  { name: 'empty 8-aligned arrays after a byte', signature: 'yaty(ss)ya{sv}yadyax', body: [1, [], 2, ['a', 'b'], 3, {}, 4, [], 5, []] },
  { name: 'empty a(ss), a{sv}, at', signature: 'a(ss)a{sv}at', body: [[], {}, []] },
  { name: 'arrays of 64-bit and doubles', signature: 'atadax', body: [[1n, 2n, 18446744073709551615n], [0.5, -2], [-1n, 3]] },
  { name: 'nested arrays', signature: 'aasaayaaat', body: [[['a'], [], ['b', 'c']], [Buffer.from('hi'), []], [[[1n]], [], [[]]]] },
  { name: 'array of structs', signature: 'a(sib)', body: [[['a', 1, true], ['b', -1, false]]] },
  // dicts
  { name: 'a{sv} with every basic type in variants', signature: 'a{sv}', body: [{
    y: v('y', 255), b: v('b', true), n: v('n', -3), q: v('q', 3), i: v('i', -70000), u: v('u', 70000),
    x: v('x', -2n), t: v('t', 2n ** 63n), d: v('d', 3.25), s: v('s', 'ü'), o: v('o', '/a/b'), g: v('g', 'a{sv}'),
  }] },
  { name: 'a{ss}', signature: 'a{ss}', body: [{ a: 'b', '': 'empty key', 'ü': '🦊' }] },
  { name: 'a{is}: integer keys from object keys', signature: 'a{is}', body: [{ 1: 'one', '-2': 'minus two', 300: 'x' }] },
  { name: 'a{ys}, a{ns}, a{qs}: small integer keys', signature: 'a{ys}a{ns}a{qs}', body: [{ 0: 'a', 255: 'b' }, { '-32768': 'c' }, { 65535: 'd' }] },
  { name: 'a{xs}, a{ts}: 64-bit keys', signature: 'a{xs}a{ts}', body: [{ '-5': 'a', 7: 'b' }, { 0: 'c', 4294967296: 'd' }] },
  { name: 'a{bs}: boolean keys', signature: 'a{bs}', body: [{ true: 'yes', false: 'no' }] },
  { name: 'a{oa{sv}}: object path keys, nested dicts', signature: 'a{oa{sv}}', body: [{ '/a': { k: v('s', 'x') }, '/b': {} }] },
  { name: 'a{sa{sv}}: NM settings shape', signature: 'a{sa{sv}}', body: [{
    connection: { id: v('s', 'br0'), uuid: v('s', '8e0b8f64-0000-4000-8000-000000000000'), type: v('s', 'bridge'), autoconnect: v('b', true) },
    ipv4: { method: v('s', 'auto'), 'address-data': v('aa{sv}', [{ address: v('s', '192.0.2.5'), prefix: v('u', 24) }]) },
    ipv6: { 'addr-gen-mode': v('i', 0), 'dns': v('aay', [Buffer.alloc(16, 1)]) },
    bridge: { stp: v('b', false), 'forward-delay': v('u', 15), mac: v('ay', Buffer.from([0x52, 0x54, 0, 0x12, 0x34, 0x56])) },
  }] },
  { name: 'Map dicts (ours) equal object dicts (library)', signature: 'a{sv}a{is}', body: [new Map([['a', v('s', 'x')], ['b', v('u', 1)]]), new Map([[1, 'one'], [2, 'two']])],
    libraryBody: [{ a: v('s', 'x'), b: v('u', 1) }, { 1: 'one', 2: 'two' }] },
  // structs
  { name: 'struct', signature: '(sibx)', body: [['a', 1, true, -1n]] },
  { name: 'nested structs', signature: '((s)(i(y)))y(t)', body: [[['a'], [2, [3]]], 4, [5n]] },
  // variants
  { name: 'variant at the top', signature: 'v', body: [v('s', 'hello')] },
  { name: 'variant holding a variant holding a variant', signature: 'v', body: [v('v', v('v', v('t', 1n)))] },
  { name: 'variants holding arrays, dicts and structs', signature: 'vvvvv', body: [v('as', ['a', 'b']), v('a{sv}', { k: v('i', 1) }), v('(si)', ['s', 1]), v('ay', Buffer.from([1, 2])), v('a(ss)', [])] },
  { name: 'variant holding empty 8-aligned arrays', signature: 'yvyvyv', body: [1, v('at', []), 2, v('a{sv}', {}), 3, v('a(ss)', [])] },
  { name: 'array of variants', signature: 'av', body: [[v('s', 'a'), v('u', 1), v('ad', [1.5]), v('v', v('b', false))]] },
  { name: 'arrays of structs of dicts of variants, nested', signature: 'a(sa{sv}av)', body: [[
    ['one', { deep: v('a(sa{sv})', [['x', { y: v('a{sv}', { z: v('at', [1n, 2n]) }) }]]) }, [v('(a{sv}v)', [{ q: v('g', 'a{sv}') }, v('y', 1)])]],
    ['two', {}, []],
  ]] },
  // the reply this exists for
  { name: 'ListInterfaces reply, 132 entries', signature: 'a(ssa{sv})', body: listInterfacesBody(132) },
  { name: 'ListInterfaces reply from Map dicts', signature: 'a(ssa{sv})', body: listInterfacesBody(5, 'map'), libraryBody: listInterfacesBody(5) },
  { name: 'PropertiesChanged body', signature: 'sa{sv}as', body: ['org.fedoraproject.SharedInterface', { Shared: v('a{ss}', { eth0: 'br0' }) }, []] },
  // bigger than the initial 64 KiB scratch
  { name: 'a 200 KiB ay', signature: 'ay', body: [Buffer.alloc(200 * 1024, 0xab)] },
  { name: 'a long as', signature: 'as', body: [Array.from({ length: 5000 }, (_, i) => `string number ${i} ✓`)] },
];

for (const c of cases) {
  test(`bytes equal the library's, and read back: ${c.name}`, (t) => {
    const msg = reply(c.signature, c.body);
    const ours = marshalMessage(msg);
    const theirs = libraryBytes({ ...msg, body: c.libraryBody ?? c.body });
    t.true(ours.equals(theirs), `first difference at byte ${firstDifference(ours, theirs)} of ${ours.length}/${theirs.length}`);
    const back = libraryReads(ours);
    t.deepEqual(back.body, c.readBack ?? decodedBody(c.signature, c.libraryBody ?? c.body));
    t.is(back.signature, c.signature);
    t.is(back.replySerial, 77);
    t.is(back.serial, 1234);
    t.is(back.destination, ':1.42');
  });
}

function firstDifference(a: Buffer, b: Buffer): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return Math.min(a.length, b.length);
}

// Whole messages: every header field and message type.
const messages: Array<[string, ValuesMessage]> = [
  ['method return without a body', { type: MESSAGE_TYPE_METHOD_RETURN, serial: 2, replySerial: 1, destination: ':1.7' }],
  ['method return with an empty signature', { type: MESSAGE_TYPE_METHOD_RETURN, serial: 2, replySerial: 1, destination: ':1.7', signature: '', body: [] }],
  ['method return without a destination (peer connection)', { type: MESSAGE_TYPE_METHOD_RETURN, serial: 3, replySerial: 2, signature: 's', body: ['x'] }],
  ['error', { type: MESSAGE_TYPE_ERROR, serial: 4, replySerial: 9, destination: ':1.100', errorName: 'org.fedoraproject.SharedInterface.Error.NotShareable', signature: 's', body: ['eth0 is a port of bridge “br0”'] }],
  ['error with an empty text', { type: MESSAGE_TYPE_ERROR, serial: 5, replySerial: 9, destination: ':1.100', errorName: 'org.freedesktop.DBus.Error.Failed', signature: 's', body: [''] }],
  ['signal', { type: MESSAGE_TYPE_SIGNAL, serial: 6, path: '/org/fedoraproject/SharedInterface', interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', signature: 'sa{sv}as', body: ['org.fedoraproject.SharedInterface', { Shared: v('a{ss}', {}) }, ['Backend']] }],
  ['signal without a body', { type: MESSAGE_TYPE_SIGNAL, serial: 7, path: '/', interface: 'a.b', member: 'Ping' }],
  ['method call with flags', { type: MESSAGE_TYPE_METHOD_CALL, serial: 4294967295, flags: 0x5, destination: 'org.freedesktop.NetworkManager', path: '/org/freedesktop/NetworkManager/Settings/12', interface: 'org.freedesktop.NetworkManager.Settings.Connection', member: 'Update2', signature: 'a{sa{sv}}ua{sv}', body: [{ connection: { id: v('s', 'x') } }, 1, {}] }],
  ['method call without an interface', { type: MESSAGE_TYPE_METHOD_CALL, serial: 8, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', member: 'Hello' }],
  ['message with a sender', { type: MESSAGE_TYPE_SIGNAL, serial: 9, sender: ':1.1', path: '/a', interface: 'a.b', member: 'C', signature: 'u', body: [1] }],
];

for (const [name, msg] of messages) {
  test(`bytes equal the library's: ${name}`, (t) => {
    const ours = marshalMessage(msg);
    t.true(ours.equals(libraryBytes(msg)), `first difference at byte ${firstDifference(ours, libraryBytes(msg))}`);
    if (msg.signature) {
      const back = libraryReads(ours);
      for (const field of ['type', 'flags', 'serial', 'path', 'interface', 'member', 'errorName', 'replySerial', 'destination', 'sender'] as const) {
        t.is(back[field], msg[field] ?? (field === 'flags' ? 0 : undefined), field);
      }
      t.deepEqual(back.body, decodedBody(msg.signature, msg.body ?? []));
    }
  });
}

// A body marshalled once and sent in many messages (the ListInterfaces reply cache) gives the
// same bytes as the body marshalled with each message, whatever the header before it.
test('a body marshalled once gives the same messages as marshalling it each time', (t) => {
  for (const [name, msg] of messages) {
    const once = marshalBody(msg.signature ?? '', msg.body ?? []);
    t.true(marshalMessage({ ...msg, body: once }).equals(marshalMessage(msg)), name);
  }
  const listing = marshalBody('a(ssa{sv})', [[['eth0', '', { mac: v('s', '52:54:00:12:34:56') }]]]);
  for (const destination of [':1.7', ':1.1000', ':12.345678']) {
    const direct = reply('a(ssa{sv})', [[['eth0', '', { mac: v('s', '52:54:00:12:34:56') }]]]);
    t.true(marshalMessage({ ...direct, destination, body: listing }).equals(marshalMessage({ ...direct, destination })), destination);
  }
  t.throws(() => marshalMessage({ ...reply('s', ['x']), body: listing }), { message: /marshalled as 'a\(ssa\{sv\}\)' sent with signature 's'/ });
});

// Beyond the library (it rejects these, or cannot express them); read back by its unmarshaller.
const ours: Array<[string, string, unknown[], unknown[]]> = [
  ['int64 minimum (the library stops at -2^63+1)', 'x', [-(2n ** 63n)], [-(2n ** 63n)]],
  ['a{us}: the library does not convert uint32 keys back from strings', 'a{us}', [{ 1: 'a', 4294967295: 'b' }], [{ 1: 'a', 4294967295: 'b' }]],
  ['a{ts} with keys beyond 2^53 (the library parses them lossily)', 'a{ts}', [{ '18446744073709551615': 'max' }], [{ '18446744073709551615': 'max' }]],
  ['a{ds}: double keys', 'a{ds}', [{ 1.5: 'x' }], [{ 1.5: 'x' }]],
  ['null-prototype objects as dicts', 'a{ss}', [Object.assign(Object.create(null) as object, { a: 'b' })], [{ a: 'b' }]],
  ['Map with typed keys', 'a{ts}a{bs}', [new Map([[5n, 'five']]), new Map([[true, 'yes']])], [{ 5: 'five' }, { true: 'yes' }]],
  ['unsafe integer numbers for uint64: their exact value (the library goes through toString and rounds 2^60 to ...7000)', 'tt', [2 ** 64 - 2 ** 11, 2 ** 60], [2n ** 64n - 2n ** 11n, 2n ** 60n]],
  ['negative zero (the library sends +0: parseFloat(String(-0)))', 'd', [-0], [-0]],
];
for (const [name, signature, body, expected] of ours) {
  test(`read back by the library: ${name}`, (t) => {
    const back = libraryReads(marshalMessage(reply(signature, body)));
    t.deepEqual(back.body, decodedBody(signature, expected));
  });
}

// Refusals: a clear error, nothing written. `library` says whether the library refuses too.
const refusals: Array<[string, string, unknown[], RegExp, boolean]> = [
  ['a number for a string', 's', [1], /body\[0\]: expected a string for 's', got number 1/, true],
  ['a Buffer for a string (the library would send its text)', 's', [Buffer.from('x')], /expected a string/, false],
  ['NUL in a string', 's', ['a\0b'], /cannot contain NUL/, true],
  ['NUL in a long unicode string', 's', [`${'ü'.repeat(80)}\0`], /cannot contain NUL/, true],
  ['an invalid object path', 'o', ['/a/'], /is not a valid object path/, false],
  ['a relative object path', 'o', ['a'], /is not a valid object path/, false],
  ['an invalid signature value', 'g', ['a{vs}'], /dict key 'v' is not a basic type/, false],
  ['a byte out of range', 'y', [256], /integer from 0 to 255/, true],
  ['a negative byte', 'y', [-1], /integer from 0 to 255/, true],
  ['a fraction for an integer', 'i', [1.5], /integer from/, true],
  ['int16 overflow', 'n', [32768], /integer from -32768 to 32767/, true],
  ['int32 overflow', 'i', [2 ** 31], /integer from/, true],
  ['negative uint32', 'u', [-1], /integer from 0 to 4294967295/, true],
  ['uint32 overflow', 'u', [2 ** 32], /integer from 0 to 4294967295/, true],
  ['a string for uint32', 'u', ['1'], /got string "1"/, true],
  ['negative uint64', 't', [-1n], /0 to 2\^64-1/, true],
  ['uint64 overflow', 't', [2n ** 64n], /0 to 2\^64-1/, true],
  ['int64 overflow', 'x', [2n ** 63n], /-2\^63 to 2\^63-1/, true],
  ['a fraction for int64', 'x', [1.5], /an integer/, true],
  ['a number beyond int64', 'x', [1e30], /-2\^63 to 2\^63-1/, true],
  ['a number beyond uint64', 't', [2 ** 64], /0 to 2\^64-1/, true],
  ['a string for int64 (the library parses it)', 'x', ['12'], /a bigint/, false],
  ['NaN', 'd', [NaN], /a finite number/, true],
  ['Infinity', 'd', [Infinity], /a finite number/, true],
  ['a string for a boolean', 'b', ['true'], /a boolean/, true],
  ['a plain object for a variant', 'v', [{ signature: 's', value: 'x' }], /expected a Variant/, true],
  ['a variant with two types (the library sends the first)', 'v', [v('ss', 'x' as never)], /one single complete type/, false],
  ['a variant whose value does not match', 'a{sv}', [{ carrier: v('b', 'yes') }], /body\[0\]\["carrier"\]<b>: expected a boolean/, true],
  ['a struct with too few members', '(si)', [['a']], /2 struct members/, true],
  ['a struct that is not an array', '(si)', [{ 0: 'a', 1: 1 }], /struct members/, true],
  ['an array for a dict', 'a{sv}', [[]], /a plain object or a Map/, true],
  ['a string for an array', 'as', ['abc'], /expected an array/, true],
  ['a string for ay', 'ay', ['abc'], /a Buffer or an array of bytes/, true],
  ['a bad byte in ay', 'ay', [[1, 300]], /body\[0\]\[1\]: expected an integer from 0 to 255/, true],
  ['a string for a dict value that must be a variant', 'a{sv}', [{ a: 'x' }], /\["a"\]: expected a Variant/, true],
  ['a non-integer key for a{is}', 'a{is}', [{ abc: 'x' }], /dict key "abc" is not a 'i'/, true],
  ['a non-boolean key for a{bs}', 'a{bs}', [{ yes: 'x' }], /dict key "yes" is not a 'b'/, true],
  ['a unix fd', 'h', [0], /unix fds/, false],
  ['too few body values', 'ss', ['a'], /has 2 argument\(s\), the body 1/, true],
  ['too many body values', 's', ['a', 'b'], /has 1 argument\(s\), the body 2/, true],
  ['a deep error is located', 'a(ssa{sv})', listInterfacesBody(8).map((entries) => (entries as unknown[][]).map((e, i) => (i === 5 ? [e[0], e[1], { ...(e[2] as object), mac: v('s', 7 as never) }] : e))), /body\[0\]\[5\]\[2\]\["mac"\]<s>: expected a string/, true],
];
for (const [name, signature, body, message, libraryRefuses] of refusals) {
  test(`refused: ${name}`, (t) => {
    const err = t.throws(() => marshalMessage(reply(signature, body)), { instanceOf: BusMarshalError });
    t.regex(err?.message ?? '', message);
    if (libraryRefuses) t.throws(() => libraryBytes(reply(signature, body)));
  });
}

for (const signature of ['(', 'a', '{sv}', 'a{sv', '()', 'z', 'a{(s)s}', 'a{s}', 'a{sss}', ')', `${'a'.repeat(33)}s`, `${'('.repeat(33)}s${')'.repeat(33)}`, 's'.repeat(256)]) {
  test(`refused: invalid signature ${signature.length > 20 ? `${signature.slice(0, 20)}…` : signature}`, (t) => {
    t.throws(() => marshalMessage(reply(signature, [])), { instanceOf: BusMarshalError });
  });
}

const badHeaders: Array<[string, OutgoingMessage, RegExp]> = [
  ['serial 0', { type: MESSAGE_TYPE_SIGNAL, serial: 0, path: '/', interface: 'a.b', member: 'C' }, /serial/],
  ['an unknown type', { type: 9 as never, serial: 1 }, /unknown message type/],
  ['a reply without a reply serial', { type: MESSAGE_TYPE_METHOD_RETURN, serial: 1 }, /needs a replySerial/],
  ['an error without a name', { type: MESSAGE_TYPE_ERROR, serial: 1, replySerial: 1 }, /needs a errorName/],
  ['a signal without an interface', { type: MESSAGE_TYPE_SIGNAL, serial: 1, path: '/', member: 'C' }, /needs a interface/],
  ['an invalid member name', { type: MESSAGE_TYPE_SIGNAL, serial: 1, path: '/', interface: 'a.b', member: 'not-valid' }, /not a valid member name/],
  ['an invalid interface name', { type: MESSAGE_TYPE_SIGNAL, serial: 1, path: '/', interface: 'nodots', member: 'C' }, /not a valid interface name/],
  ['an invalid error name', { type: MESSAGE_TYPE_ERROR, serial: 1, replySerial: 1, errorName: 'Failed' }, /not a valid error name/],
  ['an invalid destination', { type: MESSAGE_TYPE_METHOD_RETURN, serial: 1, replySerial: 1, destination: 'a..b' }, /not a valid bus name/],
  ['an invalid path', { type: MESSAGE_TYPE_SIGNAL, serial: 1, path: '//', interface: 'a.b', member: 'C' }, /not a valid object path/],
  ['flags out of range', { type: MESSAGE_TYPE_SIGNAL, serial: 1, flags: 256, path: '/', interface: 'a.b', member: 'C' }, /flags/],
];
for (const [name, msg, message] of badHeaders) {
  test(`refused header: ${name}`, (t) => {
    const err = t.throws(() => marshalMessage(msg), { instanceOf: BusMarshalError });
    t.regex(err?.message ?? '', message);
  });
}

test('a variant nested without end is refused, not a stack overflow', (t) => {
  const loop = v('v', 0 as never) as { value: unknown };
  loop.value = loop;
  t.throws(() => marshalMessage(reply('v', [loop])), { instanceOf: BusMarshalError, message: /nested more than 64/ });
});

test('a refused message leaves the writer sound for the next one', (t) => {
  t.throws(() => marshalMessage(reply('a(ssa{sv})', [[['a', 'b', { x: 'not a variant' }]]])));
  const msg = reply('a(ssa{sv})', listInterfacesBody(3));
  t.true(marshalMessage(msg).equals(libraryBytes(msg)));
});

test('after a message bigger than the scratch buffer keeps, small ones are still right', (t) => {
  const big = Buffer.alloc(2 * 1024 * 1024, 1);
  const back = libraryReads(marshalMessage(reply('ay', [big])));
  t.true((back.body[0] as Buffer).equals(big));
  const small = reply('s', ['after']);
  t.true(marshalMessage(small).equals(libraryBytes(small)));
});

test('a body marshalled once and bigger than the scratch buffer keeps gives the same message, and small ones after are right', (t) => {
  const msg = reply('ay', [Buffer.alloc(600_000, 2)]);
  const once = marshalBody('ay', msg.body ?? []);
  t.true(marshalMessage({ ...msg, body: once }).equals(marshalMessage(msg)));
  t.true(marshalMessage({ ...msg, body: once }).equals(libraryBytes(msg)));
  const small = reply('s', ['after']);
  t.true(marshalMessage(small).equals(libraryBytes(small)));
});

test('each message is a buffer of its own (the scratch is not shared with the caller)', (t) => {
  const first = marshalMessage(reply('s', ['first']));
  const copy = Buffer.from(first);
  marshalMessage(reply('s', ['second, longer than the first']));
  t.true(first.equals(copy));
});

test('padding is zeros even when the scratch buffer held other bytes', (t) => {
  marshalMessage(reply('ay', [Buffer.alloc(60_000, 0xff)]));
  const msg = reply('yaty(ss)ya{sv}yvyx', [1, [], 2, ['a', 'b'], 3, {}, 4, v('t', 5n), 6, -7n]);
  t.true(marshalMessage(msg).equals(libraryBytes(msg)));
});
