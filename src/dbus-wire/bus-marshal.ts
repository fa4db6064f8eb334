// SPDX-License-Identifier: GPL-2.0-or-later
// Our marshaller for outgoing D-Bus messages (little-endian), part of the library wrapper.
// The library's (marshall-compat jsToMarshalFmt + @nornagon/put) builds an object per word and
// copies every container into a new Buffer: ~4 ms of CPU and plenty of garbage for one
// ListInterfaces reply. This one writes the whole message in one pass into a reused scratch
// buffer and copies it out once. It takes body values in the library's JS shapes (see
// BusValue), checks them as strictly as the library does or more, and throws BusMarshalError
// before anything is sent: a malformed message would make the bus drop our connection.


import { Variant } from './bus-value';
export const MESSAGE_TYPE_METHOD_CALL = 1;
export const MESSAGE_TYPE_METHOD_RETURN = 2;
export const MESSAGE_TYPE_ERROR = 3;
export const MESSAGE_TYPE_SIGNAL = 4;

export type MessageType =
  | typeof MESSAGE_TYPE_METHOD_CALL | typeof MESSAGE_TYPE_METHOD_RETURN
  | typeof MESSAGE_TYPE_ERROR | typeof MESSAGE_TYPE_SIGNAL;

/** A message to send. Empty strings and a zero reply serial count as absent, as in the library. */
export interface OutgoingMessage {
  readonly type: MessageType;
  readonly serial: number;
  readonly flags?: number;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly errorName?: string;
  readonly replySerial?: number;
  readonly destination?: string;
  readonly sender?: string;
  readonly signature?: string;
  readonly body?: readonly unknown[] | MarshalledBody;
}

/**
 * A body marshalled once, to be sent in many messages (a reply served often, changed seldom). A
 * body starts 8-aligned in every message, so its bytes don't depend on the header before it.
 */
export class MarshalledBody {
  constructor(readonly signature: string, readonly bytes: Buffer) {}
}

/** A body value or header field that cannot be sent; `where` locates it (`body[0][3]["mac"]<s>`). */
export class BusMarshalError extends Error {
  constructor(
    readonly problem: string,
    public where = '',
  ) {
    super(where ? `${where}: ${problem}` : problem);
    this.name = 'BusMarshalError';
  }

  /** Adds the enclosing container's part of the location (errors are located on the way out). */
  within(segment: string): BusMarshalError {
    this.where = segment + this.where;
    this.message = `${this.where}: ${this.problem}`;
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// Signatures

/** One single complete type, parsed once and cached. */
export interface TypeNode {
  /** The type code's char code ('s', 'a', '(', '{', 'v', ...). */
  readonly code: number;
  /** This single complete type as a signature, e.g. 'a{sv}'. */
  readonly signature: string;
  /** 1, 2, 4 or 8. */
  readonly alignment: number;
  /** An array's element type (a dict entry '{' for a{..}). */
  readonly element: TypeNode | undefined;
  /** A struct's members; a dict entry's key and value. */
  readonly fields: readonly TypeNode[];
}

const C = (ch: string): number => ch.charCodeAt(0);
const BYTE = C('y'), BOOLEAN = C('b'), INT16 = C('n'), UINT16 = C('q'), INT32 = C('i'), UINT32 = C('u');
const INT64 = C('x'), UINT64 = C('t'), DOUBLE = C('d'), UNIX_FD = C('h');
const STRING = C('s'), OBJECT_PATH = C('o'), SIGNATURE = C('g');
const ARRAY = C('a'), STRUCT = C('('), DICT_ENTRY = C('{'), VARIANT = C('v');

const ALIGNMENT: Readonly<Record<string, number>> = {
  y: 1, g: 1, v: 1, n: 2, q: 2, b: 4, i: 4, u: 4, h: 4, s: 4, o: 4, a: 4, x: 8, t: 8, d: 8, '(': 8, '{': 8,
};
const BASIC_TYPES = 'ybnqiuxtdhsog';

const MAX_SIGNATURE_LENGTH = 255;
const MAX_ARRAY_NESTING = 32;
const MAX_STRUCT_NESTING = 32;
/** Arrays, structs, dict entries and variants together, across variants (the spec's 64). */
const MAX_CONTAINER_DEPTH = 64;
const MAX_ARRAY_BYTES = 64 * 1024 * 1024;
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

function parseSignature(signature: string): TypeNode[] {
  if (signature.length > MAX_SIGNATURE_LENGTH) throw new BusMarshalError(`signature '${signature.slice(0, 40)}…' is longer than ${MAX_SIGNATURE_LENGTH} characters`);
  let pos = 0;
  const bad = (why: string) => new BusMarshalError(`invalid signature '${signature}': ${why}`);
  const node = (code: number, start: number, element: TypeNode | undefined, fields: readonly TypeNode[]): TypeNode => {
    const text = signature.slice(start, pos);
    return { code, signature: text, alignment: ALIGNMENT[text[0] ?? ''] ?? 1, element, fields };
  };
  const parseOne = (arrays: number, structs: number): TypeNode => {
    const start = pos;
    const ch = signature[pos++];
    if (ch === undefined) throw bad('unexpected end');
    if (BASIC_TYPES.includes(ch) || ch === 'v') return node(C(ch), start, undefined, []);
    if (ch === 'a') {
      if (arrays >= MAX_ARRAY_NESTING) throw bad(`more than ${MAX_ARRAY_NESTING} nested arrays`);
      if (signature[pos] !== '{') return node(ARRAY, start, parseOne(arrays + 1, structs), []);
      if (structs >= MAX_STRUCT_NESTING) throw bad(`more than ${MAX_STRUCT_NESTING} nested structs`);
      const entryStart = pos++;
      const key = parseOne(arrays + 1, structs + 1);
      if (!BASIC_TYPES.includes(key.signature)) throw bad(`dict key '${key.signature}' is not a basic type`);
      const value = parseOne(arrays + 1, structs + 1);
      if (signature[pos++] !== '}') throw bad('a dict entry has exactly one key and one value, then }');
      const entry = node(DICT_ENTRY, entryStart, undefined, [key, value]);
      return node(ARRAY, start, entry, []);
    }
    if (ch === '(') {
      if (structs >= MAX_STRUCT_NESTING) throw bad(`more than ${MAX_STRUCT_NESTING} nested structs`);
      const fields: TypeNode[] = [];
      while (signature[pos] !== ')') fields.push(parseOne(arrays, structs + 1));
      pos++;
      if (fields.length === 0) throw bad('empty struct');
      return node(STRUCT, start, undefined, fields);
    }
    if (ch === '{') throw bad('dict entry outside an array');
    throw bad(`unexpected '${ch}'`);
  };
  const types: TypeNode[] = [];
  while (pos < signature.length) types.push(parseOne(0, 0));
  return types;
}

const MAX_CACHED = 1024;
const signatureCache = new Map<string, readonly TypeNode[]>();

/** Parses (once) a signature: any number of single complete types; throws BusMarshalError. */
export function parsedSignature(signature: string): readonly TypeNode[] {
  let types = signatureCache.get(signature);
  if (types === undefined) {
    types = parseSignature(signature);
    // Variant signatures come from data; don't let the cache grow without bound.
    if (signatureCache.size >= MAX_CACHED) signatureCache.clear();
    signatureCache.set(signature, types);
  }
  return types;
}

function singleCompleteType(signature: string): TypeNode {
  const types = parsedSignature(signature);
  if (types.length !== 1 || types[0] === undefined) throw new BusMarshalError(`a variant's signature must be one single complete type, got '${signature}'`);
  return types[0];
}

// ---------------------------------------------------------------------------------------------
// Names (checked once each and remembered)

const OBJECT_PATH_RE = /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/;
const INTERFACE_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const MEMBER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNIQUE_NAME_RE = /^:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/;
const WELL_KNOWN_NAME_RE = /^[A-Za-z_-][A-Za-z0-9_-]*(?:\.[A-Za-z_-][A-Za-z0-9_-]*)+$/;

class NameChecker {
  private readonly valid = new Set<string>();
  constructor(
    private readonly what: string,
    private readonly isValid: (name: string) => boolean,
  ) {}

  check(name: unknown, where: string): string {
    if (typeof name === 'string' && this.valid.has(name)) return name;
    if (typeof name !== 'string' || !this.isValid(name)) throw new BusMarshalError(`${describe(name)} is not a valid ${this.what}`, where);
    if (this.valid.size >= MAX_CACHED) this.valid.clear();
    this.valid.add(name);
    return name;
  }
}

const objectPaths = new NameChecker('object path', (s) => OBJECT_PATH_RE.test(s));
const interfaceNames = new NameChecker('interface name', (s) => s.length <= 255 && INTERFACE_RE.test(s));
const errorNames = new NameChecker('error name', (s) => s.length <= 255 && INTERFACE_RE.test(s));
const memberNames = new NameChecker('member name', (s) => s.length <= 255 && MEMBER_RE.test(s));
const busNames = new NameChecker('bus name', (s) => s.length <= 255 && (UNIQUE_NAME_RE.test(s) || WELL_KNOWN_NAME_RE.test(s)));

// ---------------------------------------------------------------------------------------------
// The writer

const INITIAL_SCRATCH = 64 * 1024;
/**
 * A scratch buffer grown past this for one big message is dropped after it: ordinary messages
 * are a few kB, and a listing of thousands of interfaces (~1 MB) is marshalled once per change.
 */
const MAX_RETAINED_SCRATCH = 256 * 1024;
const TWO_32 = 4294967296;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const INTEGER_KEY_RE = /^-?[0-9]+$/;

class MessageWriter {
  private buf = Buffer.allocUnsafe(INITIAL_SCRATCH);
  private pos = 0;

  marshal(msg: OutgoingMessage): Buffer {
    const header = checkHeader(msg);
    if (msg.body instanceof MarshalledBody) {
      if (msg.body.signature !== (header.signature ?? '')) {
        throw new BusMarshalError(`a body marshalled as '${msg.body.signature}' sent with signature '${header.signature ?? ''}'`, 'body');
      }
      return this.write(msg, header, [], [], msg.body.bytes);
    }
    const body = msg.body ?? [];
    const types = header.signature === undefined ? [] : parsedSignature(header.signature);
    if (types.length !== body.length) {
      throw new BusMarshalError(`signature '${header.signature ?? ''}' has ${types.length} argument(s), the body ${body.length}`, 'body');
    }
    try {
      return this.write(msg, header, types, body);
    } finally {
      // One huge message must not pin its scratch buffer for the life of the daemon.
      if (this.buf.length > MAX_RETAINED_SCRATCH) this.buf = Buffer.allocUnsafe(INITIAL_SCRATCH);
    }
  }

  /** The body alone, from offset 0 (as 8-aligned as in a message). */
  marshalBody(signature: string, body: readonly unknown[]): MarshalledBody {
    const types = parsedSignature(signature);
    if (types.length !== body.length) {
      throw new BusMarshalError(`signature '${signature}' has ${types.length} argument(s), the body ${body.length}`, 'body');
    }
    try {
      this.pos = 0;
      this.writeBody(types, body);
      return new MarshalledBody(signature, Buffer.from(this.buf.subarray(0, this.pos)));
    } finally {
      if (this.buf.length > MAX_RETAINED_SCRATCH) this.buf = Buffer.allocUnsafe(INITIAL_SCRATCH);
    }
  }

  private writeBody(types: readonly TypeNode[], body: readonly unknown[]): void {
    for (let i = 0; i < types.length; i++) {
      try {
        this.writeValue(types[i] as TypeNode, body[i], 0);
      } catch (err) {
        throw located(err, `body[${i}]`);
      }
    }
  }

  private write(msg: OutgoingMessage, header: CheckedHeader, types: readonly TypeNode[], body: readonly unknown[], marshalled?: Buffer): Buffer {
    this.pos = 0;
    this.ensure(16);
    const b = this.buf;
    b[0] = 0x6c; // 'l': little-endian
    b[1] = msg.type;
    b[2] = msg.flags ?? 0;
    b[3] = 1; // protocol version
    this.writeUint32At(8, msg.serial);
    this.pos = 16;
    // Header fields a(yv), in code order like the library (bytes equal to its output).
    if (header.path !== undefined) this.headerField(1, 'o', header.path);
    if (header.interface !== undefined) this.headerField(2, 's', header.interface);
    if (header.member !== undefined) this.headerField(3, 's', header.member);
    if (header.errorName !== undefined) this.headerField(4, 's', header.errorName);
    if (header.replySerial !== undefined) {
      this.headerFieldStart(5, 'u');
      this.writeUint32(header.replySerial);
    }
    if (header.destination !== undefined) this.headerField(6, 's', header.destination);
    if (header.sender !== undefined) this.headerField(7, 's', header.sender);
    if (header.signature !== undefined) {
      this.headerFieldStart(8, 'g');
      this.writeSignature(header.signature);
    }
    this.writeUint32At(12, this.pos - 16);
    this.align(8);
    const bodyStart = this.pos;
    // A body marshalled before goes straight into the message: through the scratch it would
    // grow it to the body's size (a listing of thousands of interfaces) for the daemon's life.
    if (marshalled === undefined) this.writeBody(types, body);
    const size = marshalled === undefined ? this.pos : bodyStart + marshalled.length;
    if (size > MAX_MESSAGE_BYTES) throw new BusMarshalError(`message of ${size} bytes is larger than the ${MAX_MESSAGE_BYTES} bytes D-Bus allows`);
    this.writeUint32At(4, size - bodyStart);
    // The scratch is reused; the caller gets bytes of its own (a socket may queue them).
    const out = Buffer.allocUnsafe(size);
    this.buf.copy(out, 0, 0, marshalled === undefined ? size : bodyStart);
    marshalled?.copy(out, bodyStart);
    return out;
  }

  private headerFieldStart(code: number, signature: string): void {
    this.align(8);
    this.ensure(4);
    const b = this.buf;
    b[this.pos] = code;
    b[this.pos + 1] = 1;
    b[this.pos + 2] = C(signature);
    b[this.pos + 3] = 0;
    this.pos += 4;
  }

  private headerField(code: number, signature: string, value: string): void {
    this.headerFieldStart(code, signature);
    this.writeString(value);
  }

  private ensure(bytes: number): void {
    const need = this.pos + bytes;
    if (need <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Pads with zeros to a multiple of `n` (1, 2, 4 or 8). */
  private align(n: number): void {
    let pad = -this.pos & (n - 1);
    if (pad === 0) return;
    this.ensure(pad);
    const b = this.buf;
    while (pad-- > 0) b[this.pos++] = 0;
  }

  private writeUint32At(at: number, v: number): void {
    const b = this.buf;
    b[at] = v;
    b[at + 1] = v >>> 8;
    b[at + 2] = v >>> 16;
    b[at + 3] = v >>> 24;
  }

  /** Aligns and writes a 32-bit value already known to fit (signed or unsigned). */
  private writeUint32(v: number): void {
    this.align(4);
    this.ensure(4);
    this.writeUint32At(this.pos, v);
    this.pos += 4;
  }

  private writeValue(type: TypeNode, value: unknown, depth: number): void {
    switch (type.code) {
      case STRING:
        if (typeof value !== 'string') throw mismatch('a string', type, value);
        this.writeString(value);
        return;
      case OBJECT_PATH:
        this.writeString(objectPaths.check(value, ''));
        return;
      case SIGNATURE:
        if (typeof value !== 'string') throw mismatch('a signature string', type, value);
        parsedSignature(value);
        this.writeSignature(value);
        return;
      case BOOLEAN:
        // The library takes 0 and 1 too.
        if (value !== true && value !== false && value !== 0 && value !== 1) throw mismatch('a boolean', type, value);
        this.writeUint32(value ? 1 : 0);
        return;
      case BYTE:
        checkInteger(type, value, 0, 0xff);
        this.ensure(1);
        this.buf[this.pos++] = value;
        return;
      case INT16:
      case UINT16:
        if (type.code === INT16) checkInteger(type, value, -0x8000, 0x7fff);
        else checkInteger(type, value, 0, 0xffff);
        this.align(2);
        this.ensure(2);
        this.buf[this.pos] = value;
        this.buf[this.pos + 1] = value >>> 8;
        this.pos += 2;
        return;
      case INT32:
        checkInteger(type, value, -0x8000_0000, 0x7fff_ffff);
        this.writeUint32(value);
        return;
      case UINT32:
        checkInteger(type, value, 0, 0xffff_ffff);
        this.writeUint32(value);
        return;
      case INT64:
      case UINT64:
        this.writeInt64(type, value);
        return;
      case DOUBLE:
        if (typeof value !== 'number' || !Number.isFinite(value)) throw mismatch('a finite number', type, value);
        this.align(8);
        this.ensure(8);
        this.buf.writeDoubleLE(value, this.pos);
        this.pos += 8;
        return;
      case ARRAY:
        this.writeArray(type, value, depth + 1);
        return;
      case STRUCT:
        this.writeStruct(type, value, depth + 1);
        return;
      case VARIANT:
        this.writeVariant(value, depth + 1);
        return;
      case UNIX_FD:
        throw new BusMarshalError("unix fds ('h') cannot be sent on this connection");
      default:
        throw new BusMarshalError(`cannot marshal type '${type.signature}'`);
    }
  }

  private writeInt64(type: TypeNode, value: unknown): void {
    const unsigned = type.code === UINT64;
    let big: bigint | undefined;
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) throw mismatch('an integer', type, value);
      if (unsigned && value < 0) throw mismatch('an integer from 0 to 2^64-1', type, value);
      // Beyond 2^53 a number is taken at its exact value (the library goes through toString).
      if (!Number.isSafeInteger(value)) big = BigInt(value);
    } else if (typeof value === 'bigint') {
      big = value;
    } else {
      throw mismatch('a bigint (or an integer number)', type, value);
    }
    if (big !== undefined && (unsigned ? big < 0n || big > UINT64_MAX : big < INT64_MIN || big > INT64_MAX)) {
      throw mismatch(unsigned ? 'an integer from 0 to 2^64-1' : 'an integer from -2^63 to 2^63-1', type, value);
    }
    this.align(8);
    this.ensure(8);
    if (big !== undefined) {
      if (unsigned) this.buf.writeBigUInt64LE(big, this.pos);
      else this.buf.writeBigInt64LE(big, this.pos);
    } else {
      const n = value as number;
      const high = Math.floor(n / TWO_32);
      this.writeUint32At(this.pos, n - high * TWO_32);
      this.writeUint32At(this.pos + 4, high);
    }
    this.pos += 8;
  }

  /** UTF-8 with a 32-bit length and a NUL; plain ASCII is copied by hand (cheaper than a native call). */
  private writeString(s: string): void {
    const n = s.length;
    this.align(4);
    this.ensure(4 + 3 * n + 1);
    const b = this.buf;
    const start = this.pos + 4;
    let i = 0;
    if (n <= 64) {
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80 || c === 0) break;
        b[start + i] = c;
      }
    }
    let bytes = n;
    if (i < n) {
      if (s.indexOf('\0') !== -1) throw new BusMarshalError(`a D-Bus string cannot contain NUL: ${describe(s)}`);
      bytes = b.write(s, start, 'utf8');
    }
    this.writeUint32At(this.pos, bytes);
    b[start + bytes] = 0;
    this.pos = start + bytes + 1;
  }

  /** A signature already checked by the parser (ASCII, at most 255 characters). */
  private writeSignature(s: string): void {
    const n = s.length;
    this.ensure(n + 2);
    const b = this.buf;
    b[this.pos] = n;
    for (let i = 0; i < n; i++) b[this.pos + 1 + i] = s.charCodeAt(i);
    b[this.pos + 1 + n] = 0;
    this.pos += n + 2;
  }

  private writeArray(type: TypeNode, value: unknown, depth: number): void {
    if (depth > MAX_CONTAINER_DEPTH) throw new BusMarshalError(`containers nested more than ${MAX_CONTAINER_DEPTH} deep`);
    const element = type.element as TypeNode;
    this.align(4);
    this.ensure(4);
    const lengthAt = this.pos;
    this.pos += 4;
    // The padding to the first element is there even when the array is empty (and not counted).
    this.align(element.alignment);
    const start = this.pos;
    if (element.code === DICT_ENTRY) {
      this.writeDict(type, element, value, depth);
    } else if (element.code === BYTE && value instanceof Uint8Array) {
      this.ensure(value.length);
      this.buf.set(value, this.pos);
      this.pos += value.length;
    } else {
      if (!Array.isArray(value)) throw mismatch(element.code === BYTE ? 'a Buffer or an array of bytes' : 'an array', type, value);
      const items: readonly unknown[] = value;
      let i = 0;
      try {
        for (; i < items.length; i++) this.writeValue(element, items[i], depth);
      } catch (err) {
        throw located(err, `[${i}]`);
      }
    }
    const length = this.pos - start;
    if (length > MAX_ARRAY_BYTES) throw new BusMarshalError(`array of ${length} bytes is larger than the ${MAX_ARRAY_BYTES} bytes D-Bus allows`);
    this.writeUint32At(lengthAt, length);
  }

  /** a{kv} from a plain object (keys converted back from strings, as the library does) or a Map. */
  private writeDict(type: TypeNode, entry: TypeNode, value: unknown, depth: number): void {
    const keyType = entry.fields[0] as TypeNode;
    const valueType = entry.fields[1] as TypeNode;
    if (value instanceof Map) {
      (value as Map<unknown, unknown>).forEach((v, k) => this.writeDictEntry(keyType, valueType, k, v, depth));
      return;
    }
    if (!isPlainObject(value)) throw mismatch('a plain object or a Map', type, value);
    const record = value as Readonly<Record<string, unknown>>;
    // for-in rather than Object.keys: no array per dict (same keys, same order, for own ones).
    for (const key in record) {
      if (Object.hasOwn(record, key)) this.writeDictEntry(keyType, valueType, key, record[key], depth);
    }
  }

  private writeDictEntry(keyType: TypeNode, valueType: TypeNode, key: unknown, value: unknown, depth: number): void {
    try {
      this.align(8);
      this.writeValue(keyType, typeof key === 'string' ? dictKey(keyType, key) : key, depth + 1);
      this.writeValue(valueType, value, depth + 1);
    } catch (err) {
      throw located(err, `[${typeof key === 'string' ? JSON.stringify(key) : String(key)}]`);
    }
  }

  private writeStruct(type: TypeNode, value: unknown, depth: number): void {
    if (depth > MAX_CONTAINER_DEPTH) throw new BusMarshalError(`containers nested more than ${MAX_CONTAINER_DEPTH} deep`);
    const fields = type.fields;
    if (!Array.isArray(value)) throw mismatch(`an array of ${fields.length} struct members`, type, value);
    if (value.length !== fields.length) throw mismatch(`${fields.length} struct members`, type, value);
    const members: readonly unknown[] = value;
    this.align(8);
    let i = 0;
    try {
      for (; i < fields.length; i++) this.writeValue(fields[i] as TypeNode, members[i], depth);
    } catch (err) {
      throw located(err, `[${i}]`);
    }
  }

  private writeVariant(value: unknown, depth: number): void {
    if (depth > MAX_CONTAINER_DEPTH) throw new BusMarshalError(`containers nested more than ${MAX_CONTAINER_DEPTH} deep`);
    if (!(value instanceof Variant)) throw new BusMarshalError(`expected a Variant for 'v', got ${describe(value)}`);
    const signature: unknown = value.signature;
    if (typeof signature !== 'string') throw new BusMarshalError(`a Variant's signature must be a string, got ${describe(signature)}`);
    const type = singleCompleteType(signature);
    this.writeSignature(signature);
    try {
      this.writeValue(type, value.value, depth);
    } catch (err) {
      throw located(err, `<${signature}>`);
    }
  }
}

function checkInteger(type: TypeNode, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw mismatch(`an integer from ${min} to ${max}`, type, value);
  }
}

/** JS objects have string keys; give a{..} with other key types their typed value back. */
function dictKey(keyType: TypeNode, key: string): unknown {
  switch (keyType.code) {
    case STRING: case OBJECT_PATH: case SIGNATURE:
      return key;
    case BOOLEAN:
      if (key === 'true' || key === 'false') return key === 'true';
      break;
    case INT64: case UINT64:
      if (INTEGER_KEY_RE.test(key)) return BigInt(key);
      break;
    case DOUBLE:
      if (key.trim() !== '' && !Number.isNaN(Number(key))) return Number(key);
      break;
    default:
      if (INTEGER_KEY_RE.test(key)) return Number(key);
  }
  throw new BusMarshalError(`dict key ${JSON.stringify(key)} is not a '${keyType.signature}'`);
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function located(err: unknown, segment: string): unknown {
  return err instanceof BusMarshalError ? err.within(segment) : err;
}

function mismatch(expected: string, type: TypeNode, value: unknown): BusMarshalError {
  return new BusMarshalError(`expected ${expected} for '${type.signature}', got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string': return `string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
    case 'number': case 'boolean': return `${typeof value} ${String(value)}`;
    case 'bigint': return `bigint ${value}n`;
    case 'undefined': return 'undefined';
    case 'object': {
      if (Array.isArray(value)) return `an array of ${value.length}`;
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === 'string' ? `an object (${name})` : 'an object';
    }
    default: return typeof value;
  }
}

interface CheckedHeader {
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
}

/** What each message type must carry (the spec's, and what the library's Message requires). */
const REQUIRED_FIELDS: Readonly<Record<MessageType, ReadonlyArray<keyof CheckedHeader>>> = {
  [MESSAGE_TYPE_METHOD_CALL]: ['path', 'member'],
  [MESSAGE_TYPE_METHOD_RETURN]: ['replySerial'],
  [MESSAGE_TYPE_ERROR]: ['errorName', 'replySerial'],
  [MESSAGE_TYPE_SIGNAL]: ['path', 'interface', 'member'],
};

/** The header fields to write (empty ones dropped), checked like the library's Message does. */
function checkHeader(msg: OutgoingMessage): CheckedHeader {
  const { type, serial, flags = 0 } = msg;
  if (type !== MESSAGE_TYPE_METHOD_CALL && type !== MESSAGE_TYPE_METHOD_RETURN && type !== MESSAGE_TYPE_ERROR && type !== MESSAGE_TYPE_SIGNAL) {
    throw new BusMarshalError(`unknown message type ${String(type)}`, 'header');
  }
  if (!isUint32(serial) || serial === 0) throw new BusMarshalError(`serial must be an integer from 1 to 2^32-1, got ${describe(serial)}`, 'header');
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) throw new BusMarshalError(`flags must be a byte, got ${describe(flags)}`, 'header');
  const header: CheckedHeader = {};
  if (msg.path) header.path = objectPaths.check(msg.path, 'header path');
  if (msg.interface) header.interface = interfaceNames.check(msg.interface, 'header interface');
  if (msg.member) header.member = memberNames.check(msg.member, 'header member');
  if (msg.errorName) header.errorName = errorNames.check(msg.errorName, 'header error name');
  if (msg.replySerial) {
    if (!isUint32(msg.replySerial)) throw new BusMarshalError(`reply serial must be an integer from 1 to 2^32-1, got ${describe(msg.replySerial)}`, 'header');
    header.replySerial = msg.replySerial;
  }
  if (msg.destination) header.destination = busNames.check(msg.destination, 'header destination');
  if (msg.sender) header.sender = busNames.check(msg.sender, 'header sender');
  if (msg.signature) {
    parsedSignature(msg.signature);
    header.signature = msg.signature;
  }
  for (const field of REQUIRED_FIELDS[type]) {
    if (header[field] === undefined) throw new BusMarshalError(`a message of type ${type} needs a ${field}`, 'header');
  }
  return header;
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

const writer = new MessageWriter();

/** Marshals a complete message (header, header fields, body) into a new Buffer. */
export function marshalMessage(msg: OutgoingMessage): Buffer {
  return writer.marshal(msg);
}

/** Marshals a body once, for marshalMessage to send as it is (see MarshalledBody). */
export function marshalBody(signature: string, body: readonly unknown[]): MarshalledBody {
  return writer.marshalBody(signature, body);
}
