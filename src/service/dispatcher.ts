// SPDX-License-Identifier: GPL-2.0-or-later
// Our own small dispatcher on the bus library's low-level method hook. Every method call goes
// through the same steps, in the same order (systemd's hostnamed is the model):
//   1. check and decode the arguments (wrong signature or value → InvalidArgs);
//   2. validate; a no-op is answered at once, with no polkit prompt;
//   3. authorize through the one polkit path (mutating methods only: the type system makes a
//      mutating method's implementation hand back its change instead of making it);
//   4. apply; 5. map failures to typed error names, once; 6. emit PropertiesChanged; 7. reply.
// It also answers Properties and Introspectable for the object and Introspect for its ancestors,
// so no code with weaker checks ever sees a call to our object. What it leaves
// (leaveToStandardAnswers) the connection's standard answers take: Peer on every path, and for
// paths that are not ours an empty node, UnknownObject, UnknownMethod (standard-answers.ts).
import type { BusConnection, BusMessage, PeerCredentials } from '../dbus-wire/bus-connection';
import { BusDecodeError, makeVariant, type BusValue, type Codec } from '../dbus-wire/bus-value';
import { marshalBody, type MarshalledBody } from '../dbus-wire/bus-marshal';
import { type Log, errorDetail, errorMessage } from '../log';
import type { AnyArgs, Caller, ErrorMapping, Implementation, InterfaceDefinition, Prepared, SignalArgs } from './interface-definition';
import { signatureOf } from './interface-definition';
import { introspectionXml } from './introspection-xml';
import { AuthorizationError, type Authority } from './polkit-authority';
import { leaveToStandardAnswers, MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION } from '../dbus-wire/bus-connection';
import { AdmissionRefused, UserAdmission, type AdmissionLimits } from './user-admission';

const PROPERTIES = 'org.freedesktop.DBus.Properties';
const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PEER = 'org.freedesktop.DBus.Peer';
/** Calls in progress from one connection (a CLI or a desktop makes one or two at a time). */
export const MAX_CALLS_PER_CALLER = 8;
/**
 * Costly readings (see MethodImplementation's `costly`): running at once per user (its
 * connections together), then waiting per user and in all; beyond that, refused. Concurrent
 * ones share their work where the service can (one reading of the host). dbus-daemon lets a user
 * hold 256 connections, and each holds at most MAX_CALLS_PER_CALLER calls here.
 */
export const COSTLY_LIMITS: AdmissionLimits = { runningPerUser: 4, waitingPerUser: 256, waiting: 1024 };
/** Callers whose credentials are remembered: a unique name is never reused on a bus, so an entry is never wrong, only old. */
const CREDENTIALS_REMEMBERED = 1024;
const LIMITS_EXCEEDED = 'org.freedesktop.DBus.Error.LimitsExceeded';


/** Methods that may be answered before the rest (export). */
export interface EarlyMethods {
  readonly members: ReadonlySet<string>;
  readonly ready: Promise<void>;
}

/** A failure already phrased for the caller: an error name and a message. */
class ReplyError extends Error {
  constructor(readonly errorName: string, message: string) {
    super(message);
  }
}

/** What the dispatcher needs of a bus connection. */
export type DispatcherBus = Pick<BusConnection, 'addMethodHandler' | 'reply' | 'replyError' | 'emitSignal' | 'credentials' | 'call'>;

type ReadImpl = { read(args: unknown[], caller: Caller): Promise<unknown[]>; replyKey?(args: unknown[]): string; readonly costly?: boolean };
type MethodImpl = { prepare(args: unknown[], caller: Caller): Promise<Prepared<unknown[]>> } | ReadImpl;

export class Dispatcher<I extends InterfaceDefinition> {
  private readonly xml: string;
  private readonly lastEmitted = new Map<string, string>();
  /** Replies of methods with a replyKey, marshalled once per key (by method name). */
  private readonly replyCache = new Map<string, { readonly key: string; readonly body: MarshalledBody }>();
  private callsInProgress = 0;
  private readonly callsByCaller = new Map<string, number>();
  private readonly costly = new UserAdmission(COSTLY_LIMITS);
  /** Credentials by caller (looked up once per connection, shared by concurrent calls), oldest first. */
  private readonly knownCallers = new Map<string, Promise<PeerCredentials>>();
  private lastActivity = Date.now();
  private ready: Promise<void> = Promise.resolve();
  /** Methods answered once `early.ready` resolves, before `ready` (see export). */
  private early: EarlyMethods | undefined;
  private serving = false;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    private readonly bus: DispatcherBus,
    private readonly spec: I,
    private readonly errors: ErrorMapping,
    private readonly implementation: Implementation<I>,
    private readonly authority: Authority,
    private readonly log: Log,
  ) {
    this.xml = introspectionXml(spec);
  }

  /**
   * Starts taking calls; each waits for `ready` (what the implementation reads: the daemon owns its
   * name before its first reading of the host, which may take seconds on a host with thousands of
   * links). Property values are remembered once ready, so later changes can be signalled.
   * `early` names methods that need less (a person's listing: the daemon's first reading serves
   * it before it has read every device) and when they may be answered.
   */
  export(ready: Promise<void> = Promise.resolve(), early?: EarlyMethods): void {
    this.early = early;
    this.ready = ready.then(() => {
      for (const name of Object.keys(this.spec.properties)) this.lastEmitted.set(name, this.fingerprint(name));
      this.serving = true;
    });
    this.bus.addMethodHandler((msg) => this.take(msg));
  }

  /** True when no call is running and none came for `ms` milliseconds (for idle exit). */
  idleFor(ms: number): boolean {
    return this.callsInProgress === 0 && Date.now() - this.lastActivity >= ms;
  }

  /** Resolves when no call is running, including calls taken while waiting (for idle exit). */
  /**
   * Leaves the bus without leaving any caller unanswered (idle exit, SIGTERM): release the name
   * first (from then on the bus activates a new instance for new calls; systemd, seeing a
   * Type=dbus service drop its BusName, sends SIGTERM, which ends up here too), answer every call
   * the bus had already routed to us (they all arrive before ReleaseName's reply), then make one
   * more round trip so the bus has read our last replies before the process goes.
   */
  async withdraw(busName: string): Promise<void> {
    const driver = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
    try {
      await this.bus.call({ ...driver, member: 'ReleaseName', signature: 's', body: [busName] });
      await this.drained();
      await this.bus.call({ ...driver, member: 'GetId' });
    } catch (err) {
      this.log.error(`leaving the bus: ${errorMessage(err)}`);
    }
  }

  private drained(): Promise<void> {
    if (this.callsInProgress === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Emits PropertiesChanged for every property whose value differs from what was last emitted. */
  emitPropertiesChanged(): void {
    if (!this.serving) return; // nobody could have read them yet
    const changed: Record<string, BusValue> = {};
    for (const [name, definition] of Object.entries(this.spec.properties)) {
      if (definition.emitsChangedSignal !== 'true') continue;
      const now = this.fingerprint(name);
      if (now === this.lastEmitted.get(name)) continue;
      this.lastEmitted.set(name, now);
      changed[name] = makeVariant(definition.codec.signature, this.encodeProperty(name));
    }
    if (Object.keys(changed).length > 0) {
      this.bus.emitSignal(this.spec.path, PROPERTIES, 'PropertiesChanged', 'sa{sv}as', [this.spec.name, changed, []]);
    }
  }

  /** Emits a signal the spec declares, with arguments of the declared types. */
  emit<K extends keyof I['signals'] & string>(name: K, args: SignalArgs<I['signals'][K]>): void {
    const definition = this.spec.signals[name];
    if (definition === undefined) throw new Error(`signal ${name} is not in the spec`);
    this.bus.emitSignal(this.spec.path, this.spec.name, name, signatureOf(definition.args), encodeArgs(definition.args, args as unknown[]));
  }

  /** Sends a declared signal to one connection only (unicast), with arguments checked by their codecs. */
  private emitTo(destination: string, name: string, args: unknown[]): void {
    // No sender (not through a bus): nobody to tell, and an empty destination would broadcast.
    if (destination === '') return;
    const definition = Object.hasOwn(this.spec.signals, name) ? this.spec.signals[name] : undefined;
    if (definition === undefined) throw new Error(`signal ${name} is not in the spec`);
    this.bus.emitSignal(this.spec.path, this.spec.name, name, signatureOf(definition.args), encodeArgs(definition.args, args), destination);
  }

  private take(msg: BusMessage): boolean {
    // Peer is answered by the connection itself, on every path (one reader of the machine id).
    if (msg.interface === PEER) return leaveToStandardAnswers(msg);
    if (msg.path !== this.spec.path) {
      if (msg.interface === INTROSPECTABLE && msg.member === 'Introspect' && this.isAncestorPath(msg.path)) {
        this.bus.reply(msg, 's', [this.ancestorXml(msg.path)]);
        return true;
      }
      return leaveToStandardAnswers(msg);
    }
    // A cap per caller (its unique name): one connection can't queue work without bound.
    const callerCalls = this.callsByCaller.get(msg.sender) ?? 0;
    if (callerCalls >= MAX_CALLS_PER_CALLER) {
      this.bus.replyError(msg, 'org.freedesktop.DBus.Error.LimitsExceeded',
        `${callerCalls} calls from this connection are still in progress; wait for their answers before sending more`);
      return true;
    }
    this.callsByCaller.set(msg.sender, callerCalls + 1);
    this.callsInProgress++;
    this.lastActivity = Date.now();
    this.handle(msg)
      .then(([signature, body]) => this.bus.reply(msg, signature, body))
      .catch((err: unknown) => {
        const { errorName, message } = this.toReplyError(err, msg);
        this.bus.replyError(msg, errorName, message);
      })
      .finally(() => {
        const left = (this.callsByCaller.get(msg.sender) ?? 1) - 1;
        if (left > 0) this.callsByCaller.set(msg.sender, left);
        else this.callsByCaller.delete(msg.sender);
        this.callsInProgress--;
        this.lastActivity = Date.now();
        if (this.callsInProgress === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
      });
    return true;
  }

  private async handle(msg: BusMessage): Promise<[string, unknown[] | MarshalledBody]> {
    if (msg.interface === this.spec.name && msg.member !== undefined && this.early?.members.has(msg.member) === true) await this.early.ready;
    else if (msg.interface !== INTROSPECTABLE) await this.ready;
    switch (msg.interface) {
      case PROPERTIES: return this.handleProperties(msg);
      case INTROSPECTABLE:
        if (msg.member === 'Introspect') return ['s', [this.xml]];
        break;
      case undefined:
      case this.spec.name:
        return this.handleMethod(msg);
      default:
        throw new ReplyError('org.freedesktop.DBus.Error.UnknownInterface', `Object ${this.spec.path} has no interface '${msg.interface}'`);
    }
    throw new ReplyError('org.freedesktop.DBus.Error.UnknownMethod', `Interface '${msg.interface}' has no method '${msg.member}'`);
  }

  private async handleMethod(msg: BusMessage): Promise<[string, unknown[] | MarshalledBody]> {
    const definition = Object.hasOwn(this.spec.methods, msg.member) ? this.spec.methods[msg.member] : undefined;
    const impl = (this.implementation.methods as Readonly<Record<string, MethodImpl>>)[msg.member];
    if (definition === undefined || impl === undefined) {
      throw new ReplyError('org.freedesktop.DBus.Error.UnknownMethod', `Interface '${this.spec.name}' has no method '${msg.member}'`);
    }
    // 1. arguments
    const args = decodeArgs(definition.in, msg);
    const caller: Caller = { busName: msg.sender, allowInteraction: (msg.flags & MESSAGE_FLAG_ALLOW_INTERACTIVE_AUTHORIZATION) !== 0 };
    let out: unknown[];
    if ('read' in impl) {
      if (impl.costly !== true) return this.read(impl, definition.out, args, caller, msg.member);
      const release = await this.admitCostly(caller);
      try {
        return await this.read(impl, definition.out, args, caller, msg.member);
      } finally {
        release();
      }
    } else {
      if (definition.action === undefined) throw new Error(`method ${msg.member} changes the host but has no polkit action`);
      // 2. validation; a no-op replies at once
      const prepared = await impl.prepare(args, caller);
      if ('noOp' in prepared) {
        out = prepared.noOp;
      } else {
        // 3. authorization (who is asking comes from the bus's credentials of the caller), then 4. the change
        prepared.authorizing?.((signal, args) => this.emitTo(caller.busName, signal, args));
        const credentials = await this.credentialsOf(caller);
        await this.authority.authorize(caller, credentials, definition.action);
        const audit = `audit: uid=${credentials.uid} pid=${credentials.pid ?? '?'} ${msg.member}${prepared.subject === undefined ? '' : ` ${prepared.subject}`}`;
        try {
          out = await prepared.apply();
          this.log.info(`${audit}: committed${out.length > 0 ? ` (${out.map(String).join(', ')})` : ''}`);
        } catch (err) {
          // One line per applied change, whatever its outcome; a rollback is a warning, the rest an error.
          const rolledBack = this.errors.isRollback(err);
          if (rolledBack) this.log.warn(`${audit}: rolled back: ${errorMessage(err)}`);
          else this.log.error(`${audit}: failed: ${errorMessage(err)}`);
          throw err;
        } finally {
          // 6. whatever happened, tell watchers what the state is now
          this.emitPropertiesChanged();
        }
      }
    }
    return [signatureOf(definition.out), encodeArgs(definition.out, out)];
  }

  private async read(impl: ReadImpl, outArgs: AnyArgs, args: unknown[], caller: Caller, member: string): Promise<[string, unknown[] | MarshalledBody]> {
    const signature = signatureOf(outArgs);
    const key = impl.replyKey?.(args);
    if (key === undefined) return [signature, encodeArgs(outArgs, await impl.read(args, caller))];
    const cached = this.replyCache.get(member);
    if (cached?.key === key) return [signature, cached.body];
    const body = marshalBody(signature, encodeArgs(outArgs, await impl.read(args, caller)));
    this.replyCache.set(member, { key, body });
    return [signature, body];
  }

  /** Waits for a turn of the caller's user for one costly reading (or refuses it); resolves with its release. */
  private async admitCostly(caller: Caller): Promise<() => void> {
    const { uid } = await this.rememberedCredentials(caller);
    try {
      return await this.costly.admit(uid);
    } catch (err) {
      if (err instanceof AdmissionRefused) throw new ReplyError(LIMITS_EXCEEDED, err.message);
      throw err;
    }
  }

  /** The caller's credentials, asked of the bus once per connection (concurrent calls share the question). */
  private rememberedCredentials(caller: Caller): Promise<PeerCredentials> {
    let known = this.knownCallers.get(caller.busName);
    if (known === undefined) {
      known = this.credentialsOf(caller);
      this.knownCallers.set(caller.busName, known);
      // A failed lookup is not remembered; the oldest callers are forgotten first.
      known.catch(() => this.knownCallers.delete(caller.busName));
      if (this.knownCallers.size > CREDENTIALS_REMEMBERED) this.knownCallers.delete(this.knownCallers.keys().next().value as string);
    }
    return known;
  }

  private async credentialsOf(caller: Caller): Promise<PeerCredentials> {
    try {
      return await this.bus.credentials(caller.busName);
    } catch (err) {
      // The bus can't say who is calling (it left meanwhile): nobody to authorize.
      throw new ReplyError('org.freedesktop.DBus.Error.AccessDenied', `cannot tell who is calling (${errorMessage(err)}); refusing`);
    }
  }

  private async handleProperties(msg: BusMessage): Promise<[string, unknown[]]> {
    const iface = typeof msg.body[0] === 'string' ? msg.body[0] : undefined;
    const expect = { Get: 'ss', GetAll: 's', Set: 'ssv' }[msg.member];
    if (expect === undefined) throw new ReplyError('org.freedesktop.DBus.Error.UnknownMethod', `Interface '${PROPERTIES}' has no method '${msg.member}'`);
    if (msg.signature !== expect) throw new ReplyError('org.freedesktop.DBus.Error.InvalidArgs', `${msg.member} takes arguments of type '${expect}', got '${msg.signature}'`);
    if (iface !== this.spec.name && !(msg.member === 'GetAll' && iface === '')) {
      throw new ReplyError('org.freedesktop.DBus.Error.UnknownInterface', `Object ${this.spec.path} has no interface '${String(iface)}'`);
    }
    if (msg.member === 'GetAll') {
      const all: Record<string, BusValue> = {};
      for (const [name, definition] of Object.entries(this.spec.properties)) {
        all[name] = makeVariant(definition.codec.signature, this.encodeProperty(name));
      }
      return ['a{sv}', [all]];
    }
    const name = String(msg.body[1]);
    const definition = Object.hasOwn(this.spec.properties, name) ? this.spec.properties[name] : undefined;
    if (definition === undefined) throw new ReplyError('org.freedesktop.DBus.Error.UnknownProperty', `Interface '${this.spec.name}' has no property '${name}'`);
    if (msg.member === 'Set') throw new ReplyError('org.freedesktop.DBus.Error.PropertyReadOnly', `Property '${name}' is read-only`);
    return ['v', [makeVariant(definition.codec.signature, this.encodeProperty(name))]];
  }

  private encodeProperty(name: string): BusValue {
    const getter = (this.implementation.properties as Readonly<Record<string, () => unknown>>)[name];
    const definition = this.spec.properties[name];
    if (getter === undefined || definition === undefined) throw new Error(`property ${name} has no getter`);
    // The spec and the Implementation type tie each getter's type to its codec; here they meet untyped.
    return (definition.codec as unknown as Codec<unknown>).encode(getter());
  }

  private fingerprint(name: string): string {
    return JSON.stringify(this.encodeProperty(name), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }

  private isAncestorPath(path: string): boolean {
    return path === '/' || this.spec.path.startsWith(`${path}/`);
  }

  private ancestorXml(path: string): string {
    const rest = this.spec.path.slice(path === '/' ? 1 : path.length + 1);
    const child = rest.split('/')[0] ?? '';
    return '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
      + ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
      + `<node>\n  <node name="${child}"/>\n</node>\n`;
  }

  /** Step 5: one place turns any failure into an error name and a message for the caller. */
  private toReplyError(err: unknown, msg: BusMessage): { errorName: string; message: string } {
    if (err instanceof ReplyError) return { errorName: err.errorName, message: err.message };
    if (err instanceof AuthorizationError) return { errorName: err.errorName, message: err.message };
    const expected = this.errors.reply(err);
    if (expected !== undefined) return expected;
    // Unexpected: the stack goes to our log, the caller gets a plain message.
    this.log.error(`${msg.interface ?? ''}.${msg.member} from ${msg.sender} failed: ${errorDetail(err)}`);
    return { errorName: this.errors.failedName, message: `${msg.member} failed unexpectedly; the service's log has the details` };
  }
}

function decodeArgs(args: AnyArgs, msg: BusMessage): unknown[] {
  const expected = signatureOf(args);
  if (msg.signature !== expected) {
    throw new ReplyError('org.freedesktop.DBus.Error.InvalidArgs', `${msg.member} takes arguments of type '${expected}', got '${msg.signature}'`);
  }
  try {
    return args.map((a, i) => a.codec.decode(msg.body[i], a.name));
  } catch (err) {
    if (err instanceof BusDecodeError) throw new ReplyError('org.freedesktop.DBus.Error.InvalidArgs', `invalid argument ${err.message}`);
    throw err;
  }
}

function encodeArgs(args: AnyArgs, values: unknown[]): unknown[] {
  return args.map((a, i) => (a.codec as unknown as Codec<unknown>).encode(values[i]));
}
