// SPDX-License-Identifier: GPL-2.0-or-later
// The connection to the bus: our own, not a library's (dbus-next's MessageBus loads xml2js,
// xmlbuilder and sax, megabytes of RSS, and its reader threw from a socket event for an fd-typed
// value with no fd and decoded any body, however large, before anyone could refuse it);
// @particle/dbus-next is the tests' oracle for our bytes. Here: Hello, method calls out and their
// replies, incoming calls to the handlers, replies and signals out, and a 'closed' notification.
// The jobs it composes have files of their own:
//   bus-transport.ts      the socket (or unixexec: program) and the SASL EXTERNAL handshake;
//   pending-calls.ts      serials, deadlines, the cap on calls in flight;
//   message-admission.ts  every message judged by its header before its body is read;
//   refusal-log.ts        the rate-limited log of what was refused;
//   signal-routing.ts     subscriptions, match-rule reference counts, owners of well-known names;
//   bus-driver.ts         org.freedesktop.DBus: credentials, RequestName;
//   standard-answers.ts   what a call no handler took is answered (Peer, Introspect, Properties);
//   stalled-readers.ts    (a service's) what each caller is sent, bounded until it proves it reads.
import type { Clock } from '../clock';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { consoleLog, errorMessage, type Log } from '../log';
import {
  marshalMessage, MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_METHOD_RETURN, MESSAGE_TYPE_SIGNAL, MarshalledBody,
  type OutgoingMessage,
} from './bus-marshal';
import { BusProtocolError, MessageFramer, type MessageHeader } from './bus-unmarshal';
import { connectionCredentials, DRIVER, requestName } from './bus-driver';
import {
  BusCallError, ERROR_DISCONNECTED, ERROR_FAILED, MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION, MESSAGE_FLAG_NO_AUTO_START,
  MESSAGE_FLAG_NO_REPLY_EXPECTED, type BusCall, type BusMessage, type MethodCallHandler, type PeerCredentials, type SignalMatch,
} from './bus-messages';
import { MessageAdmission } from './message-admission';
import { PendingCalls } from './pending-calls';
import { RefusalLog } from './refusal-log';
import { SignalRouting } from './signal-routing';
import { answerStandardCall, PEER } from './standard-answers';
import { StalledReaders } from './stalled-readers';
import type { OutgoingLimits } from './outgoing-budget';
import { openStream } from './bus-transport';

// The connection's users import what they exchange with it from here.
export {
  BusCallError, MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION, MESSAGE_FLAG_NO_AUTO_START, MESSAGE_FLAG_NO_REPLY_EXPECTED,
  type BusCall, type BusMessage, type MethodCallHandler, type PeerCredentials, type SignalMatch,
} from './bus-messages';
export { BUS_DRIVER_NAME } from './bus-driver';
export { CALL_LIMITS, MAX_CALL_BODY_BYTES } from './message-admission';
export { leaveToStandardAnswers, readMachineId } from './standard-answers';
export { openAuthenticated } from './bus-transport';
export { OUTGOING_LIMITS, type OutgoingLimits } from './outgoing-budget';

export interface ConnectOptions {
  /** A D-Bus address; defaults to DBUS_SYSTEM_BUS_ADDRESS or the standard system bus socket. */
  readonly address?: string;
  readonly callTimeoutMs?: number;
  readonly maxCallsInFlight?: number;
  /** What call deadlines run on (default: the system's). */
  readonly clock?: Clock;
  /** Where refused messages and handler failures are logged (default: stdout/stderr). */
  readonly log?: Log;
  /**
   * A service's: bound what each caller is sent until it proves it reads (stalled-readers.ts),
   * so one that never reads can't make the bus stop reading from us.
   */
  readonly outgoing?: OutgoingLimits;
}

export class BusConnection {
  private readonly callTimeoutMs: number;
  private readonly log: Log;
  private readonly pending: PendingCalls;
  private readonly signals: SignalRouting;
  private readonly admission: MessageAdmission;
  /** Set for a service (ConnectOptions.outgoing). */
  private readonly stalledReaders: StalledReaders | undefined;
  private readonly methodHandlers: MethodCallHandler[] = [];
  private readonly closedListeners: Array<(reason: string) => void> = [];
  private readonly framer: MessageFramer;
  private closed = false;
  private name = '';

  private constructor(
    private readonly socket: Duplex,
    options: ConnectOptions,
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? 25_000;
    this.log = options.log ?? consoleLog;
    this.pending = new PendingCalls(options.maxCallsInFlight ?? 64, options.clock);
    this.signals = new SignalRouting((call) => this.call(call), () => this.closed, this.log);
    const refusals = new RefusalLog(this.log);
    this.stalledReaders = options.outgoing === undefined ? undefined : new StalledReaders(this, refusals, this.log, options.outgoing);
    this.admission = new MessageAdmission({
      ownName: () => this.name,
      pending: this.pending,
      signals: this.signals,
      refusals,
      replyError: (call, errorName, text) => this.replyError(call, errorName, text),
      unread: (sender) => this.stalledReaders?.refuses(sender) ?? false,
    });
    this.framer = new MessageFramer({
      decide: (header) => this.admission.admit(header),
      message: (header, body) => this.receive(header, body),
      unreadable: (fixed, err) => refusals.refused(`a message (type ${fixed.type}, serial ${fixed.serial}) whose header can't be read: ${err.message}`),
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
      await bus.stalledReaders?.start();
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
    if (pooled) await this.pending.takeSlot();
    try {
      // Closed while waiting for a slot: don't write to a dead connection.
      if (this.closed) throw new BusCallError(ERROR_DISCONNECTED, 'not connected to the bus');
      let flags = 0;
      if (call.allowInteractiveAuthorization) flags |= MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION;
      if (call.noAutoStart) flags |= MESSAGE_FLAG_NO_AUTO_START;
      const serial = this.pending.nextSerial();
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
      const timedOut = () => new BusCallError('org.freedesktop.DBus.Error.Timeout', `${call.destination} did not answer ${call.interface}.${call.member} within ${timeoutMs} ms`);
      return await this.pending.expect(serial, call.destination, timeoutMs, timedOut, () => this.write(data));
    } finally {
      if (pooled) this.pending.releaseSlot();
    }
  }

  /** The bus's credentials of a peer's connection (GetConnectionCredentials). */
  credentials(busName: string): Promise<PeerCredentials> {
    return connectionCredentials((call) => this.call(call), busName);
  }

  /**
   * Sends Peer.Ping to a connection, outside the pool and with no deadline (a stalled reader may
   * take any time); `cancel` fails it at once (the connection left). For stalled-readers.ts.
   */
  ping(destination: string): { answered: Promise<unknown>; cancel(): void } {
    const serial = this.pending.nextSerial();
    const data = marshalMessage({ type: MESSAGE_TYPE_METHOD_CALL, serial, destination, path: '/', interface: PEER, member: 'Ping', signature: '', body: [] });
    const answered = this.closed
      ? Promise.reject(new BusCallError(ERROR_DISCONNECTED, 'not connected to the bus'))
      : this.pending.expect(serial, destination, undefined, () => new BusCallError(ERROR_FAILED, 'no deadline'), () => this.write(data));
    return { answered, cancel: () => this.pending.fail(serial, new BusCallError(ERROR_DISCONNECTED, `${destination} left the bus`)) };
  }

  /** Requests a well-known name, refusing to queue; resolves true when we own it. */
  requestName(name: string): Promise<boolean> {
    return requestName((call) => this.call(call), name);
  }

  /**
   * Subscribes to signals from `match.sender`; returns a function that unsubscribes (and drops
   * the match rule with its last subscriber).
   */
  subscribe(match: SignalMatch, listener: (msg: BusMessage) => void): Promise<() => Promise<void>> {
    return this.signals.subscribe(match, listener);
  }

  /**
   * Installs a handler for incoming method calls; it returns true when it took the call. Handlers
   * run in the order they were added; a call none takes gets the standard answers (standard-answers.ts).
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

  /**
   * Marshals (bus-marshal.ts) and writes a message that expects no reply. No SENDER field: the bus
   * sets it. On a service's connection, one to a caller over its budget is dropped (stalled-readers.ts).
   */
  private send(message: Omit<OutgoingMessage, 'serial'>): void {
    if (this.closed) return;
    const data = marshalMessage({ ...message, serial: this.pending.nextSerial() });
    const to = message.destination;
    if (to !== undefined && this.stalledReaders !== undefined) {
      const what = message.type === MESSAGE_TYPE_SIGNAL ? `signal ${message.member ?? ''}` : message.type === MESSAGE_TYPE_ERROR ? `error ${message.errorName ?? ''}` : 'reply';
      if (!this.stalledReaders.mayWrite(to, data.length, what, this.socket.writableLength)) return;
      this.write(data);
      this.stalledReaders.wrote(to);
      return;
    }
    this.write(data);
  }

  /** One write() per message, so messages never interleave on the socket. */
  private write(data: Buffer): void {
    // The socket is going away ('end' or 'close' is on its way); say so now rather than throw.
    if (!this.socket.writable) this.markClosed('the bus connection is no longer writable');
    else this.socket.write(data);
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

  /** A message whose body was wanted (admission.admit): decode it (guarded), then hand it on. */
  private receive(h: MessageHeader, body: Buffer): void {
    const values = this.admission.decode(h, body);
    if (values === undefined) return;
    switch (h.type) {
      case MESSAGE_TYPE_METHOD_RETURN:
      case MESSAGE_TYPE_ERROR:
        this.settle(h, values);
        return;
      case MESSAGE_TYPE_SIGNAL:
        this.signals.dispatch(toBusMessage(h, values));
        return;
      default: {
        const call = toBusMessage(h, values);
        // A caller over its budget of unread replies: its call waits until it has read them.
        if (this.stalledReaders?.hold(call.sender, () => this.dispatchMethodCall(call)) === true) return;
        this.dispatchMethodCall(call);
      }
    }
  }

  /** Hands a reply to the call waiting for it; one whose deadline has passed is dropped. */
  private settle(h: MessageHeader, body: unknown[]): void {
    if (h.replySerial === undefined) return;
    if (h.type === MESSAGE_TYPE_ERROR) {
      const text = typeof body[0] === 'string' ? body[0] : '';
      this.pending.fail(h.replySerial, new BusCallError(h.errorName ?? ERROR_FAILED, text, h.sender));
    } else {
      this.pending.resolve(h.replySerial, body);
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
    answerStandardCall(call, this);
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
    this.pending.failAll(reason);
    return true;
  }
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
