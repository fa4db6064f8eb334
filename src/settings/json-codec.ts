// SPDX-License-Identifier: GPL-2.0-or-later
// Codecs for the JSON the backends keep in the state directory (the ifcfg journal's manifest, the
// record of a shared NIC, NetworkManager's change records): what we read back is `unknown` until
// one codec per shape has checked it, as the bus-value codecs do for D-Bus values. A codec either
// returns the typed value or throws JsonShapeError naming the field.

export class JsonShapeError extends Error {
  constructor(readonly where: string, what: string) {
    super(`${where || 'the value'} ${what}`);
    this.name = 'JsonShapeError';
  }
}

export interface JsonCodec<T> {
  decode(value: unknown, where?: string): T;
}

/** A string, matching `pattern` when given. */
export function string(pattern?: RegExp): JsonCodec<string> {
  return {
    decode(value, where = '') {
      if (typeof value !== 'string') throw new JsonShapeError(where, 'is not a string');
      if (pattern !== undefined && !pattern.test(value)) throw new JsonShapeError(where, `does not match ${String(pattern)}`);
      return value;
    },
  };
}

export const number: JsonCodec<number> = {
  decode(value, where = '') {
    if (typeof value !== 'number') throw new JsonShapeError(where, 'is not a number');
    return value;
  },
};

/** A whole number, at least `min`. */
export function integer(min: number): JsonCodec<number> {
  return {
    decode(value, where = '') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new JsonShapeError(where, `is not a whole number from ${min}`);
      return value;
    },
  };
}

export const boolean: JsonCodec<boolean> = {
  decode(value, where = '') {
    if (typeof value !== 'boolean') throw new JsonShapeError(where, 'is not a boolean');
    return value;
  },
};

/** Exactly one of `values`. */
export function oneOf<const T extends readonly (string | number | boolean)[]>(...values: T): JsonCodec<T[number]> {
  return {
    decode(value, where = '') {
      const found = values.find((v) => v === value);
      if (found === undefined) throw new JsonShapeError(where, `is not one of ${values.map(String).join(', ')}`);
      return found;
    },
  };
}

export function nullable<T>(codec: JsonCodec<T>): JsonCodec<T | null> {
  return { decode: (value, where) => (value === null ? null : codec.decode(value, where)) };
}

/** Any value at all: a part another codec checks later (the journal's opaque live state). */
export const opaque: JsonCodec<unknown> = { decode: (value) => value };

/** The value, or `fallback` when it is absent or of another shape (fields added later, or lenient ones). */
export function orElse<T>(codec: JsonCodec<T>, fallback: T): JsonCodec<T> {
  return {
    decode(value, where) {
      try {
        return codec.decode(value, where);
      } catch (err) {
        if (err instanceof JsonShapeError) return fallback;
        throw err;
      }
    },
  };
}

export function array<T>(item: JsonCodec<T>): JsonCodec<T[]> {
  return {
    decode(value, where = '') {
      if (!Array.isArray(value)) throw new JsonShapeError(where, 'is not an array');
      return value.map((v, i) => item.decode(v, `${where}[${i}]`));
    },
  };
}

/** An array of which only the items of the shape are kept (what is safe to use of a damaged list). */
export function validItems<T>(item: JsonCodec<T>): JsonCodec<T[]> {
  return {
    decode(value, where = '') {
      if (!Array.isArray(value)) throw new JsonShapeError(where, 'is not an array');
      return value.flatMap((v, i) => {
        try {
          return [item.decode(v, `${where}[${i}]`)];
        } catch (err) {
          if (err instanceof JsonShapeError) return [];
          throw err;
        }
      });
    },
  };
}

type Fields<T> = { readonly [K in keyof T]-?: JsonCodec<T[K]> };

/**
 * An object with these fields (others are ignored). A field whose codec gives undefined is left
 * out, so optional fields stay absent rather than present and undefined.
 */
export function object<T>(fields: Fields<T>): JsonCodec<T> {
  return {
    decode(value, where = '') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JsonShapeError(where, 'is not an object');
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, codec] of Object.entries(fields) as [string, JsonCodec<unknown>][]) {
        const decoded = codec.decode(record[key], where === '' ? key : `${where}.${key}`);
        if (decoded !== undefined) out[key] = decoded;
      }
      return out as T;
    },
  };
}

/** An optional field: absent, or (when lenient) of another shape, it is left out. */
export function optional<T>(codec: JsonCodec<T>): JsonCodec<T | undefined> {
  return orElse<T | undefined>(codec, undefined);
}

/** JSON text of this shape; bad JSON is a JsonShapeError too. */
export function parseJson<T>(text: string, codec: JsonCodec<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JsonShapeError('', 'is not JSON');
  }
  return codec.decode(value);
}

/** The value of `codec`, which must also pass `test` (say what it is not in `what`). */
export function refine<T>(codec: JsonCodec<T>, test: (value: T) => boolean, what: string): JsonCodec<T> {
  return {
    decode(value, where = '') {
      const decoded = codec.decode(value, where);
      if (!test(decoded)) throw new JsonShapeError(where, what);
      return decoded;
    },
  };
}

/** The first of two shapes that fits (a union told apart by a field, such as `shape`). */
export function either<A, B>(a: JsonCodec<A>, b: JsonCodec<B>): JsonCodec<A | B> {
  return {
    decode(value, where) {
      try {
        return a.decode(value, where);
      } catch (err) {
        if (err instanceof JsonShapeError) return b.decode(value, where);
        throw err;
      }
    },
  };
}
