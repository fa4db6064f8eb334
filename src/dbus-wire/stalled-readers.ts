// SPDX-License-Identifier: GPL-2.0-or-later
// Keeps callers that do not read from costing anyone but themselves: every reply, error and
// unicast signal to a connection is charged to its budget (outgoing-budget.ts) before it is
// written, and dropped when over; a Ping asks a connection over its soft budget to prove it
// reads; a connection's user comes from the bus (GetConnectionCredentials) the first time we
// send to it, and its departure from the driver's NameOwnerChanged (the bus drops what it held).
import type { Log } from '../log';
import { DRIVER_SIGNAL } from './bus-driver';
import { BusCallError, ERROR_DISCONNECTED, type BusMessage, type PeerCredentials, type SignalMatch } from './bus-messages';
import { OutgoingBudget, type OutgoingLimits } from './outgoing-budget';
import type { RefusalLog } from './refusal-log';

/** What the guard needs of the connection. */
export interface GuardedBus {
  /** Sends Peer.Ping to `destination`; `answered` settles with its answer (no deadline), `cancel` fails it now. */
  ping(destination: string): { answered: Promise<unknown>; cancel(): void };
  credentials(name: string): Promise<PeerCredentials>;
  subscribe(match: SignalMatch, listener: (msg: BusMessage) => void): Promise<() => Promise<void>>;
}

/**
 * Calls of a connection over its budget wait for its Ping's answer (a reader answers within
 * moments, then they run in order); past this many waiting, its calls are refused.
 */
export const MAX_HELD_CALLS = 32;

/** The driver's answers to a Ping that say its receiver is gone. */
const RECEIVER_GONE = new Set([
  'org.freedesktop.DBus.Error.NoReply', 'org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner',
]);

export class StalledReaders {
  readonly budget: OutgoingBudget;
  private readonly pingsInFlight = new Map<string, () => void>();
  /** Calls waiting until their connection proves it reads, by connection, in order. */
  private readonly held = new Map<string, Array<() => void>>();
  private warnedUnanswerable = false;

  constructor(
    private readonly bus: GuardedBus,
    private readonly refusals: RefusalLog,
    private readonly log: Log,
    limits?: OutgoingLimits,
  ) {
    this.budget = new OutgoingBudget(limits);
  }

  /** Follows departures from the bus (one match rule for every NameOwnerChanged). */
  async start(): Promise<void> {
    await this.bus.subscribe({ ...DRIVER_SIGNAL, member: 'NameOwnerChanged' }, (msg) => {
      const [name, , newOwner] = msg.body;
      if (msg.signature === 'sss' && typeof name === 'string' && name.startsWith(':') && newOwner === '') this.departed(name);
    });
  }

  /**
   * Charges a message of `bytes` to `destination` (a unique name; others are the bus's to route):
   * false when it must be dropped. `backlog`: what our socket holds that the bus has not taken.
   */
  mayWrite(destination: string, bytes: number, what: string, backlog: number): boolean {
    if (!destination.startsWith(':')) return true;
    if (this.budget.isNew(destination)) this.learnUser(destination);
    if (this.budget.charge(destination, bytes, backlog)) return true;
    this.refusals.refused(`${what} to ${destination} (${bytes} bytes) dropped: it has not read what it was sent before (${this.budget.describe(destination)})`);
    this.pingIfDue(destination);
    return false;
  }

  /** After a message to `destination` was written: a Ping follows it if one is due. */
  wrote(destination: string): void {
    if (destination.startsWith(':')) this.pingIfDue(destination);
  }

  /** Are the caller's calls refused unread (over its budget, with as many waiting as may)? */
  refuses(sender: string): boolean {
    return this.blocks(sender) && (this.held.get(sender)?.length ?? 0) >= MAX_HELD_CALLS;
  }

  /**
   * A call from a connection over its budget waits (true) until the connection has read what it
   * was sent; `run` then handles it. False: the caller is within its budget, handle it now.
   */
  hold(sender: string, run: () => void): boolean {
    if (!this.blocks(sender)) return false;
    const queue = this.held.get(sender) ?? [];
    queue.push(run);
    this.held.set(sender, queue);
    this.pingIfDue(sender);
    return true;
  }

  private blocks(sender: string): boolean {
    return sender.startsWith(':') && this.budget.blocks(sender);
  }

  /** Runs the calls a connection may now make, in order; stops where it is over budget again. */
  private release(name: string): void {
    const queue = this.held.get(name);
    while (queue !== undefined && queue.length > 0 && !this.blocks(name)) queue.shift()?.();
    if (queue?.length === 0) this.held.delete(name);
    // A Ping ended: connections whose calls wait may now have theirs sent.
    for (const waiting of this.held.keys()) if (waiting !== name) this.pingIfDue(waiting);
  }

  private learnUser(name: string): void {
    this.bus.credentials(name).then(
      (credentials) => this.budget.assignUser(name, credentials.uid),
      // It left already: NameOwnerChanged settles its account.
      () => undefined,
    );
  }

  private pingIfDue(name: string): void {
    if (!this.budget.takePing(name)) return;
    const { answered, cancel } = this.bus.ping(name);
    this.pingsInFlight.set(name, cancel);
    answered.then(() => this.proven(name), (err: unknown) => {
      if (!this.pingsInFlight.has(name)) return; // cancelled: it left
      if (err instanceof BusCallError && err.errorName === ERROR_DISCONNECTED && err.sender === undefined) return; // we are leaving
      // Any answer from the receiver itself, an error too (UnknownMethod), came after it read the Ping.
      if (err instanceof BusCallError && err.sender === name) return this.proven(name);
      this.pingsInFlight.delete(name);
      if (err instanceof BusCallError && err.sender !== undefined && RECEIVER_GONE.has(err.errorName)) return this.departed(name);
      this.budget.pingFailed(name);
      this.release(name);
      if (!this.warnedUnanswerable) {
        this.warnedUnanswerable = true;
        this.log.warn(`cannot ask ${name} whether it reads its replies (Peer.Ping: ${err instanceof Error ? err.message : String(err)}); callers that stop reading are held to the hard budgets alone`);
      }
    });
  }

  private proven(name: string): void {
    this.pingsInFlight.delete(name);
    this.budget.proven(name);
    this.release(name);
    // What was sent while the Ping was on its way may call for the next one.
    this.pingIfDue(name);
  }

  private departed(name: string): void {
    const cancel = this.pingsInFlight.get(name);
    this.pingsInFlight.delete(name);
    cancel?.();
    this.budget.departedFromBus(name);
    // Its waiting calls have no one to answer.
    this.held.delete(name);
    this.release(name);
  }
}
