// SPDX-License-Identifier: GPL-2.0-or-later
// A client that speaks the D-Bus wire protocol itself, for tests that must send what no library
// would: fd-typed values without fds, bodies of many MiB, spoofed signals, malformed bytes. It
// authenticates like any client (SASL EXTERNAL, then Hello), writes raw bytes, and reads the
// replies addressed to it with our own reader.
import type { Socket } from 'node:net';
import { openAuthenticated } from '../../src/dbus-wire/bus-connection';
import { marshalMessage, MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, type OutgoingMessage } from '../../src/dbus-wire/bus-marshal';
import { decodeBody, SPEC_LIMITS } from '../../src/dbus-wire/bus-body-reader';
import { MessageFramer, type MessageHeader } from '../../src/dbus-wire/bus-unmarshal';

export interface RawReply {
  readonly errorName: string | undefined;
  readonly body: unknown[];
}

/** The bus closed the connection (it does so for a message it finds malformed). */
export class ConnectionClosed extends Error {
  constructor() {
    super('the bus closed the connection');
  }
}

export class RawBusClient {
  uniqueName = '';
  private serial = 0;
  private closed = false;
  private readonly waiting = new Map<number, { resolve: (reply: RawReply) => void; reject: (err: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    const framer = new MessageFramer({
      decide: (h) => h.type === MESSAGE_TYPE_METHOD_RETURN || h.type === MESSAGE_TYPE_ERROR,
      message: (h, body) => this.receive(h, body),
      unreadable: () => undefined,
    });
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    // The bus may drop a client that sent garbage: that is an answer, not a test failure.
    socket.on('close', () => this.markClosed());
    socket.on('error', () => this.markClosed());
  }

  static async connect(address: string): Promise<RawBusClient> {
    const client = new RawBusClient(await openAuthenticated(address, 30_000));
    const [name] = (await client.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' })).body;
    client.uniqueName = String(name);
    return client;
  }

  private markClosed(): void {
    this.closed = true;
    for (const { reject } of this.waiting.values()) reject(new ConnectionClosed());
    this.waiting.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  nextSerial(): number {
    return ++this.serial;
  }

  /** Sends a well-formed message (marshalled by bus-marshal.ts) and waits for its reply. */
  call(msg: Omit<OutgoingMessage, 'serial' | 'type'>, timeoutMs = 30_000): Promise<RawReply> {
    const serial = this.nextSerial();
    return this.sendRaw(marshalMessage({ ...msg, type: MESSAGE_TYPE_METHOD_CALL, serial }), serial, timeoutMs);
  }

  /** Sends a message without waiting for anything. */
  send(msg: Omit<OutgoingMessage, 'serial'>): void {
    this.write(marshalMessage({ ...msg, serial: this.nextSerial() }));
  }

  /** Writes bytes as they are; if `serial` is given, waits for the reply to it. */
  sendRaw(bytes: Buffer, serial?: number, timeoutMs = 30_000): Promise<RawReply> {
    if (serial === undefined) {
      this.write(bytes);
      return Promise.resolve({ errorName: undefined, body: [] });
    }
    if (this.closed) return Promise.reject(new ConnectionClosed());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(serial);
        reject(new Error(`no reply to serial ${serial} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(serial, {
        resolve: (reply) => { clearTimeout(timer); resolve(reply); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      });
      this.write(bytes);
    });
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(h: MessageHeader, body: Buffer): void {
    const resolve = h.replySerial === undefined ? undefined : this.waiting.get(h.replySerial)?.resolve;
    if (resolve === undefined || h.replySerial === undefined) return;
    this.waiting.delete(h.replySerial);
    let values: unknown[];
    try {
      values = decodeBody(h.signature, body, h.littleEndian, SPEC_LIMITS);
    } catch (err) {
      values = [`(unreadable: ${String(err)})`];
    }
    resolve({ errorName: h.type === MESSAGE_TYPE_ERROR ? h.errorName : undefined, body: values });
  }
}

/**
 * A message whose header fields and body are given as they are, with no checks: the signature
 * field says what the caller wants it to, the body is whatever bytes are passed. Little-endian.
 */
export function rawMessage(fields: {
  readonly type: number; readonly serial: number; readonly flags?: number;
  readonly path?: string; readonly interface?: string; readonly member?: string; readonly destination?: string;
  readonly signature?: string; readonly unixFds?: number;
}, body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  const pad = (n: number) => {
    const p = (-length) & (n - 1);
    if (p > 0) { parts.push(Buffer.alloc(p)); length += p; }
  };
  const push = (b: Buffer) => { parts.push(b); length += b.length; };
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const stringField = (code: number, type: string, value: string) => {
    pad(8);
    push(Buffer.from([code, 1, type.charCodeAt(0), 0]));
    const bytes = Buffer.from(value, 'utf8');
    push(u32(bytes.length));
    push(Buffer.concat([bytes, Buffer.from([0])]));
  };
  push(Buffer.alloc(16));
  if (fields.path !== undefined) stringField(1, 'o', fields.path);
  if (fields.interface !== undefined) stringField(2, 's', fields.interface);
  if (fields.member !== undefined) stringField(3, 's', fields.member);
  if (fields.destination !== undefined) stringField(6, 's', fields.destination);
  if (fields.signature !== undefined) {
    pad(8);
    const sig = Buffer.from(fields.signature, 'ascii');
    push(Buffer.concat([Buffer.from([8, 1, 'g'.charCodeAt(0), 0, sig.length]), sig, Buffer.from([0])]));
  }
  if (fields.unixFds !== undefined) {
    pad(8);
    push(Buffer.from([9, 1, 'u'.charCodeAt(0), 0]));
    push(u32(fields.unixFds));
  }
  const fieldsLength = length - 16;
  pad(8);
  const header = Buffer.concat(parts);
  header.write('l', 0, 'ascii');
  header[1] = fields.type;
  header[2] = fields.flags ?? 0;
  header[3] = 1;
  header.writeUInt32LE(body.length, 4);
  header.writeUInt32LE(fields.serial, 8);
  header.writeUInt32LE(fieldsLength, 12);
  return Buffer.concat([header, body]);
}
