// SPDX-License-Identifier: GPL-2.0-or-later
// Our reader of incoming messages (bus-unmarshal.ts): it reads what the library's reader reads,
// in the same shapes; it refuses what can't be trusted (fd types, too deep, too many entries,
// truncated or malformed bytes) with BusUnmarshalError for that message only; and the framer
// cuts the stream into messages whatever the chunking, skipping bodies nobody wants unread.
import test from 'ava';
import {
  marshalMessage, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, MESSAGE_TYPE_SIGNAL, type OutgoingMessage,
} from '../../src/dbus-wire/bus-marshal';
import { BusUnmarshalError, decodeBody, SPEC_LIMITS, type BodyLimits } from '../../src/dbus-wire/bus-body-reader';
import { BusProtocolError, MessageFramer, readFixedHeader, readHeader, padded8, type MessageHeader } from '../../src/dbus-wire/bus-unmarshal';
import { makeVariant as v } from '../../src/dbus-wire/bus-value';
import { rawMessage } from '../lab/raw-bus-client';
import { fromLibrary } from './dbus-next-oracle';

interface LibraryMessage { signature?: string; body?: unknown[] }
const libraryCompat = require('@particle/dbus-next/lib/marshall-compat') as { messageToJsFmt(msg: LibraryMessage): LibraryMessage };
const libraryMessage = require('@particle/dbus-next/lib/message') as { unmarshall(buf: Buffer): LibraryMessage };

/** Reads a whole message with our reader: header, then body. */
function ours(bytes: Buffer, limits: BodyLimits = SPEC_LIMITS): { header: MessageHeader; body: unknown[] } {
  const fixed = readFixedHeader(bytes);
  const headerBytes = 16 + padded8(fixed.fieldsLength);
  const header = readHeader(fixed, bytes.subarray(0, headerBytes));
  return { header, body: decodeBody(header.signature, bytes.subarray(headerBytes), header.littleEndian, limits) };
}

function reply(signature: string, body: readonly unknown[]): OutgoingMessage {
  return { type: MESSAGE_TYPE_METHOD_RETURN, serial: 9, replySerial: 77, destination: ':1.42', sender: ':1.7', signature, body };
}

const cases: Array<[string, readonly unknown[]]> = [
  ['ybnqiuxtd', [255, true, -32768, 65535, -2147483648, 4294967295, -9223372036854775807n, 18446744073709551615n, -1.5]],
  ['sog', ['héllo 🦊', '/org/fedoraproject/SharedInterface', 'a{sv}']],
  ['ayasat', [Buffer.from([0, 1, 255]), ['a', '', 'ü'], [1n, 2n]]],
  ['a{sv}', [{ bridge: v('s', 'br0'), stp: v('b', true), delay: v('u', 15), nested: v('a{sv}', { x: v('as', ['y']) }) }]],
  ['a(ssa{sv})', [[['eth0', '', { mac: v('s', '52:54:00:12:34:56'), addresses: v('as', ['192.0.2.5/24']) }], ['eth1', 'br-eth1', {}]]]],
  ['a{sa{sv}}a{ua{ss}}', [{ connection: { id: v('s', 'Wired'), uuid: v('s', 'u') }, ipv4: {} }, { 1: { a: 'b' }, 4294967295: {} }]],
  ['yaty(ss)ya{sv}yad', [1, [], 2, ['a', 'b'], 3, {}, 4, []]],
  ['vvv', [v('v', v('s', 'deep')), v('(iu)', [-1, 2]), v('ay', Buffer.from('xy'))]],
];

for (const [signature, body] of cases) {
  test(`reads ${signature} as the library does`, (t) => {
    const bytes = marshalMessage(reply(signature, body));
    const library = libraryCompat.messageToJsFmt(libraryMessage.unmarshall(bytes));
    const read = ours(bytes);
    t.deepEqual(read.body, fromLibrary(library.body));
    t.is(read.header.signature, signature);
    t.is(read.header.replySerial, 77);
    t.is(read.header.sender, ':1.7');
    t.is(read.header.destination, ':1.42');
  });
}

test('a key __proto__ is data, not the prototype', (t) => {
  const bytes = marshalMessage(reply('a{ss}', [{ ['__proto__']: 'x', a: 'b' }].map((o) => Object.fromEntries(Object.entries(o)))));
  const [dict] = ours(bytes).body as [Record<string, unknown>];
  t.is(Object.getPrototypeOf(dict), Object.prototype);
  t.deepEqual(Object.keys(dict).sort(), ['__proto__', 'a']);
});

function call(signature: string, body: Buffer, extra: { unixFds?: number } = {}): Buffer {
  return rawMessage({ type: MESSAGE_TYPE_METHOD_CALL, serial: 5, path: '/o', interface: 'a.b', member: 'M', destination: 'x.y', signature, ...extra }, body);
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

const refused: Array<[string, Buffer, BodyLimits?]> = [
  ["an fd ('h') with no fd", call('h', u32(0))],
  ['a boolean that is 2', call('b', u32(2))],
  ['a string running past the body', call('s', Buffer.concat([u32(100), Buffer.from('abc\0')]))],
  ['a string without its NUL', call('s', Buffer.concat([u32(3), Buffer.from('abcd')]))],
  ['a string with invalid UTF-8', call('s', Buffer.concat([u32(2), Buffer.from([0xc3, 0x28, 0])]))],
  ['a string with a NUL inside', call('s', Buffer.concat([u32(3), Buffer.from('a\0b\0')]))],
  ['a UTF-16 surrogate encoded as UTF-8', call('s', Buffer.concat([u32(3), Buffer.from([0xed, 0xa0, 0x80, 0])]))],
  ['an overlong encoding', call('s', Buffer.concat([u32(2), Buffer.from([0xc0, 0xaf, 0])]))],
  ['non-zero padding', call('ys', Buffer.concat([Buffer.from([1, 9, 0, 0]), u32(0), Buffer.from([0])]))],
  ['bytes after the values', call('u', Buffer.concat([u32(1), u32(2)]))],
  ['an invalid object path', call('o', Buffer.concat([u32(2), Buffer.from('//\0')]))],
  ['a variant with two types', call('v', Buffer.concat([Buffer.from([2]), Buffer.from('ss\0')]))],
  ['an array longer than its body', call('au', Buffer.concat([u32(400), u32(1)]))],
  ['a variant nested 65 deep', call('v', Buffer.concat([...Array.from({ length: 65 }, () => Buffer.from([1, 0x76, 0])), Buffer.from([1, 0x79, 0, 7])]))],
  ['more dict entries than allowed', marshalMessage(reply('a{sv}', [Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, v('u', i)]))])), { maxDepth: 16, maxArrayElements: 32 }],
  ['deeper than allowed', marshalMessage(reply('aaaau', [[[[[1]]]]])), { maxDepth: 3, maxArrayElements: 32 }],
];

for (const [name, bytes, limits] of refused) {
  test(`refused: ${name}`, (t) => {
    t.throws(() => ours(bytes, limits), { instanceOf: BusUnmarshalError });
  });
}

test('big-endian bodies: 32-bit values (the high bit too) and the lengths of strings', (t) => {
  const body = Buffer.from([1, 2, 3, 4, 0, 0, 0, 2, 0x61, 0x62, 0, 0, 0xff, 0xff, 0xff, 0xfe]);
  t.deepEqual(decodeBody('usu', body, false, SPEC_LIMITS), [0x01020304, 'ab', 0xfffffffe]);
  t.deepEqual(decodeBody('u', Buffer.from([0xfe, 0xff, 0xff, 0xff]), true, SPEC_LIMITS), [0xfffffffe]);
  t.throws(() => decodeBody('ysu', Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]), false, SPEC_LIMITS), { instanceOf: BusUnmarshalError, message: /non-zero padding at offset 10/ });
});

test('a string holding U+FFFD or beginning with a BOM reads back as written', (t) => {
  const texts = ['\uFFFD', 'a\uFFFDb', '\uFEFFeth0', 'ü\uFEFF'];
  t.deepEqual(ours(marshalMessage(reply('as', [texts]))).body, [texts]);
});

test('the header says what decides: fds, signature, sizes', (t) => {
  const fixed = readFixedHeader(call('h', u32(0), { unixFds: 1 }));
  const header = readHeader(fixed, call('h', u32(0), { unixFds: 1 }).subarray(0, 16 + padded8(fixed.fieldsLength)));
  t.is(header.signature, 'h');
  t.is(header.unixFds, 1);
  t.is(header.bodyLength, 4);
  t.is(header.member, 'M');
});

test('not D-Bus, or a length beyond the spec: a protocol error (the connection closes)', (t) => {
  t.throws(() => readFixedHeader(Buffer.from('GET / HTTP/1.1\r\n')), { instanceOf: BusProtocolError });
  const huge = call('ay', Buffer.alloc(0));
  huge.writeUInt32LE(0x7fff_ffff, 4);
  t.throws(() => readFixedHeader(huge), { instanceOf: BusProtocolError });
});

function frame(stream: Buffer, chunk: number, decide: (h: MessageHeader) => boolean): Array<[string, unknown[] | string]> {
  const got: Array<[string, unknown[] | string]> = [];
  const framer = new MessageFramer({
    decide,
    message: (h, body) => {
      try {
        got.push([h.member ?? '', decodeBody(h.signature, body, h.littleEndian, SPEC_LIMITS)]);
      } catch (err) {
        got.push([h.member ?? '', err instanceof BusUnmarshalError ? 'unreadable' : 'other']);
      }
    },
    unreadable: (fixed) => got.push([`#${fixed.serial}`, 'header unreadable']),
  });
  for (let i = 0; i < stream.length; i += chunk) framer.push(stream.subarray(i, i + chunk));
  return got;
}

test('the framer finds every message whatever the chunks; a skipped body is never read; a bad one costs only itself', (t) => {
  const signal = (member: string, signature: string, body: unknown[]) => marshalMessage({ type: MESSAGE_TYPE_SIGNAL, serial: 3, path: '/p', interface: 'a.b', member, signature, body });
  const badHeader = rawMessage({ type: MESSAGE_TYPE_SIGNAL, serial: 66, path: '/p', interface: 'a.b', member: 'Bad', signature: 'u' }, u32(1));
  // Make the path field's type 's' instead of 'o': a known field of the wrong type.
  badHeader[18] = 's'.charCodeAt(0);
  const stream = Buffer.concat([
    signal('One', 'su', ['x', 1]),
    signal('Huge', 'ay', [Buffer.alloc(100_000, 1)]),
    call('h', u32(0)),
    badHeader,
    signal('Two', 'a{sv}', [{ a: v('s', 'b') }]),
  ]);
  const expected: Array<[string, unknown[] | string]> = [['One', ['x', 1]], ['M', 'unreadable'], ['#66', 'header unreadable'], ['Two', [{ a: v('s', 'b') }]]];
  for (const chunk of [1, 7, 4096, stream.length]) {
    t.deepEqual(frame(stream, chunk, (h) => h.member !== 'Huge'), expected, `chunks of ${chunk}`);
  }
});

/** 16 fixed bytes, little-endian: a method return with these lengths. */
function fixedBytes(bodyLength: number, fieldsLength: number): Buffer {
  const b = Buffer.from([0x6c, MESSAGE_TYPE_METHOD_RETURN, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  b.writeUInt32LE(bodyLength, 4);
  b.writeUInt32LE(fieldsLength, 12);
  return b;
}

test('lengths near 2^31 and 2^32 are exact: padding never wraps, and beyond the spec is a protocol error', (t) => {
  t.is(padded8(0x7fff_fff9), 0x8000_0000);
  t.is(padded8(0x7fff_ffff), 0x8000_0000);
  t.is(padded8(0xffff_fff9), 0x1_0000_0000);
  t.is(padded8(0xffff_ffff), 0x1_0000_0000);
  t.is(padded8(0), 0);
  t.is(padded8(8), 8);
  for (const [body, fields] of [[0, 0x7fff_fff9], [0, 0x7fff_ffff], [0, 0xffff_ffff], [0x7fff_fff9, 0], [0xffff_ffff, 0], [0xffff_ffff, 0xffff_ffff], [0x7fff_0000, 0x7fff_0000]]) {
    t.throws(() => readFixedHeader(fixedBytes(body as number, fields as number)), { instanceOf: BusProtocolError }, `body ${body}, fields ${fields}`);
  }
});

test('the framer stops on a header-fields length near 2^31 instead of reading the same bytes forever', (t) => {
  for (const fields of [0x7fff_fff9, 0x7fff_fffa, 0x7fff_ffff, 0x8000_0000, 0xffff_fff9, 0xffff_ffff]) {
    const framer = new MessageFramer({ decide: () => true, message: () => t.fail('no message'), unreadable: () => t.fail('not a message') });
    t.throws(() => framer.push(Buffer.concat([fixedBytes(0, fields), Buffer.alloc(64)])), { instanceOf: BusProtocolError }, `fields ${fields}`);
  }
  // Within the spec but beyond what is read (64 KiB of fields): skipped whole, and the next message is found.
  const got: string[] = [];
  const framer = new MessageFramer({ decide: () => true, message: (h) => got.push(`#${h.serial}`), unreadable: (f) => got.push(`skipped #${f.serial}`) });
  const big = Buffer.concat([fixedBytes(3, 100_001), Buffer.alloc(padded8(100_001) + 3)]);
  big.writeUInt32LE(41, 8);
  framer.push(Buffer.concat([big, marshalMessage({ type: MESSAGE_TYPE_SIGNAL, serial: 42, path: '/p', interface: 'a.b', member: 'M' })]));
  t.deepEqual(got, ['skipped #41', '#42']);
});

test('lengths inside a body near 2^31 and 2^32 are errors of that message, never reads past the data', (t) => {
  for (const length of [0x7fff_fff8, 0x7fff_ffff, 0x8000_0000, 0xffff_fff8, 0xffff_ffff]) {
    t.throws(() => decodeBody('s', u32(length), true, SPEC_LIMITS), { instanceOf: BusUnmarshalError }, `string of ${length}`);
    t.throws(() => decodeBody('ay', u32(length), true, SPEC_LIMITS), { instanceOf: BusUnmarshalError }, `ay of ${length}`);
    t.throws(() => decodeBody('at', Buffer.concat([u32(length), u32(0)]), true, SPEC_LIMITS), { instanceOf: BusUnmarshalError }, `at of ${length}`);
    t.throws(() => decodeBody('a{sv}', Buffer.concat([u32(length), u32(0)]), true, SPEC_LIMITS), { instanceOf: BusUnmarshalError }, `a{sv} of ${length}`);
  }
  // Header fields said to be longer than the bytes given: refused, not read from beyond them.
  const bytes = marshalMessage({ type: MESSAGE_TYPE_SIGNAL, serial: 3, path: '/p', interface: 'a.b', member: 'M' });
  const fixed = readFixedHeader(bytes);
  t.throws(() => readHeader({ ...fixed, fieldsLength: 0xffff_fff9 }, bytes), { instanceOf: BusUnmarshalError });
  t.throws(() => readHeader({ ...fixed, fieldsLength: fixed.fieldsLength + 16 }, bytes), { instanceOf: BusUnmarshalError });
});
