// The one module that knows which D-Bus library we use (@particle/dbus-next, pinned). Everything
// else talks to the bus through BusConnection, so the library can be swapped in one place.
// Adds what the library lacks: a deadline on every call, a cap on calls in flight, signal
// subscriptions with reference-counted match rules, and a 'closed' notification.
import * as dbus from '@particle/dbus-next';
import {
  marshalMessage, MESSAGE_TYPE_ERROR, MESSAGE_TYPE_METHOD_RETURN, MESSAGE_TYPE_SIGNAL, type OutgoingMessage,
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

// The library's private fields we rely on, named once here.
interface LibraryBusInternals {
  _methodReturnHandlers: Record<number, unknown>;
  _connection: {
    on(event: 'end' | 'error', listener: (err?: unknown) => void): void;
    /** 'connected' once the handshake is done; before that the library queues what it sends. */
    state?: string;
    /** The socket; lib/connection.js writes each marshalled message to it with one write(). */
    stream: {
      readonly writable: boolean;
      /** Set by the handshake when fds are negotiated; then writes take { data, fds }. */
      readonly supportsUnixFd?: boolean;
      write(chunk: Buffer | { data: Buffer; fds: number[] }): boolean;
    };
  };
}

export class BusConnection {
  private readonly callTimeoutMs: number;
  private readonly maxCallsInFlight: number;
  private callsInFlight = 0;
  private readonly waitingForSlot: Array<() => void> = [];
  private readonly matchRefs = new Map<string, number>();
  private readonly signalListeners = new Set<{ match: SignalMatch; listener: (msg: BusMessage) => void }>();
  private readonly closedListeners: Array<(reason: string) => void> = [];
  private closed = false;

  private constructor(
    private readonly bus: dbus.MessageBus,
    readonly uniqueName: string,
    options: ConnectOptions,
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? 25_000;
    this.maxCallsInFlight = options.maxCallsInFlight ?? 64;
    bus.on('message', (msg) => {
      if (msg.type === dbus.MessageType.SIGNAL) this.dispatchSignal(toBusMessage(msg));
    });
    const internals = bus as unknown as LibraryBusInternals;
    internals._connection.on('end', () => this.markClosed('the bus closed the connection'));
    bus.on('error', (err: unknown) => this.markClosed(`bus connection error: ${describe(err)}`));
  }

  static connect(options: ConnectOptions = {}): Promise<BusConnection> {
    const address =
      options.address ?? process.env['DBUS_SYSTEM_BUS_ADDRESS'] ?? 'unix:path=/run/dbus/system_bus_socket';
    // sessionBus() is the library's way to connect to an explicit address (systemBus() would
    // ignore ours in favour of the environment's).
    const bus = dbus.sessionBus({ busAddress: address });
    return new Promise((resolve, reject) => {
      const onError = (err: unknown) => reject(new BusCallError('org.freedesktop.DBus.Error.NoServer', `cannot connect to ${address}: ${describe(err)}`));
      bus.once('error', onError);
      bus.once('connect', () => {
        bus.removeListener('error', onError);
        const name = (bus as unknown as { name: string | null }).name;
        resolve(new BusConnection(bus, name ?? '', options));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClosed(listener: (reason: string) => void): void {
    this.closedListeners.push(listener);
  }

  close(): void {
    this.closed = true;
    this.bus.disconnect();
  }

  /** Calls a method and resolves with the reply's body; rejects with BusCallError. */
  async call(call: BusCall): Promise<unknown[]> {
    if (this.closed) throw new BusCallError('org.freedesktop.DBus.Error.Disconnected', 'not connected to the bus');
    await this.takeSlot();
    let flags = 0;
    if (call.allowInteractiveAuthorization) flags |= MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION;
    if (call.noAutoStart) flags |= MESSAGE_FLAG_NO_AUTO_START;
    const message = new dbus.Message({
      destination: call.destination,
      path: call.path,
      interface: call.interface,
      member: call.member,
      signature: call.signature ?? '',
      body: (call.body ?? []) as unknown[],
      flags: flags as dbus.MessageFlag,
    });
    message.serial = this.bus.newSerial();
    const serial = message.serial;
    const timeoutMs = call.timeoutMs ?? this.callTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // The library would keep the reply handler forever; drop it with the call.
          delete (this.bus as unknown as LibraryBusInternals)._methodReturnHandlers[serial];
          reject(new BusCallError('org.freedesktop.DBus.Error.Timeout', `${call.destination} did not answer ${call.interface}.${call.member} within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      const reply = await Promise.race([this.bus.call(message), deadline]);
      return reply ? [...reply.body] : [];
    } catch (err) {
      if (err instanceof BusCallError) throw err;
      if (err instanceof dbus.DBusError) throw new BusCallError(err.type, err.text ?? err.message);
      throw new BusCallError('org.freedesktop.DBus.Error.Failed', describe(err));
    } finally {
      clearTimeout(timer);
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
      await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: [rule] });
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
        await this.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'RemoveMatch', signature: 's', body: [rule] });
      }
    };
  }

  /** Requests a well-known name, refusing to queue; resolves true when we own it. */
  async requestName(name: string): Promise<boolean> {
    const [reply] = await this.call({
      destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus',
      member: 'RequestName', signature: 'su', body: [name, dbus.NameFlag.DO_NOT_QUEUE],
    });
    return reply === dbus.RequestNameReply.PRIMARY_OWNER || reply === dbus.RequestNameReply.ALREADY_OWNER;
  }

  /** Installs a handler for incoming method calls; it returns true when it took the call. */
  addMethodHandler(handler: MethodCallHandler): void {
    this.bus.addMethodHandler((msg: dbus.Message) => handler(toBusMessage(msg)));
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

  /**
   * Marshals with our own marshaller (bus-marshal.ts; the library's costs milliseconds per big
   * reply) and writes the bytes the way lib/connection.js does once connected: one write() per
   * message on the same stream, so ours and the library's (method calls, its own error replies)
   * stay in order. No SENDER field: the bus sets it.
   */
  private send(message: Omit<OutgoingMessage, 'serial'>): void {
    if (this.closed) return;
    const connection = (this.bus as unknown as LibraryBusInternals)._connection;
    // We exist only after the bus said Hello back, so the library's pre-handshake queue is empty.
    if (connection.state !== 'connected') throw new Error('Cannot send message, the bus connection is not set up yet');
    const { stream } = connection;
    if (!stream.writable) throw new Error('Cannot send message, stream is closed');
    const data = marshalMessage({ ...message, serial: this.bus.newSerial() });
    if (stream.supportsUnixFd) stream.write({ data, fds: [] });
    else stream.write(data);
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

  private markClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closedListeners) listener(reason);
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

function toBusMessage(msg: dbus.Message): BusMessage {
  return {
    serial: msg.serial ?? 0,
    sender: msg.sender,
    destination: msg.destination ?? undefined,
    path: msg.path,
    interface: msg.interface ?? undefined,
    member: msg.member,
    signature: msg.signature ?? '',
    body: msg.body ?? [],
    flags: Number(msg.flags ?? 0),
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
