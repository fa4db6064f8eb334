// The one module that knows which D-Bus library we use (@particle/dbus-next 0.11.4, pinned), so it
// can be swapped in one place. We use only its low-level connection (lib/connection.js: address,
// socket, SASL handshake, unmarshalling of incoming messages); what its MessageBus did is done
// here, because lib/bus.js loads xml2js, xmlbuilder and sax (megabytes of RSS) for client and
// service classes we don't use: Hello, serials, method calls routed to their replies, signals,
// answering calls no handler took. We marshal everything we send ourselves (bus-marshal.ts).
// Adds what the library lacks: a deadline on every call, a cap on calls in flight, signal
// subscriptions with reference-counted match rules, and a 'closed' notification.
import { readFileSync } from 'node:fs';
import createConnection = require('@particle/dbus-next/lib/connection');
import {
  marshalMessage, MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, MESSAGE_TYPE_SIGNAL,
  type OutgoingMessage,
} from './bus-marshal';

export interface BusCall {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly signature?: string;
  readonly body?: readonly unknown[];
  /** Milliseconds; defaults to the connection's call timeout. */
  readonly timeoutMs?: number;
  /** Sets ALLOW_INTERACTIVE_AUTHORIZATION on the message. */
  readonly allowInteractiveAuthorization?: boolean;
  /** Sets NO_AUTO_START: don't bus-activate the destination. */
  readonly noAutoStart?: boolean;
}

/** An incoming method call or signal, with its body still undecoded. */
export interface BusMessage {
  readonly serial: number;
  readonly sender: string;
  readonly destination: string | undefined;
  readonly path: string;
  readonly interface: string | undefined;
  readonly member: string;
  readonly signature: string;
  readonly body: readonly unknown[];
  readonly flags: number;
}

export const MESSAGE_FLAG_NO_REPLY_EXPECTED = 0x1;
export const MESSAGE_FLAG_NO_AUTO_START = 0x2;
export const MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

/** An error reply from a peer (or our own deadline: org.freedesktop.DBus.Error.Timeout). */
export class BusCallError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'BusCallError';
  }
}

export interface SignalMatch {
  readonly sender?: string;
  readonly path?: string;
  readonly pathNamespace?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly arg0?: string;
}

export type MethodCallHandler = (call: BusMessage) => boolean;

export interface ConnectOptions {
  /** A D-Bus address; defaults to DBUS_SYSTEM_BUS_ADDRESS or the standard system bus socket. */
  readonly address?: string;
  readonly callTimeoutMs?: number;
  readonly maxCallsInFlight?: number;
}

const DRIVER = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;
const PEER = 'org.freedesktop.DBus.Peer';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const ERROR_FAILED = 'org.freedesktop.DBus.Error.Failed';
const ERROR_DISCONNECTED = 'org.freedesktop.DBus.Error.Disconnected';

// RequestName's flag and replies, from the D-Bus specification.
const NAME_FLAG_DO_NOT_QUEUE = 4;
const REQUEST_NAME_REPLY_PRIMARY_OWNER = 1;
const REQUEST_NAME_REPLY_ALREADY_OWNER = 4;

/** What Introspect answers for an object path no handler took (what MessageBus answered too). */
const EMPTY_NODE_XML = '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
  + ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n<node/>\n';

interface PendingCall {
  readonly resolve: (body: unknown[]) => void;
  readonly reject: (err: BusCallError) => void;
  readonly timer: NodeJS.Timeout;
}

export class BusConnection {
  private readonly callTimeoutMs: number;
  private readonly maxCallsInFlight: number;
  private callsInFlight = 0;
  private readonly waitingForSlot: Array<() => void> = [];
  private lastSerial = 0;
  /** Method calls we sent whose reply has not come yet, by serial. */
  private readonly pendingCalls = new Map<number, PendingCall>();
  private readonly methodHandlers: MethodCallHandler[] = [];
  private readonly matchRefs = new Map<string, number>();
  private readonly signalListeners = new Set<{ match: SignalMatch; listener: (msg: BusMessage) => void }>();
  private readonly closedListeners: Array<(reason: string) => void> = [];
  private closed = false;
  private name = '';
  /** Settles once the SASL handshake is done, or fails if the connection closes before. */
  private readonly authenticated: Promise<void>;
  private failAuthentication: (reason: string) => void = () => {};
  private machineId: string | undefined;

  private constructor(
    private readonly connection: createConnection.Connection,
    options: ConnectOptions,
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? 25_000;
    this.maxCallsInFlight = options.maxCallsInFlight ?? 64;
    this.authenticated = new Promise((resolve, reject) => {
      connection.on('connect', resolve);
      this.failAuthentication = (reason) => reject(new Error(reason));
    });
    connection.on('message', (msg) => this.receive(msg));
    connection.on('end', () => this.markClosed('the bus closed the connection'));
    connection.stream.on('close', () => this.markClosed('the bus connection was closed'));
    // Always listened to: an 'error' event without a listener would throw.
    connection.on('error', (err, context) => {
      if (context === undefined) this.markClosed(`bus connection error: ${describe(err)}`);
      // The stream is still in step; one unreadable message must not take the connection down.
      else console.error(`dropped a message the bus library could not read: ${describe(err)}`);
    });
  }

  static async connect(options: ConnectOptions = {}): Promise<BusConnection> {
    const address =
      options.address ?? process.env['DBUS_SYSTEM_BUS_ADDRESS'] ?? 'unix:path=/run/dbus/system_bus_socket';
    const cannotConnect = (why: string) => new BusCallError('org.freedesktop.DBus.Error.NoServer', `cannot connect to ${address}: ${why}`);
    let connection: createConnection.Connection;
    try {
      connection = createConnection({ busAddress: address, negotiateUnixFd: false });
    } catch (err) {
      throw cannotConnect(describe(err));
    }
    const bus = new BusConnection(connection, options);
    // One deadline for the handshake and Hello: a bus that accepts but never answers must not hang us.
    const timeoutMs = bus.callTimeoutMs;
    const deadline = setTimeout(() => bus.abort(`no answer within ${timeoutMs} ms`), timeoutMs);
    try {
      await bus.authenticated;
      const [name] = await bus.call({ ...DRIVER, member: 'Hello' });
      if (typeof name !== 'string' || name === '') throw new Error('Hello did not return a unique name');
      bus.name = name;
      return bus;
    } catch (err) {
      bus.abort('connecting failed');
      throw cannotConnect(describe(err));
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Our unique name on the bus (':1.42'), from Hello. */
  get uniqueName(): string {
    return this.name;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClosed(listener: (reason: string) => void): void {
    this.closedListeners.push(listener);
  }

  /** Closes the connection; calls still waiting fail with Disconnected. onClosed listeners are not told. */
  close(): void {
    this.shutDown('the connection was closed');
    this.connection.stream.end();
  }

  /** Calls a method and resolves with the reply's body; rejects with BusCallError. */
  async call(call: BusCall): Promise<unknown[]> {
    if (this.closed) throw new BusCallError(ERROR_DISCONNECTED, 'not connected to the bus');
    await this.takeSlot();
    try {
      // Closed while waiting for a slot: don't write to a dead connection.
      if (this.closed) throw new BusCallError(ERROR_DISCONNECTED, 'not connected to the bus');
      let flags = 0;
      if (call.allowInteractiveAuthorization) flags |= MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION;
      if (call.noAutoStart) flags |= MESSAGE_FLAG_NO_AUTO_START;
      const serial = this.nextSerial();
      let data: Buffer;
      try {
        data = marshalMessage({
          type: MESSAGE_TYPE_METHOD_CALL, serial, flags, destination: call.destination, path: call.path,
          interface: call.interface, member: call.member, signature: call.signature ?? '', body: call.body ?? [],
        });
      } catch (err) {
        throw new BusCallError(ERROR_FAILED, `cannot call ${call.interface}.${call.member}: ${describe(err)}`);
      }
      const timeoutMs = call.timeoutMs ?? this.callTimeoutMs;
      return await new Promise<unknown[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          // A reply coming after this finds no pending call and is dropped.
          this.pendingCalls.delete(serial);
          reject(new BusCallError('org.freedesktop.DBus.Error.Timeout', `${call.destination} did not answer ${call.interface}.${call.member} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.pendingCalls.set(serial, { resolve, reject, timer });
        this.write(data);
      });
    } finally {
      this.releaseSlot();
    }
  }

  /** Subscribes to signals; returns a function that unsubscribes (and drops the match rule). */
  async subscribe(match: SignalMatch, listener: (msg: BusMessage) => void): Promise<() => Promise<void>> {
    const rule = matchRule(match);
    const entry = { match, listener };
    const refs = this.matchRefs.get(rule) ?? 0;
    this.matchRefs.set(rule, refs + 1);
    if (refs === 0) {
      await this.call({ ...DRIVER, member: 'AddMatch', signature: 's', body: [rule] });
    }
    this.signalListeners.add(entry);
    return async () => {
      if (!this.signalListeners.delete(entry)) return;
      const left = (this.matchRefs.get(rule) ?? 1) - 1;
      if (left > 0) {
        this.matchRefs.set(rule, left);
        return;
      }
      this.matchRefs.delete(rule);
      if (!this.closed) {
        await this.call({ ...DRIVER, member: 'RemoveMatch', signature: 's', body: [rule] });
      }
    };
  }

  /** Requests a well-known name, refusing to queue; resolves true when we own it. */
  async requestName(name: string): Promise<boolean> {
    const [reply] = await this.call({ ...DRIVER, member: 'RequestName', signature: 'su', body: [name, NAME_FLAG_DO_NOT_QUEUE] });
    return reply === REQUEST_NAME_REPLY_PRIMARY_OWNER || reply === REQUEST_NAME_REPLY_ALREADY_OWNER;
  }

  /**
   * Installs a handler for incoming method calls; it returns true when it took the call. Handlers
   * run in the order they were added; a call none takes gets the answer described at answerUntaken.
   */
  addMethodHandler(handler: MethodCallHandler): void {
    this.methodHandlers.push(handler);
  }

  reply(call: BusMessage, signature: string, body: readonly unknown[]): void {
    if (call.flags & MESSAGE_FLAG_NO_REPLY_EXPECTED) return;
    this.send({ type: MESSAGE_TYPE_METHOD_RETURN, replySerial: call.serial, destination: call.sender, signature, body });
  }

  replyError(call: BusMessage, errorName: string, text: string): void {
    if (call.flags & MESSAGE_FLAG_NO_REPLY_EXPECTED) return;
    this.send({ type: MESSAGE_TYPE_ERROR, replySerial: call.serial, destination: call.sender, errorName, signature: 's', body: [text] });
  }

  emitSignal(path: string, iface: string, member: string, signature: string, body: readonly unknown[]): void {
    this.send({ type: MESSAGE_TYPE_SIGNAL, path, interface: iface, member, signature, body });
  }

  /** Marshals (bus-marshal.ts) and writes a message that expects no reply. No SENDER field: the bus sets it. */
  private send(message: Omit<OutgoingMessage, 'serial'>): void {
    if (this.closed) return;
    this.write(marshalMessage({ ...message, serial: this.nextSerial() }));
  }

  /** One write() per message, so messages never interleave on the socket. */
  private write(data: Buffer): void {
    const { stream } = this.connection;
    // The socket is going away ('end' or 'close' is on its way); say so now rather than throw.
    if (!stream.writable) this.markClosed('the bus connection is no longer writable');
    else stream.write(data);
  }

  /** Serials are never 0; after 2^32 - 1 they start over at 1. */
  private nextSerial(): number {
    this.lastSerial = this.lastSerial >= 0xffff_ffff ? 1 : this.lastSerial + 1;
    return this.lastSerial;
  }

  private receive(msg: createConnection.IncomingMessage): void {
    switch (msg.type) {
      case MESSAGE_TYPE_METHOD_RETURN:
      case MESSAGE_TYPE_ERROR:
        this.settle(msg);
        return;
      case MESSAGE_TYPE_SIGNAL:
        this.dispatchSignal(toBusMessage(msg));
        return;
      case MESSAGE_TYPE_METHOD_CALL:
        this.dispatchMethodCall(toBusMessage(msg));
        return;
      default:
        // The specification: messages of unknown types are ignored.
        return;
    }
  }

  /** Hands a reply to the call waiting for it; one whose deadline has passed is dropped. */
  private settle(reply: createConnection.IncomingMessage): void {
    const serial = reply.replySerial;
    const pending = serial === undefined ? undefined : this.pendingCalls.get(serial);
    if (serial === undefined || pending === undefined) return;
    this.pendingCalls.delete(serial);
    clearTimeout(pending.timer);
    if (reply.type === MESSAGE_TYPE_ERROR) {
      const text = typeof reply.body[0] === 'string' ? reply.body[0] : '';
      pending.reject(new BusCallError(reply.errorName ?? ERROR_FAILED, text));
    } else {
      pending.resolve(reply.body);
    }
  }

  private dispatchMethodCall(call: BusMessage): void {
    for (const handler of this.methodHandlers) {
      let taken: boolean;
      try {
        taken = handler(call);
      } catch (err) {
        // The stack goes to our log, never to the caller.
        console.error(`error handling ${call.interface ?? ''}.${call.member} from ${call.sender}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        this.replyError(call, ERROR_FAILED, `${call.member} failed unexpectedly; the service's log has the details`);
        return;
      }
      if (taken) return;
    }
    this.answerUntaken(call);
  }

  /**
   * Answers a call no handler took, i.e. one to an object path nobody exports here. Like MessageBus:
   * Peer answers on every path and Introspect shows an empty node; the rest is UnknownMethod, but
   * Properties gets UnknownObject (MessageBus answered it InvalidArgs "Path not exported on bus").
   */
  private answerUntaken(call: BusMessage): void {
    if (call.interface === PEER && call.signature === '') {
      if (call.member === 'Ping') return this.reply(call, '', []);
      if (call.member === 'GetMachineId') {
        const id = this.readMachineId();
        if (id !== undefined) return this.reply(call, 's', [id]);
        return this.replyError(call, ERROR_FAILED, 'cannot read the machine id (/etc/machine-id)');
      }
    }
    if (call.interface === INTROSPECTABLE && call.member === 'Introspect' && call.signature === '') {
      return this.reply(call, 's', [EMPTY_NODE_XML]);
    }
    if (call.interface === PROPERTIES && (call.member === 'Get' || call.member === 'Set' || call.member === 'GetAll')) {
      return this.replyError(call, 'org.freedesktop.DBus.Error.UnknownObject', `No object at path '${call.path}'`);
    }
    this.replyError(call, 'org.freedesktop.DBus.Error.UnknownMethod', `Method '${call.member}' on interface '${call.interface ?? '(none)'}' does not exist`);
  }

  private readMachineId(): string | undefined {
    if (this.machineId !== undefined) return this.machineId;
    // /var/lib/dbus/machine-id is the older place (the one MessageBus read).
    for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      try {
        const id = readFileSync(file, 'utf8').trim();
        if (id !== '') return (this.machineId = id);
      } catch {
        // Not there: try the next place; no id at all is answered as an error.
      }
    }
    return undefined;
  }

  private dispatchSignal(msg: BusMessage): void {
    for (const { match, listener } of this.signalListeners) {
      if (!signalMatches(match, msg)) continue;
      try {
        listener(msg);
      } catch (err) {
        // A malformed signal must not stop the others; it is logged, not swallowed.
        console.error(`error handling signal ${msg.interface ?? ''}.${msg.member} from ${msg.sender}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  }

  /** Fails the connection attempt or the connection (a deadline during connect). */
  private abort(reason: string): void {
    this.shutDown(reason);
    this.connection.stream.destroy();
  }

  private markClosed(reason: string): void {
    if (!this.shutDown(reason)) return;
    for (const listener of this.closedListeners) listener(reason);
  }

  /** Marks the connection closed and fails whatever waits on it; false if it already was. */
  private shutDown(reason: string): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.failAuthentication(reason);
    for (const pending of this.pendingCalls.values()) {
      clearTimeout(pending.timer);
      pending.reject(new BusCallError(ERROR_DISCONNECTED, `no reply: ${reason}`));
    }
    this.pendingCalls.clear();
    return true;
  }

  private takeSlot(): Promise<void> {
    if (this.callsInFlight < this.maxCallsInFlight) {
      this.callsInFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waitingForSlot.push(() => { this.callsInFlight++; resolve(); }));
  }

  private releaseSlot(): void {
    this.callsInFlight--;
    this.waitingForSlot.shift()?.();
  }
}

function toBusMessage(msg: createConnection.IncomingMessage): BusMessage {
  return {
    serial: msg.serial ?? 0,
    sender: msg.sender ?? '',
    destination: msg.destination,
    path: msg.path ?? '',
    interface: msg.interface,
    member: msg.member ?? '',
    signature: msg.signature,
    body: msg.body,
    flags: msg.flags,
  };
}

function matchRule(match: SignalMatch): string {
  const parts = ["type='signal'"];
  const add = (key: string, value: string | undefined) => {
    if (value !== undefined) parts.push(`${key}='${value.replace(/'/g, "'\\''")}'`);
  };
  add('sender', match.sender);
  add('path', match.path);
  add('path_namespace', match.pathNamespace);
  add('interface', match.interface);
  add('member', match.member);
  add('arg0', match.arg0);
  return parts.join(',');
}

function signalMatches(match: SignalMatch, msg: BusMessage): boolean {
  // The sender of a signal is a unique name; well-known sender matches are left to the bus.
  if (match.sender?.startsWith(':') && match.sender !== msg.sender) return false;
  if (match.path !== undefined && match.path !== msg.path) return false;
  if (match.pathNamespace !== undefined && msg.path !== match.pathNamespace && !msg.path.startsWith(`${match.pathNamespace}/`)) return false;
  if (match.interface !== undefined && match.interface !== msg.interface) return false;
  if (match.member !== undefined && match.member !== msg.member) return false;
  if (match.arg0 !== undefined && msg.body[0] !== match.arg0) return false;
  return true;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
