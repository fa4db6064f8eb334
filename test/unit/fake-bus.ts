// SPDX-License-Identifier: GPL-2.0-or-later
// A small fake bus on a Unix socket in a temporary directory, for unit tests of what talks to the
// bus (no dbus-daemon): SASL EXTERNAL, the driver's Hello, AddMatch, RemoveMatch, RequestName and
// GetNameOwner; it reads what the client sends with the library's own unmarshaller.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  marshalMessage, MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, type OutgoingMessage,
} from '../../src/dbus-wire/bus-marshal';
import { fromLibrary } from './dbus-next-oracle';

export interface LibraryMessage {
  type: number; flags: number; serial: number; signature?: string; body?: unknown[];
  path?: string; interface?: string; member?: string; errorName?: string; replySerial?: number;
  destination?: string; sender?: string;
}
const libraryCompat = require('@particle/dbus-next/lib/marshall-compat') as { messageToJsFmt(msg: LibraryMessage): LibraryMessage };
const libraryMessage = require('@particle/dbus-next/lib/message') as {
  unmarshalMessages(stream: PassThrough, onMessage: (msg: LibraryMessage) => void, options: object): void;
};

export const CLIENT_NAME = ':1.7';
export const PEER_NAME = ':1.99';

/** Enough of a bus for one client: SASL EXTERNAL, the driver's Hello/AddMatch/RemoveMatch/RequestName. */
export class FakeBus {
  readonly received: LibraryMessage[] = [];
  /** Calls to anyone but the driver; answer with `send`, or not at all. */
  onCall: (msg: LibraryMessage) => void = () => {};
  /** The driver refuses AddMatch (as it does past its per-connection limit). */
  refuseAddMatch = false;
  /**
   * A hostile remote end: bytes to answer a message from the client with (instead of the answer
   * above), after which the bus hangs up; undefined answers as usual.
   */
  hostile: ((msg: LibraryMessage) => Buffer | undefined) | undefined;
  private client: Socket | undefined;
  private serial = 1000;
  private waiters: Array<{ match: (m: LibraryMessage) => boolean; resolve: (m: LibraryMessage) => void }> = [];

  private constructor(private readonly server: Server, readonly dir: string, readonly answerAuth: boolean) {}

  static async start(options: { answerAuth?: boolean } = {}): Promise<FakeBus> {
    const dir = mkdtempSync(join(tmpdir(), 'fake-bus-'));
    const server = createServer();
    const bus = new FakeBus(server, dir, options.answerAuth ?? true);
    server.on('connection', (socket) => bus.serve(socket));
    await new Promise<void>((resolve) => server.listen(join(dir, 'bus'), resolve));
    return bus;
  }

  get address(): string {
    return `unix:path=${join(this.dir, 'bus')}`;
  }

  /** Sends a message to the client, from `sender` (the driver by default); returns its serial. */
  send(msg: Omit<OutgoingMessage, 'serial'>): number {
    const serial = ++this.serial;
    this.client?.write(marshalMessage({ sender: 'org.freedesktop.DBus', ...msg, serial }));
    return serial;
  }

  reply(to: LibraryMessage, signature = '', body: unknown[] = [], sender = PEER_NAME): void {
    this.send({ type: MESSAGE_TYPE_METHOD_RETURN, replySerial: to.serial, destination: CLIENT_NAME, sender, signature, body });
  }

  /** The next message from the client that matches (or one already received). */
  next(match: (m: LibraryMessage) => boolean): Promise<LibraryMessage> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  dropClient(): void {
    this.client?.destroy();
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private serve(socket: Socket): void {
    this.client = socket;
    let buf = Buffer.alloc(0);
    // After BEGIN, the bytes go to the library's own message parser (what lib/connection.js uses).
    let messages: PassThrough | undefined;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (messages) return void messages.write(chunk);
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf[0] === 0) buf = buf.subarray(1);
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const line = buf.subarray(0, eol).toString('ascii');
        buf = buf.subarray(eol + 2);
        if (line.startsWith('AUTH EXTERNAL') && this.answerAuth) socket.write('OK 0123456789abcdef0123456789abcdef\r\n');
        if (line === 'BEGIN') break;
      }
      messages = new PassThrough();
      libraryMessage.unmarshalMessages(messages, (msg) => this.receive(fromLibrary(libraryCompat.messageToJsFmt(msg))), {});
      messages.write(buf);
    });
  }

  private receive(msg: LibraryMessage): void {
    this.received.push(msg);
    const hostile = this.hostile?.(msg);
    if (hostile !== undefined) {
      this.client?.end(hostile);
      return;
    }
    for (const waiter of this.waiters.filter((w) => w.match(msg))) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(msg);
    }
    if (msg.type !== MESSAGE_TYPE_METHOD_CALL) return;
    if (msg.destination !== 'org.freedesktop.DBus') return this.onCall(msg);
    const answer = (signature = '', body: unknown[] = []): void => {
      this.send({ type: MESSAGE_TYPE_METHOD_RETURN, replySerial: msg.serial, destination: CLIENT_NAME, signature, body });
    };
    if (msg.member === 'AddMatch' && this.refuseAddMatch) {
      this.send({ type: MESSAGE_TYPE_ERROR, replySerial: msg.serial, destination: CLIENT_NAME, errorName: 'org.freedesktop.DBus.Error.LimitsExceeded', signature: 's', body: ['too many match rules'] });
      return;
    }
    switch (msg.member) {
      case 'Hello': return answer('s', [CLIENT_NAME]);
      case 'GetNameOwner': return answer('s', [PEER_NAME]);
      case 'RequestName': return answer('u', [1]);
      default: return answer();
    }
  }
}

