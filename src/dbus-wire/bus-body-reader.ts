// SPDX-License-Identifier: GPL-2.0-or-later
// Decodes D-Bus values from a message's body (or its header fields) against a signature, within
// limits set by whoever wants them (nesting depth, array lengths). A body it can't decode throws
// BusUnmarshalError for that message only. The library's reader threw from a socket event for an
// fd-typed value ('h') with no fd, which ended the process, and took ~40 s of CPU to decode a
// 15 MiB body nobody wanted: bus-unmarshal.ts decides from the header whether a body is read at all.
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

export interface BodyLimits {
  /** Containers (arrays, structs, dict entries, variants) nested, across variants. The spec's 64 at most. */
  readonly maxDepth: number;
  /** Elements of any one array other than 'ay' (whose bytes the body size bounds). */
  readonly maxArrayElements: number;
}

/** The specification's limits: what any well-formed message may carry. */
export const SPEC_LIMITS: BodyLimits = { maxDepth: 64, maxArrayElements: Number.MAX_SAFE_INTEGER };

const MAX_ARRAY_BYTES = 64 * 1024 * 1024;

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
export class Reader {
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
/**
 * Bytes of padding from `offset` up to a multiple of `n` (a power of two). Exact for any offset
 * up to 2^53: a bitwise operator keeps only 32 bits, but the low bits it needs survive that.
 */
export function paddingTo(offset: number, n: number): number {
  return -offset & (n - 1);
}
