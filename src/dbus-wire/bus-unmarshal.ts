// SPDX-License-Identifier: GPL-2.0-or-later
// Our reader of incoming D-Bus messages, part of the library wrapper. It reads a message in two
// steps, as dbus-daemon and sd-bus do: first the fixed header and the header fields (sender,
// member, signature, body length, unix fds), which the connection uses to decide whether the
// body is read at all; then, only if it is wanted, the body, against limits set by whoever wants
// it (size, depth, array lengths). A body it can't decode throws BusUnmarshalError for that
// message only; the stream stays in step, because the framing never depends on the body.
// The library's reader threw from a socket event for an fd-typed value ('h') with no fd, which
// ended the process, and took ~40 s of CPU to decode a 15 MiB body nobody wanted.
// Values come out in the library's JS shapes (see BusValue): a{..} as plain objects, 'v' as its
// Variant, 'x'/'t' as bigint, 'ay' as a Buffer, structs as arrays.

import { BusMarshalError, parsedSignature, type TypeNode } from './bus-marshal';
import { Variant } from './bus-value';

/** A message that can't be decoded (malformed, or beyond the reader's limits). */
export class BusUnmarshalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusUnmarshalError';
  }
}

/** The stream can't be followed any more (not D-Bus, or a length beyond the spec's): close it. */
export class BusProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BusProtocolError';
  }
}

/** What the fixed header and the header fields say; the body is not read yet. */
export interface MessageHeader {
  readonly littleEndian: boolean;
  readonly type: number;
  readonly flags: number;
  readonly serial: number;
  readonly bodyLength: number;
  readonly path: string | undefined;
  readonly interface: string | undefined;
  readonly member: string | undefined;
  readonly errorName: string | undefined;
  readonly replySerial: number | undefined;
  readonly destination: string | undefined;
  readonly sender: string | undefined;
  /** '' when the message has none. */
  readonly signature: string;
  /** The UNIX_FDS field: how many fds the sender says came with the message (0 when absent). */
  readonly unixFds: number;
}

export interface BodyLimits {
  /** Containers (arrays, structs, dict entries, variants) nested, across variants. The spec's 64 at most. */
  readonly maxDepth: number;
  /** Elements of any one array other than 'ay' (whose bytes the body size bounds). */
  readonly maxArrayElements: number;
}

/** The specification's limits: what any well-formed message may carry. */
export const SPEC_LIMITS: BodyLimits = { maxDepth: 64, maxArrayElements: Number.MAX_SAFE_INTEGER };

const FIXED_HEADER_BYTES = 16;
/** The specification's largest message. */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
const MAX_ARRAY_BYTES = 64 * 1024 * 1024;
/** Header fields are a few names and numbers; dbus-daemon drops fields it doesn't know. */
export const MAX_HEADER_FIELDS_BYTES = 64 * 1024;
const HEADER_FIELD_LIMITS: BodyLimits = { maxDepth: 8, maxArrayElements: 64 };

const C = (ch: string): number => ch.charCodeAt(0);
const BYTE = C('y'), BOOLEAN = C('b'), INT16 = C('n'), UINT16 = C('q'), INT32 = C('i'), UINT32 = C('u');
const INT64 = C('x'), UINT64 = C('t'), DOUBLE = C('d'), UNIX_FD = C('h');
const STRING = C('s'), OBJECT_PATH = C('o'), SIGNATURE = C('g');
const ARRAY = C('a'), STRUCT = C('('), DICT_ENTRY = C('{'), VARIANT = C('v');

const OBJECT_PATH_RE = /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/;
// ignoreBOM: a leading U+FEFF is part of the string, as bus-marshal.ts writes it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function types(signature: string): readonly TypeNode[] {
  try {
    return parsedSignature(signature);
  } catch (err) {
    throw new BusUnmarshalError(err instanceof BusMarshalError ? err.message : `invalid signature '${signature}'`);
  }
}

const indexOfByte = Uint8Array.prototype.indexOf;

/**
 * Reads values from one buffer; offsets (and so alignment) count from `buf`'s start. A cold
 * process (the CLI) reads a whole reply before V8 has optimized anything, so the per-string
 * steps (length, NUL, UTF-8) are kept to few calls.
 */
class Reader {
  pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    private readonly littleEndian: boolean,
    private readonly limits: BodyLimits,
    start = 0,
    end = buf.length,
  ) {
    // Never past the buffer, whatever a length field said: reading there would give undefined, not an error.
    this.end = Math.min(end, buf.length);
    this.pos = Math.min(start, this.end);
  }

  get atEnd(): boolean {
    return this.pos === this.end;
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) throw new BusUnmarshalError(`truncated: ${bytes} byte(s) needed at offset ${this.pos}, the data ends at ${this.end}`);
  }

  /** Skips padding, which must be zeros. */
  align(n: number): void {
    const to = this.pos + paddingTo(this.pos, n);
    this.need(to - this.pos);
    for (; this.pos < to; this.pos++) if (this.buf[this.pos] !== 0) throw new BusUnmarshalError(`non-zero padding at offset ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  /** Every string's length: the common case inline, the failing ones through align() and need(), which throw. */
  u32(): number {
    const b = this.buf;
    const at = this.pos + (-this.pos & 3);
    if (at + 4 > this.end) {
      this.align(4);
      this.need(4);
    }
    for (let p = this.pos; p < at; p++) if (b[p] !== 0) this.align(4);
    this.pos = at + 4;
    return this.littleEndian
      ? ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) + (b[at + 3] as number) * 0x1000000
      : (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) + (b[at] as number) * 0x1000000;
  }

  private text(length: number, what: string): string {
    const end = this.pos + length;
    if (end >= this.end) this.need(length + 1);
    if (this.buf[end] !== 0) throw new BusUnmarshalError(`${what} at offset ${this.pos} is not NUL-terminated`);
    // Uint8Array's own indexOf: Buffer's adds a layer of argument checks per call.
    if (indexOfByte.call(this.buf, 0, this.pos) !== end) throw new BusUnmarshalError(`${what} at offset ${this.pos} contains a NUL`);
    // Buffer's decoder turns every invalid sequence into U+FFFD; only a string holding one is
    // checked strictly (the strict decoder costs a call and a view per string: most of a cold
    // ListInterfaces reply's reading).
    // No encoding named: UTF-8 without looking the name up.
    const s = this.buf.toString(undefined, this.pos, end);
    if (s.includes('\uFFFD')) {
      try {
        utf8.decode(this.buf.subarray(this.pos, end));
      } catch {
        throw new BusUnmarshalError(`${what} at offset ${this.pos} is not valid UTF-8`);
      }
    }
    this.pos = end + 1;
    return s;
  }

  string(): string {
    return this.text(this.u32(), 'a string');
  }

  signature(): string {
    return this.text(this.u8(), 'a signature');
  }

  value(type: TypeNode, depth: number): unknown {
    switch (type.code) {
      case BYTE: return this.u8();
      case BOOLEAN: {
        const v = this.u32();
        if (v > 1) throw new BusUnmarshalError(`boolean value ${v} is neither 0 nor 1`);
        return v === 1;
      }
      case INT16:
      case UINT16: {
        this.align(2);
        this.need(2);
        const le = this.littleEndian;
        const v = type.code === INT16
          ? (le ? this.buf.readInt16LE(this.pos) : this.buf.readInt16BE(this.pos))
          : (le ? this.buf.readUInt16LE(this.pos) : this.buf.readUInt16BE(this.pos));
        this.pos += 2;
        return v;
      }
      case UINT32: return this.u32();
      case INT32: {
        const v = this.u32();
        return v | 0;
      }
      case INT64:
      case UINT64:
      case DOUBLE: {
        this.align(8);
        this.need(8);
        const le = this.littleEndian;
        let v: bigint | number;
        if (type.code === INT64) v = le ? this.buf.readBigInt64LE(this.pos) : this.buf.readBigInt64BE(this.pos);
        else if (type.code === UINT64) v = le ? this.buf.readBigUInt64LE(this.pos) : this.buf.readBigUInt64BE(this.pos);
        else v = le ? this.buf.readDoubleLE(this.pos) : this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case STRING: return this.string();
      case OBJECT_PATH: {
        const s = this.string();
        if (!OBJECT_PATH_RE.test(s)) throw new BusUnmarshalError(`'${s.slice(0, 60)}' is not a valid object path`);
        return s;
      }
      case SIGNATURE: {
        const s = this.signature();
        types(s);
        return s;
      }
      case UNIX_FD:
        // We never negotiate fd passing, so no message of ours can carry one.
        throw new BusUnmarshalError("a unix fd ('h') cannot be received on this connection");
      case ARRAY: return this.array(type, depth + 1);
      case STRUCT: return this.struct(type, depth + 1);
      case VARIANT: return this.variant(depth + 1);
      default:
        throw new BusUnmarshalError(`cannot read type '${type.signature}'`);
    }
  }

  private enter(depth: number): void {
    if (depth > this.limits.maxDepth) throw new BusUnmarshalError(`containers nested deeper than ${this.limits.maxDepth}`);
  }

  private array(type: TypeNode, depth: number): unknown {
    this.enter(depth);
    const bytes = this.u32();
    if (bytes > MAX_ARRAY_BYTES) throw new BusUnmarshalError(`an array of ${bytes} bytes is larger than the ${MAX_ARRAY_BYTES} D-Bus allows`);
    const element = type.element as TypeNode;
    // The padding before the first element is there even when the array is empty.
    this.align(element.alignment);
    this.need(bytes);
    const end = this.pos + bytes;
    if (element.code === BYTE) {
      const out = Buffer.from(this.buf.subarray(this.pos, end));
      this.pos = end;
      return out;
    }
    const max = this.limits.maxArrayElements;
    if (element.code === DICT_ENTRY) {
      const [keyType, valueType] = element.fields as [TypeNode, TypeNode];
      const out: Record<string, unknown> = {};
      let n = 0;
      while (this.pos < end) {
        if (++n > max) throw new BusUnmarshalError(`a dictionary with more than ${max} entries`);
        this.enter(depth + 1);
        this.align(8);
        const key = String(this.value(keyType, depth + 1));
        const value = this.value(valueType, depth + 1);
        // A key '__proto__' is data, not the object's prototype.
        if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        else out[key] = value;
      }
      if (this.pos !== end) throw new BusUnmarshalError('a dictionary entry runs past the end of its array');
      return out;
    }
    const out: unknown[] = [];
    while (this.pos < end) {
      if (out.length >= max) throw new BusUnmarshalError(`an array with more than ${max} elements`);
      out.push(this.value(element, depth));
    }
    if (this.pos !== end) throw new BusUnmarshalError('an array element runs past the end of its array');
    return out;
  }

  private struct(type: TypeNode, depth: number): unknown[] {
    this.enter(depth);
    this.align(8);
    return type.fields.map((field) => this.value(field, depth));
  }

  private variant(depth: number): Variant {
    this.enter(depth);
    const signature = this.signature();
    const inner = types(signature);
    if (inner.length !== 1) throw new BusUnmarshalError(`a variant's signature must be one single complete type, got '${signature}'`);
    return new Variant(signature, this.value(inner[0] as TypeNode, depth));
  }
}

/** Decodes a whole body against its signature; every byte must be accounted for. */
export function decodeBody(signature: string, body: Buffer, littleEndian: boolean, limits: BodyLimits): unknown[] {
  const reader = new Reader(body, littleEndian, limits);
  const values = types(signature).map((type) => reader.value(type, 0));
  if (!reader.atEnd) throw new BusUnmarshalError(`${body.length - reader.pos} byte(s) after the values of signature '${signature}'`);
  return values;
}

/** True when a signature has a unix fd ('h') anywhere in it. */
export function signatureHasUnixFd(signature: string): boolean {
  return signature.includes('h');
}

/** The 16 fixed bytes: what is needed to know where the message ends. */
export interface FixedHeader {
  readonly littleEndian: boolean;
  readonly type: number;
  readonly flags: number;
  readonly bodyLength: number;
  readonly serial: number;
  readonly fieldsLength: number;
}

/**
 * Bytes of padding from `offset` up to a multiple of `n` (a power of two). Exact for any offset
 * up to 2^53: a bitwise operator keeps only 32 bits, but the low bits it needs survive that.
 */
function paddingTo(offset: number, n: number): number {
  return -offset & (n - 1);
}

export function readFixedHeader(bytes: Buffer): FixedHeader {
  const endian = bytes[0];
  if (endian !== C('l') && endian !== C('B')) throw new BusProtocolError(`not a D-Bus message: endianness byte 0x${(endian ?? 0).toString(16)}`);
  const littleEndian = endian === C('l');
  if (bytes[3] !== 1) throw new BusProtocolError(`unsupported D-Bus protocol version ${bytes[3] ?? 0}`);
  const u32 = (at: number) => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const fixed = { littleEndian, type: bytes[1] as number, flags: bytes[2] as number, bodyLength: u32(4), serial: u32(8), fieldsLength: u32(12) };
  // Each length is below 2^32, so the sum is exact (no 32-bit arithmetic on lengths anywhere).
  if (FIXED_HEADER_BYTES + padded8(fixed.fieldsLength) + fixed.bodyLength > MAX_MESSAGE_BYTES) {
    throw new BusProtocolError(`a message of ${fixed.fieldsLength} bytes of header fields and ${fixed.bodyLength} of body is larger than D-Bus allows`);
  }
  return fixed;
}

/** `n` rounded up to a multiple of 8; exact for any length up to 2^53 (a 32-bit `(n + 7) & ~7` turned 0x7FFFFFF9 negative). */
export function padded8(n: number): number {
  return n + paddingTo(n, 8);
}

// Header field codes, and the type each must have (the specification's table).
const FIELD_TYPES: Readonly<Record<number, string>> = { 1: 'o', 2: 's', 3: 's', 4: 's', 5: 'u', 6: 's', 7: 's', 8: 'g', 9: 'u' };
const FIELD_NAMES: Readonly<Record<number, string>> = {
  1: 'path', 2: 'interface', 3: 'member', 4: 'errorName', 5: 'replySerial', 6: 'destination', 7: 'sender', 8: 'signature', 9: 'unixFds',
};
const VARIANT_TYPE = (types('v')[0] as TypeNode);

/**
 * Reads the header fields from `bytes`: the 16 fixed bytes followed by the (padded) fields.
 * Unknown fields are skipped, as the specification says; a known one of the wrong type is an error.
 */
export function readHeader(fixed: FixedHeader, bytes: Buffer): MessageHeader {
  const headerBytes = FIXED_HEADER_BYTES + padded8(fixed.fieldsLength);
  // The reader's bounds are the buffer's: fields said to run past it are not read at all.
  if (bytes.length < headerBytes) throw new BusUnmarshalError(`${fixed.fieldsLength} bytes of header fields, but only ${bytes.length - FIXED_HEADER_BYTES} came`);
  const reader = new Reader(bytes, fixed.littleEndian, HEADER_FIELD_LIMITS, FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + fixed.fieldsLength);
  const fields: Record<string, string | number> = {};
  while (!reader.atEnd) {
    reader.align(8);
    const code = reader.u8();
    const value = reader.value(VARIANT_TYPE, 0) as Variant;
    const name = FIELD_NAMES[code];
    if (name === undefined) continue;
    if (value.signature !== FIELD_TYPES[code]) throw new BusUnmarshalError(`header field ${name} has type '${value.signature}', not '${FIELD_TYPES[code] ?? ''}'`);
    fields[name] = value.value as string | number;
  }
  // The padding after the fields, up to the body.
  new Reader(bytes, fixed.littleEndian, HEADER_FIELD_LIMITS, FIXED_HEADER_BYTES + fixed.fieldsLength, bytes.length).align(8);
  const str = (name: string) => (typeof fields[name] === 'string' ? fields[name] : undefined);
  const num = (name: string) => (typeof fields[name] === 'number' ? fields[name] : undefined);
  const header: MessageHeader = {
    littleEndian: fixed.littleEndian, type: fixed.type, flags: fixed.flags, serial: fixed.serial, bodyLength: fixed.bodyLength,
    path: str('path'), interface: str('interface'), member: str('member'), errorName: str('errorName'),
    replySerial: num('replySerial'), destination: str('destination'), sender: str('sender'),
    signature: str('signature') ?? '', unixFds: num('unixFds') ?? 0,
  };
  if (header.signature === '' && header.bodyLength > 0) throw new BusUnmarshalError(`a body of ${header.bodyLength} bytes with no signature`);
  return header;
}

export interface FramerEvents {
  /** Decides, from the header alone, whether the body is read (true) or skipped unread. */
  decide(header: MessageHeader): boolean;
  /** A message whose body was wanted (the body still encoded; decode it with decodeBody). */
  message(header: MessageHeader, body: Buffer): void;
  /** A message whose header fields could not be read: it was skipped whole. */
  unreadable(fixed: FixedHeader, err: BusUnmarshalError): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Cuts the byte stream into messages. Bytes of a body nobody wants are counted and dropped as
 * they arrive, never buffered or decoded. Throws BusProtocolError when the stream can't be followed.
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private fixed: FixedHeader | undefined;
  private header: MessageHeader | undefined;
  /** Bytes still to drop (the rest of a message nobody reads). */
  private skipping = 0;

  constructor(private readonly events: FramerEvents) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.skipping > 0) {
        const dropped = this.drop(this.skipping);
        this.skipping -= dropped;
        if (this.skipping > 0) return;
      }
      if (this.fixed === undefined) {
        const bytes = this.peek(FIXED_HEADER_BYTES);
        if (bytes === undefined) return;
        this.fixed = readFixedHeader(bytes);
      }
      const fixed = this.fixed;
      const headerBytes = FIXED_HEADER_BYTES + padded8(fixed.fieldsLength);
      if (this.header === undefined) {
        if (fixed.fieldsLength > MAX_HEADER_FIELDS_BYTES) {
          this.skipWhole(fixed, headerBytes, new BusUnmarshalError(`${fixed.fieldsLength} bytes of header fields (at most ${MAX_HEADER_FIELDS_BYTES} are read)`));
          continue;
        }
        const bytes = this.peek(headerBytes);
        if (bytes === undefined) return;
        let header: MessageHeader;
        try {
          header = readHeader(fixed, bytes);
        } catch (err) {
          if (!(err instanceof BusUnmarshalError)) throw err;
          this.skipWhole(fixed, headerBytes, err);
          continue;
        }
        this.drop(headerBytes);
        if (!this.events.decide(header)) {
          this.fixed = undefined;
          this.skipping = header.bodyLength;
          continue;
        }
        this.header = header;
      }
      const header = this.header;
      const body = this.peek(header.bodyLength);
      if (body === undefined) return;
      this.drop(header.bodyLength);
      this.fixed = undefined;
      this.header = undefined;
      this.events.message(header, body);
    }
  }

  private skipWhole(fixed: FixedHeader, headerBytes: number, err: BusUnmarshalError): void {
    this.fixed = undefined;
    this.skipping = headerBytes + fixed.bodyLength;
    this.events.unreadable(fixed, err);
  }

  /** The first `n` buffered bytes, as one Buffer, or undefined until that many have come. */
  private peek(n: number): Buffer | undefined {
    if (this.buffered < n) return undefined;
    if (n === 0) return EMPTY;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  /** Drops up to `n` buffered bytes; returns how many it dropped. */
  private drop(n: number): number {
    let left = Math.min(n, this.buffered);
    const dropped = left;
    while (left > 0) {
      const first = this.chunks[0] as Buffer;
      if (first.length <= left) {
        this.chunks.shift();
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.buffered -= dropped;
    return dropped;
  }
}
