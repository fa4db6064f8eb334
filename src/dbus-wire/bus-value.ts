// SPDX-License-Identifier: GPL-2.0-or-later
// Values as the bus library carries them, and codecs that check them at the edge.
// Bus data arrives as `unknown`; a codec decodes it once into a typed value (or throws
// BusDecodeError naming the path that was wrong) and encodes typed values back.

/** A D-Bus variant: a value with the signature of its own type. The marshaller sends only
 *  instances of this class as 'v', so a plain object that merely looks like one is refused. */
export class Variant {
  constructor(
    readonly signature: string,
    readonly value: unknown,
  ) {}
}

/** A variant to send; `value` must be in the shape BusValue describes for `signature`. */
export function makeVariant(signature: string, value: BusValue): Variant {
  return new Variant(signature, value);
}

/** What may be placed in a message body (checked against the signature when marshalled, bus-marshal.ts). */
export type BusValue =
  | string | number | boolean | bigint | Buffer | Variant
  | readonly BusValue[]
  | { readonly [key: string]: BusValue };

export class BusDecodeError extends Error {
  constructor(
    readonly where: string,
    readonly expected: string,
  ) {
    super(`${where || 'value'}: expected ${expected}`);
    this.name = 'BusDecodeError';
  }
}

export interface Codec<T> {
  /** The D-Bus type signature, used to build method signatures and introspection. */
  readonly signature: string;
  decode(value: unknown, where?: string): T;
  encode(value: T): BusValue;
}

export type CodecType<C> = C extends Codec<infer T> ? T : never;

function isVariantShape(value: unknown): value is { readonly signature: string; readonly value: unknown } {
  return typeof value === 'object' && value !== null && 'signature' in value && 'value' in value
    && typeof (value as { signature: unknown }).signature === 'string';
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value) && !isVariantShape(value);
}

export const string: Codec<string> = {
  signature: 's',
  decode(value, where = '') {
    if (typeof value !== 'string') throw new BusDecodeError(where, 'a string');
    return value;
  },
  encode: (value) => value,
};

export const objectPath: Codec<string> = { ...string, signature: 'o' };

export const boolean: Codec<boolean> = {
  signature: 'b',
  decode(value, where = '') {
    if (typeof value !== 'boolean') throw new BusDecodeError(where, 'a boolean');
    return value;
  },
  encode: (value) => value,
};

function integer(signature: string, min: number, max: number): Codec<number> {
  return {
    signature,
    decode(value, where = '') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new BusDecodeError(where, `an integer of D-Bus type '${signature}'`);
      }
      return value;
    },
    encode: (value) => value,
  };
}

export const uint32 = integer('u', 0, 0xffff_ffff);
export const int32 = integer('i', -0x8000_0000, 0x7fff_ffff);
export const byte = integer('y', 0, 0xff);

/** 64-bit values arrive as bigint; we only need ones that fit a JS number exactly. */
export const uint64: Codec<number> = {
  signature: 't',
  decode(value, where = '') {
    if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    throw new BusDecodeError(where, 'an unsigned 64-bit integer');
  },
  encode: (value) => BigInt(value),
};

export const bytes: Codec<Buffer> = {
  signature: 'ay',
  decode(value, where = '') {
    if (Buffer.isBuffer(value)) return value;
    if (Array.isArray(value) && value.every((b) => typeof b === 'number' && b >= 0 && b <= 255)) return Buffer.from(value as number[]);
    throw new BusDecodeError(where, 'a byte array');
  },
  encode: (value) => value,
};

export function array<T>(item: Codec<T>): Codec<T[]> {
  return {
    signature: `a${item.signature}`,
    decode(value, where = '') {
      if (!Array.isArray(value)) throw new BusDecodeError(where, `an array of '${item.signature}'`);
      return value.map((v, i) => item.decode(v, `${where}[${i}]`));
    },
    encode: (value) => value.map((v) => item.encode(v)),
  };
}

/** a{sX}: a dictionary with string keys. */
export function dict<T>(valueCodec: Codec<T>): Codec<Map<string, T>> {
  return {
    signature: `a{s${valueCodec.signature}}`,
    decode(value, where = '') {
      if (!isPlainRecord(value)) throw new BusDecodeError(where, `a dictionary a{s${valueCodec.signature}}`);
      const out = new Map<string, T>();
      // Keys, not entries: no [key, value] array per entry (a ListInterfaces reply has ~1000).
      for (const key of Object.keys(value)) out.set(key, valueCodec.decode(value[key], where ? `${where}.${key}` : key));
      return out;
    },
    encode(value) {
      const out: Record<string, BusValue> = {};
      for (const [key, v] of value) out[key] = valueCodec.encode(v);
      return out;
    },
  };
}

type CodecTuple<T extends readonly unknown[]> = { readonly [K in keyof T]: Codec<T[K]> };

export function struct<T extends readonly unknown[]>(...fields: CodecTuple<T>): Codec<T> {
  return {
    signature: `(${fields.map((f) => f.signature).join('')})`,
    decode(value, where = '') {
      if (!Array.isArray(value) || value.length !== fields.length) throw new BusDecodeError(where, `a struct of ${fields.length} fields`);
      return fields.map((f, i) => f.decode(value[i], `${where}[${i}]`)) as unknown as T;
    },
    encode: (value) => fields.map((f, i) => f.encode(value[i])),
  };
}

/** A variant kept as it came (signature + value), to be decoded later by whoever knows it. */
export const variant: Codec<Variant> = {
  signature: 'v',
  decode(value, where = '') {
    if (value instanceof Variant) return value;
    if (!isVariantShape(value)) throw new BusDecodeError(where, 'a variant');
    return new Variant(value.signature, value.value);
  },
  encode: (value) => value,
};

/** a{sv}, the usual options and properties dictionary. */
export const vardict = dict(variant);

/** Decodes the value inside a variant, checking the variant's own signature first. */
export function fromVariant<T>(codec: Codec<T>, value: Variant, where = ''): T {
  if (value.signature !== codec.signature) throw new BusDecodeError(where, `type '${codec.signature}', got '${value.signature}'`);
  return codec.decode(value.value, where);
}
