// SPDX-License-Identifier: GPL-2.0-or-later
// The one module that speaks to the bus (with bus-marshal.ts, which writes our messages, and
// bus-unmarshal.ts, which reads the bus's). Our own, not a library's: dbus-next's MessageBus loads
// xml2js, xmlbuilder and sax (megabytes of RSS), and its reader of incoming messages threw from a
// socket event for an fd-typed value with no fd (ending the process) and decoded any body, however
// large, before anyone could refuse it. @particle/dbus-next is the tests' oracle for our bytes.
// Here: the socket and the SASL EXTERNAL handshake, Hello, serials, method calls routed to their
// replies, signals, answering calls no handler took; a deadline on every call, a cap on calls in
// flight, signal subscriptions with reference-counted match rules, and a 'closed' notification.
// Trust at the edge: every message is judged by its header before its body is read (bus-unmarshal.ts).
// A method call to us with fds, an fd type or a body above MAX_CALL_BODY_BYTES is refused
// unread; a signal is read only when a subscription wants it from its sender as it is now (the
// bus driver's from org.freedesktop.DBus, a well-known name's from its current owner, tracked),
// and a signal addressed to us (unicast) only as a subscription wants it, from that sender; a
// reply only for a call of ours waiting for it.
import { connect as netConnect, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { parseBusAddress } from './bus-address';
import { readFileSync } from 'node:fs';
import { consoleLog, errorMessage, type Log } from '../log';
import {
  marshalMessage, MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, MESSAGE_TYPE_SIGNAL, MarshalledBody,
  type OutgoingMessage,
} from './bus-marshal';
import {
  BusProtocolError, BusUnmarshalError, decodeBody, MessageFramer, signatureHasUnixFd, SPEC_LIMITS,
  type BodyLimits, type MessageHeader,
} from './bus-unmarshal';

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
  /**
   * Don't take a slot of the pool of calls in flight: for calls that may wait minutes (polkit's
   * interactive checks) and are limited by their caller, so they can't starve the others.
   */
  readonly outsidePool?: boolean;
}

/** An incoming method call or signal, its body decoded (in the library's shapes, still unchecked). */
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

/**
 * The largest body of a method call to us that is read: our API's arguments are a few names and
 * options, and DefineInterfaceXML's XML, itself capped at 64 KiB.
 */
export const MAX_CALL_BODY_BYTES = 128 * 1024;
/** What a method call's arguments may hold: a few dozen options, a few levels of containers. */
export const CALL_LIMITS: BodyLimits = { maxDepth: 16, maxArrayElements: 32 };
/** Signals we subscribed to, from the sender we trust (NetworkManager's are small, a profile at most). */
const MAX_SIGNAL_BODY_BYTES = 8 * 1024 * 1024;
/** Replies to our own calls (GetManagedObjects at hundreds of profiles is a few MiB). */
const MAX_REPLY_BODY_BYTES = 64 * 1024 * 1024;

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
  /**
   * Whom the signal is believed from: a unique name, org.freedesktop.DBus (the bus driver), or a
   * well-known name, whose current owner is tracked; a signal from anyone else is dropped unread.
   */
  readonly sender: string;
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
  /** Where refused messages and handler failures are logged (default: stdout/stderr). */
  readonly log?: Log;
}

export const BUS_DRIVER_NAME = 'org.freedesktop.DBus';
const DRIVER = { destination: BUS_DRIVER_NAME, path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;
const PEER = 'org.freedesktop.DBus.Peer';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const ERROR_FAILED = 'org.freedesktop.DBus.Error.Failed';
const ERROR_DISCONNECTED = 'org.freedesktop.DBus.Error.Disconnected';
const ERROR_INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';
const ERROR_LIMITS_EXCEEDED = 'org.freedesktop.DBus.Error.LimitsExceeded';

// RequestName's flag and replies, from the D-Bus specification.
const NAME_FLAG_DO_NOT_QUEUE = 4;
const REQUEST_NAME_REPLY_PRIMARY_OWNER = 1;
const REQUEST_NAME_REPLY_ALREADY_OWNER = 4;

/** What Introspect answers for an object path no handler took (what MessageBus answered too). */
const EMPTY_NODE_XML = '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
  + ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n<node/>\n';

/** At most this many refused messages are logged per minute (a flood must not flood the journal). */
const REFUSALS_LOGGED_PER_MINUTE = 20;

interface PendingCall {
  readonly destination: string;
  readonly resolve: (body: unknown[]) => void;
  readonly reject: (err: BusCallError) => void;
  readonly timer: NodeJS.Timeout;
}

/** Who the caller of a method is, from the bus's own credentials of its connection (never from a pid's files). */
export interface PeerCredentials {
  readonly uid: number;
  /** Absent where the bus does not know it. */
  readonly pid: number | undefined;
}

export class BusConnection {
  private readonly callTimeoutMs: number;
  private readonly maxCallsInFlight: number;
  private readonly log: Log;
  private callsInFlight = 0;
  private readonly waitingForSlot: Array<() => void> = [];
  private lastSerial = 0;
  /** Method calls we sent whose reply has not come yet, by serial. */
  private readonly pendingCalls = new Map<number, PendingCall>();
  private readonly methodHandlers: MethodCallHandler[] = [];
  private readonly matchRefs = new Map<string, number>();
  /** AddMatch calls on their way, so a second subscriber of the same rule waits for the first. */
  private readonly matchesAdding = new Map<string, Promise<void>>();
  private readonly signalListeners = new Set<{ match: SignalMatch; listener: (msg: BusMessage) => void }>();
  /** Well-known name → its owner's unique name ('' while it has none), for names signals are believed from. */
  private readonly owners = new Map<string, string>();
  private readonly ownerWatches = new Map<string, Promise<void>>();
  private readonly closedListeners: Array<(reason: string) => void> = [];
  private readonly framer: MessageFramer;
  private closed = false;
  private name = '';
  private refusalWindowStart = 0;
  private refusalsInWindow = 0;

  private constructor(
    private readonly socket: Duplex,
    options: ConnectOptions,
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? 25_000;
    this.maxCallsInFlight = options.maxCallsInFlight ?? 64;
    this.log = options.log ?? consoleLog;
    this.framer = new MessageFramer({
      decide: (header) => this.decide(header),
      message: (header, body) => this.receive(header, body),
      unreadable: (fixed, err) => this.refused(`a message (type ${fixed.type}, serial ${fixed.serial}) whose header can't be read: ${err.message}`),
    });
    socket.on('end', () => this.markClosed('the bus closed the connection'));
    socket.on('close', () => this.markClosed('the bus connection was closed'));
    // Always listened to: an 'error' event without a listener would throw.
    socket.on('error', (err) => this.markClosed(`bus connection error: ${errorMessage(err)}`));
  }

  static async connect(options: ConnectOptions = {}): Promise<BusConnection> {
    const address =
      options.address ?? process.env['DBUS_SYSTEM_BUS_ADDRESS'] ?? 'unix:path=/run/dbus/system_bus_socket';
    const cannotConnect = (why: string) => new BusCallError('org.freedesktop.DBus.Error.NoServer', `cannot connect to ${address}: ${why}`);
    const timeoutMs = options.callTimeoutMs ?? 25_000;
    let socket: Duplex;
    try {
      // One deadline for the handshake: a bus that accepts but never answers must not hang us.
      socket = await openStream(address, timeoutMs);
    } catch (err) {
      throw cannotConnect(errorMessage(err));
    }
    const bus = new BusConnection(socket, options);
    socket.on('data', (chunk: Buffer) => bus.read(chunk));
    try {
      const [name] = await bus.call({ ...DRIVER, member: 'Hello', timeoutMs });
      if (typeof name !== 'string' || name === '') throw new Error('Hello did not return a unique name');
      bus.name = name;
      return bus;
    } catch (err) {
      bus.abort('connecting failed');
      throw cannotConnect(errorMessage(err));
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
    // A unix socket's written bytes are in the bus's queue already: it is closed once they are
    // written, without waiting for the bus to hang up too (~1 ms of every CLI command). A
    // unixexec: program's stdin is ended, and the program left to pass on what it got and exit.
    if (this.socket instanceof Socket) this.socket.destroySoon();
    else this.socket.end();
  }

  /** Calls a method and resolves with the reply's body; rejects with BusCallError. */
  async call(call: BusCall): Promise<unknown[]> {
    if (this.closed) throw new BusCallError(ERROR_DISCONNECTED, 'not connected to the bus');
    const pooled = call.outsidePool !== true;
    if (pooled) await this.takeSlot();
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
        throw new BusCallError(ERROR_FAILED, `cannot call ${call.interface}.${call.member}: ${errorMessage(err)}`);
      }
      const timeoutMs = call.timeoutMs ?? this.callTimeoutMs;
      return await new Promise<unknown[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          // A reply coming after this finds no pending call and is dropped.
          this.pendingCalls.delete(serial);
          reject(new BusCallError('org.freedesktop.DBus.Error.Timeout', `${call.destination} did not answer ${call.interface}.${call.member} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.pendingCalls.set(serial, { destination: call.destination, resolve, reject, timer });
        this.write(data);
      });
    } finally {
      if (pooled) this.releaseSlot();
    }
  }

  /** The bus's credentials of a peer's connection (GetConnectionCredentials). */
  async credentials(busName: string): Promise<PeerCredentials> {
    const [reply] = await this.call({ ...DRIVER, member: 'GetConnectionCredentials', signature: 's', body: [busName] });
    const field = (key: string): number | undefined => {
      const value = typeof reply === 'object' && reply !== null ? (reply as Record<string, unknown>)[key] : undefined;
      const inner = typeof value === 'object' && value !== null ? (value as { signature?: unknown; value?: unknown }) : undefined;
      return inner?.signature === 'u' && typeof inner.value === 'number' ? inner.value : undefined;
    };
    const uid = field('UnixUserID');
    if (uid === undefined) throw new BusCallError(ERROR_FAILED, `the bus did not say which user ${busName} is`);
    return { uid, pid: field('ProcessID') };
  }

  /**
   * Subscribes to signals from `match.sender`; returns a function that unsubscribes (and drops
   * the match rule with its last subscriber).
   */
  async subscribe(match: SignalMatch, listener: (msg: BusMessage) => void): Promise<() => Promise<void>> {
    if (isWellKnownName(match.sender)) await this.watchOwner(match.sender);
    const rule = matchRule(match);
    await this.addMatchRef(rule);
    const entry = { match, listener };
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

  /** Counts one more user of `rule`, adding it to the bus first if it is new; a failed AddMatch counts nothing. */
  private async addMatchRef(rule: string): Promise<void> {
    for (;;) {
      const refs = this.matchRefs.get(rule);
      if (refs !== undefined) {
        this.matchRefs.set(rule, refs + 1);
        return;
      }
      const adding = this.matchesAdding.get(rule);
      if (adding === undefined) break;
      // Someone else is adding it: wait, then count on theirs (or, if theirs failed, try ours).
      await adding.then(() => undefined, () => undefined);
    }
    const adding = this.call({ ...DRIVER, member: 'AddMatch', signature: 's', body: [rule] }).then(() => undefined);
    this.matchesAdding.set(rule, adding);
    try {
      await adding;
      this.matchRefs.set(rule, (this.matchRefs.get(rule) ?? 0) + 1);
    } finally {
      this.matchesAdding.delete(rule);
    }
  }

  /**
   * Tracks the owner of a well-known name, so its signals are believed only from its owner now:
   * NameOwnerChanged from the bus driver first, then GetNameOwner (an answer older than a
   * NameOwnerChanged that came meanwhile is ignored). The watch lasts as long as the connection.
   */
  private watchOwner(name: string): Promise<void> {
    let watch = this.ownerWatches.get(name);
    if (watch === undefined) {
      watch = this.startOwnerWatch(name);
      this.ownerWatches.set(name, watch);
      watch.catch(() => this.ownerWatches.delete(name));
    }
    return watch;
  }

  private async startOwnerWatch(name: string): Promise<void> {
    let changed = false;
    const unsubscribe = await this.subscribe({ ...DRIVER_SIGNAL, member: 'NameOwnerChanged', arg0: name }, (msg) => {
      const newOwner = msg.body[2];
      if (msg.signature !== 'sss' || typeof newOwner !== 'string') return;
      changed = true;
      this.owners.set(name, newOwner);
    });
    try {
      const [owner] = await this.call({ ...DRIVER, member: 'GetNameOwner', signature: 's', body: [name] });
      if (!changed) this.owners.set(name, typeof owner === 'string' ? owner : '');
    } catch (err) {
      if (err instanceof BusCallError && err.errorName === 'org.freedesktop.DBus.Error.NameHasNoOwner') {
        if (!changed) this.owners.set(name, '');
        return;
      }
      await unsubscribe();
      throw err;
    }
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

  reply(call: BusMessage, signature: string, body: readonly unknown[] | MarshalledBody): void {
    if (call.flags & MESSAGE_FLAG_NO_REPLY_EXPECTED) return;
    this.send({ type: MESSAGE_TYPE_METHOD_RETURN, replySerial: call.serial, destination: call.sender, signature, body });
  }

  replyError(call: Pick<BusMessage, 'flags' | 'serial' | 'sender'>, errorName: string, text: string): void {
    if (call.flags & MESSAGE_FLAG_NO_REPLY_EXPECTED) return;
    // A call from a connection with no name (not through a bus) can't be answered.
    if (call.sender === '') return;
    this.send({ type: MESSAGE_TYPE_ERROR, replySerial: call.serial, destination: call.sender, errorName, signature: 's', body: [text] });
  }

  /** Broadcasts a signal, or sends it to `destination` alone (a unicast signal, which the bus delivers without match rules). */
  emitSignal(path: string, iface: string, member: string, signature: string, body: readonly unknown[], destination?: string): void {
    this.send({ type: MESSAGE_TYPE_SIGNAL, path, interface: iface, member, signature, body, ...(destination === undefined ? {} : { destination }) });
  }

  /** Marshals (bus-marshal.ts) and writes a message that expects no reply. No SENDER field: the bus sets it. */
  private send(message: Omit<OutgoingMessage, 'serial'>): void {
    if (this.closed) return;
    this.write(marshalMessage({ ...message, serial: this.nextSerial() }));
  }

  /** One write() per message, so messages never interleave on the socket. */
  private write(data: Buffer): void {
    // The socket is going away ('end' or 'close' is on its way); say so now rather than throw.
    if (!this.socket.writable) this.markClosed('the bus connection is no longer writable');
    else this.socket.write(data);
  }

  /** Serials are never 0; after 2^32 - 1 they start over at 1. */
  private nextSerial(): number {
    this.lastSerial = this.lastSerial >= 0xffff_ffff ? 1 : this.lastSerial + 1;
    return this.lastSerial;
  }

  private read(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.framer.push(chunk);
    } catch (err) {
      // Not D-Bus any more: nothing after this can be trusted to be in step.
      if (!(err instanceof BusProtocolError)) throw err;
      this.log.error(`closing the bus connection: ${err.message}`);
      this.abort(err.message);
    }
  }

  /**
   * From the header alone: is this message's body read at all? A method call we refuse is
   * answered here; a reply we can't take fails the call waiting for it.
   */
  private decide(h: MessageHeader): boolean {
    const fds = h.unixFds > 0 || signatureHasUnixFd(h.signature);
    switch (h.type) {
      case MESSAGE_TYPE_METHOD_RETURN:
      case MESSAGE_TYPE_ERROR: {
        const pending = h.replySerial === undefined ? undefined : this.pendingCalls.get(h.replySerial);
        if (pending === undefined || h.replySerial === undefined || !this.isReplyFrom(pending, h.sender ?? '')) return false;
        if (!fds && h.bodyLength <= MAX_REPLY_BODY_BYTES) return true;
        this.fail(h.replySerial, new BusCallError(ERROR_FAILED, fds
          ? `${pending.destination} replied with unix fds, which this connection does not take`
          : `${pending.destination} replied with ${h.bodyLength} bytes, more than the ${MAX_REPLY_BODY_BYTES} taken`));
        return false;
      }
      case MESSAGE_TYPE_SIGNAL: {
        // A signal addressed to anyone but us is not ours to read; one addressed to us is read
        // only as a subscription wants it, from the sender it trusts (a service tells its caller
        // alone what no one else may see, e.g. a step before authorization).
        if (h.destination !== undefined && h.destination !== this.name) return false;
        if (![...this.signalListeners].some(({ match }) => this.headerMatches(match, h))) return false;
        if (!fds && h.bodyLength <= MAX_SIGNAL_BODY_BYTES) return true;
        this.refused(`signal ${h.interface ?? ''}.${h.member ?? ''} from ${h.sender ?? ''}: ${fds ? 'unix fds' : `a body of ${h.bodyLength} bytes`}`);
        return false;
      }
      case MESSAGE_TYPE_METHOD_CALL: {
        const call = { flags: h.flags, serial: h.serial, sender: h.sender ?? '' };
        if (fds) {
          this.refused(`call ${h.interface ?? ''}.${h.member ?? ''} from ${call.sender}: unix fds (signature '${h.signature}', ${h.unixFds} fd(s))`);
          this.replyError(call, ERROR_INVALID_ARGS, 'this service takes no unix file descriptors');
          return false;
        }
        if (h.bodyLength > MAX_CALL_BODY_BYTES) {
          this.refused(`call ${h.interface ?? ''}.${h.member ?? ''} from ${call.sender}: a body of ${h.bodyLength} bytes`);
          this.replyError(call, ERROR_LIMITS_EXCEEDED, `the arguments are ${h.bodyLength} bytes; this service takes at most ${MAX_CALL_BODY_BYTES}`);
          return false;
        }
        return true;
      }
      default:
        // The specification: messages of unknown types are ignored.
        return false;
    }
  }

  /** A message whose body was wanted: decode it (guarded), then hand it on. */
  private receive(h: MessageHeader, body: Buffer): void {
    const limits = h.type === MESSAGE_TYPE_METHOD_CALL ? CALL_LIMITS : SPEC_LIMITS;
    let values: unknown[];
    try {
      values = decodeBody(h.signature, body, h.littleEndian, limits);
    } catch (err) {
      if (!(err instanceof BusUnmarshalError)) throw err;
      const what = `${h.interface ?? ''}.${h.member ?? ''} from ${h.sender ?? ''}`;
      if (h.type === MESSAGE_TYPE_METHOD_CALL) {
        this.refused(`call ${what}: ${err.message}`);
        this.replyError({ flags: h.flags, serial: h.serial, sender: h.sender ?? '' }, ERROR_INVALID_ARGS, `cannot read the arguments: ${err.message}`);
      } else if (h.type === MESSAGE_TYPE_SIGNAL) {
        this.refused(`signal ${what}: ${err.message}`);
      } else if (h.replySerial !== undefined) {
        this.fail(h.replySerial, new BusCallError(ERROR_FAILED, `cannot read the reply from ${h.sender ?? ''}: ${err.message}`));
      }
      return;
    }
    switch (h.type) {
      case MESSAGE_TYPE_METHOD_RETURN:
      case MESSAGE_TYPE_ERROR:
        this.settle(h, values);
        return;
      case MESSAGE_TYPE_SIGNAL:
        this.dispatchSignal(toBusMessage(h, values));
        return;
      default:
        this.dispatchMethodCall(toBusMessage(h, values));
    }
  }

  /** Logs a refused or dropped message; a flood of them is counted, not logged line by line. */
  private refused(what: string): void {
    const now = Date.now();
    if (now - this.refusalWindowStart >= 60_000) {
      const unlogged = this.refusalsInWindow - REFUSALS_LOGGED_PER_MINUTE;
      if (unlogged > 0) this.log.warn(`refused ${unlogged} more message(s) in the last minute (not logged one by one)`);
      this.refusalWindowStart = now;
      this.refusalsInWindow = 0;
    }
    // What a sender wrote (a signature, a path) may hold control characters: one line, escaped.
    const line = what.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    if (++this.refusalsInWindow <= REFUSALS_LOGGED_PER_MINUTE) this.log.warn(`refused a message: ${line}`);
  }

  private isReplyFrom(pending: PendingCall, sender: string): boolean {
    const to = pending.destination;
    if (!isWellKnownName(to)) return sender === to;
    const owner = this.owners.get(to);
    return owner === undefined || owner === '' || owner === sender;
  }

  /** Is the signal (by its header) one a subscription wants, from the sender it trusts? */
  private headerMatches(match: SignalMatch, h: Pick<MessageHeader, 'sender' | 'path' | 'interface' | 'member'>): boolean {
    const sender = h.sender ?? '';
    if (isWellKnownName(match.sender)) {
      const owner = this.owners.get(match.sender);
      if (owner === undefined || owner === '' || owner !== sender) return false;
    } else if (match.sender !== sender) {
      return false;
    }
    const path = h.path ?? '';
    if (match.path !== undefined && match.path !== path) return false;
    if (match.pathNamespace !== undefined && path !== match.pathNamespace && !path.startsWith(`${match.pathNamespace}/`)) return false;
    if (match.interface !== undefined && match.interface !== h.interface) return false;
    if (match.member !== undefined && match.member !== h.member) return false;
    return true;
  }

  private fail(serial: number, err: BusCallError): void {
    const pending = this.pendingCalls.get(serial);
    if (pending === undefined) return;
    this.pendingCalls.delete(serial);
    clearTimeout(pending.timer);
    pending.reject(err);
  }

  /** Hands a reply to the call waiting for it; one whose deadline has passed is dropped. */
  private settle(h: MessageHeader, body: unknown[]): void {
    const serial = h.replySerial;
    const pending = serial === undefined ? undefined : this.pendingCalls.get(serial);
    if (serial === undefined || pending === undefined) return;
    this.pendingCalls.delete(serial);
    clearTimeout(pending.timer);
    if (h.type === MESSAGE_TYPE_ERROR) {
      const text = typeof body[0] === 'string' ? body[0] : '';
      pending.reject(new BusCallError(h.errorName ?? ERROR_FAILED, text));
    } else {
      pending.resolve(body);
    }
  }

  private dispatchMethodCall(call: BusMessage): void {
    for (const handler of this.methodHandlers) {
      let taken: boolean;
      try {
        taken = handler(call);
      } catch (err) {
        // The stack goes to our log, never to the caller.
        this.log.error(`error handling ${call.interface ?? ''}.${call.member} from ${call.sender}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        this.replyError(call, ERROR_FAILED, `${call.member} failed unexpectedly; the service's log has the details`);
        return;
      }
      if (taken) return;
    }
    this.answerUntaken(call);
  }

  /**
   * Answers a call no handler took: Peer (on every path, as the specification says),
   * Introspect of a path nobody exports (an empty node), Properties there UnknownObject, the
   * rest UnknownMethod.
   */
  private answerUntaken(call: BusMessage): void {
    if (call.interface === PEER && call.signature === '') {
      if (call.member === 'Ping') return this.reply(call, '', []);
      if (call.member === 'GetMachineId') {
        const id = readMachineId();
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

  private dispatchSignal(msg: BusMessage): void {
    for (const { match, listener } of this.signalListeners) {
      // The header was matched before the body was read; only arg0 needs the body.
      if (match.arg0 !== undefined && msg.body[0] !== match.arg0) continue;
      // Subscriptions and owners may have changed while the body came in.
      if (!this.headerMatches(match, msg)) continue;
      try {
        listener(msg);
      } catch (err) {
        // A malformed signal must not stop the others; it is logged, not swallowed.
        this.log.error(`error handling signal ${msg.interface ?? ''}.${msg.member} from ${msg.sender}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  }

  /** Fails the connection attempt or the connection (a deadline during connect). */
  private abort(reason: string): void {
    this.markClosed(reason);
    this.socket.destroy();
  }

  private markClosed(reason: string): void {
    if (!this.shutDown(reason)) return;
    for (const listener of this.closedListeners) listener(reason);
  }

  /** Marks the connection closed and fails whatever waits on it; false if it already was. */
  private shutDown(reason: string): boolean {
    if (this.closed) return false;
    this.closed = true;
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

const DRIVER_SIGNAL = { sender: BUS_DRIVER_NAME, path: DRIVER.path, interface: DRIVER.interface } as const;

function isWellKnownName(name: string): boolean {
  return !name.startsWith(':') && name !== BUS_DRIVER_NAME;
}

let machineId: string | undefined;

/** The machine id, as Peer.GetMachineId answers it (read once); undefined where there is none. */
export function readMachineId(): string | undefined {
  if (machineId !== undefined) return machineId;
  // /var/lib/dbus/machine-id is the older place (the one MessageBus read).
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id !== '') return (machineId = id);
    } catch {
      // Not there: try the next place; no id at all is answered as an error.
    }
  }
  return undefined;
}

function toBusMessage(h: MessageHeader, body: readonly unknown[]): BusMessage {
  return {
    serial: h.serial,
    sender: h.sender ?? '',
    destination: h.destination,
    path: h.path ?? '',
    interface: h.interface,
    member: h.member ?? '',
    signature: h.signature,
    body,
    flags: h.flags,
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

/**
 * Opens a socket to a D-Bus address and authenticates (SASL EXTERNAL: we are who the kernel
 * says we are). Resolves once BEGIN is sent: from then on the socket carries messages.
 * Exported for tests that must speak the wire protocol themselves.
 */
export async function openAuthenticated(address: string, timeoutMs: number): Promise<Socket> {
  const parsed = parseBusAddress(address);
  if (parsed.transport !== 'unix') throw new Error(`not a unix socket address: '${address}'`);
  const socket = netConnect(parsed.socketPath);
  await authenticate(socket, new Promise((resolve) => socket.once('connect', resolve)), timeoutMs);
  return socket;
}

/**
 * The stream to a D-Bus address, authenticated: a unix socket, or the stdin and stdout of a
 * unixexec: program (e.g. `ssh -xT HOST systemd-stdio-bridge`, whose stderr is ours, so ssh can
 * say why it could not connect). The program ends when the stream does.
 */
async function openStream(address: string, timeoutMs: number): Promise<Duplex> {
  const parsed = parseBusAddress(address);
  if (parsed.transport === 'unix') return openAuthenticated(address, timeoutMs);
  // Loaded only here: child_process costs every connection to the local bus ~4 ms of start-up.
  const { spawn } = await import('node:child_process');
  const child = spawn(parsed.path, parsed.args, { argv0: parsed.argv0, stdio: ['pipe', 'pipe', 'inherit'] });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  const spawned = new Promise<void>((resolve) => child.once('spawn', () => resolve()));
  child.once('error', (err) => stream.destroy(err));
  stream.once('close', () => { if (child.exitCode === null && child.signalCode === null) child.kill(); });
  try {
    await authenticate(stream, spawned, timeoutMs);
  } catch (err) {
    child.kill();
    throw err;
  }
  return stream;
}

/** The SASL EXTERNAL handshake on `stream`, once `opened` resolves. */
function authenticate(stream: Duplex, opened: Promise<unknown>, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      stream.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end < 0) {
        if (received.length > 512) fail('the bus sent an over-long authentication line');
        return;
      }
      const line = received.slice(0, end);
      stream.off('data', onData);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (!/^OK [0-9a-f]{32}$/.test(line)) return fail(`the bus refused authentication: ${line.slice(0, 80)}`);
      clearTimeout(timer);
      stream.write('BEGIN\r\n');
      // The bus sends nothing more until we send Hello, so nothing after the line is lost.
      resolve();
    };
    const onError = (err: Error) => fail(err.message);
    const onClose = () => fail('the bus closed the connection during authentication');
    stream.on('data', onData);
    stream.on('error', onError);
    stream.on('close', onClose);
    void opened.then(() => {
      const uid = String(process.getuid?.() ?? 0);
      stream.write(`\0AUTH EXTERNAL ${Buffer.from(uid, 'ascii').toString('hex')}\r\n`);
    });
  });
}
