// SPDX-License-Identifier: GPL-2.0-or-later
// Our reader of incoming D-Bus messages. It reads a message in two steps, as dbus-daemon and
// sd-bus do: first the fixed header and the header fields (sender, member, signature, body length,
// unix fds), which the connection uses to decide whether the body is read at all; then, only if
// it is wanted, the body (bus-body-reader.ts). The stream stays in step whatever a body holds,
// because the framing never depends on the body.

import { parsedSignature, type TypeNode } from './bus-marshal';
import { BusUnmarshalError, paddingTo, Reader, type BodyLimits } from './bus-body-reader';
import type { Variant } from './bus-value';

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

const FIXED_HEADER_BYTES = 16;
/** The specification's largest message. */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
/** Header fields are a few names and numbers; dbus-daemon drops fields it doesn't know. */
export const MAX_HEADER_FIELDS_BYTES = 64 * 1024;
const HEADER_FIELD_LIMITS: BodyLimits = { maxDepth: 8, maxArrayElements: 64 };

export interface FixedHeader {
  readonly littleEndian: boolean;
  readonly type: number;
  readonly flags: number;
  readonly bodyLength: number;
  readonly serial: number;
  readonly fieldsLength: number;
}

const LITTLE = 'l'.charCodeAt(0), BIG = 'B'.charCodeAt(0);

export function readFixedHeader(bytes: Buffer): FixedHeader {
  const endian = bytes[0];
  if (endian !== LITTLE && endian !== BIG) throw new BusProtocolError(`not a D-Bus message: endianness byte 0x${(endian ?? 0).toString(16)}`);
  const littleEndian = endian === LITTLE;
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
const VARIANT_TYPE = parsedSignature('v')[0] as TypeNode;

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
