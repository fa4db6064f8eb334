// SPDX-License-Identifier: GPL-2.0-or-later
// The bytes we sent to each connection that it has not yet been proven to have read, and the
// budgets they are held to. dbus-daemon keeps what a connection does not read in that
// connection's queue, and charges every queued message to the connection that sent it (libdbus
// dbus-transport.c: a received message carries its sender's live_messages counter until it is
// freed); past max_incoming_bytes (127 MiB on the system bus) it stops reading from the sender
// altogether. So one caller that never reads could stop every reply of ours, to everyone. Here,
// per receiving connection (a unique name): bytes sent and not yet proven read; proof is the
// answer to a Peer.Ping we send it, which it can only read after everything queued before it.
// Over the soft budget a Ping goes out; over the hard budget (or its user's, or everyone's) its
// calls are refused, unread, until the Ping is answered; the replies to calls it made before
// still go, up to DROP_FACTOR times the budgets, past which its messages are dropped. The same
// accounting bounds our own socket's backlog: a caller that makes us write faster than the bus
// takes our bytes (its replies are large, its calls small) is held to the same budgets. Pure
// bookkeeping: stalled-readers.ts sends the Pings and applies the verdicts.

export interface OutgoingLimits {
  /** Unproven bytes to one connection before it is asked to prove it reads (a Ping). */
  readonly softBytes: number;
  /** Unproven bytes to one connection past which its calls are refused. */
  readonly hardBytes: number;
  /** The same, for one user's connections together. */
  readonly perUserBytes: number;
  /**
   * The same, for every connection together; times DROP_FACTOR, well below dbus-daemon's
   * max_incoming_bytes (127 MiB).
   */
  readonly totalBytes: number;
  /**
   * Our own socket's backlog (bytes written that the bus has not taken yet) past which nothing
   * more goes to connections over their soft budget: every reply of ours waits behind it.
   */
  readonly backlogBytes: number;
  /**
   * Pings awaiting an answer at once: each holds one of the 128 replies dbus-daemon lets a
   * connection await (max_replies_per_connection) for as long as its receiver does not read.
   */
  readonly pingsInFlight: number;
  readonly pingsPerUser: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const OUTGOING_LIMITS: OutgoingLimits = {
  softBytes: 64 * KiB,
  hardBytes: 1 * MiB,
  perUserBytes: 2 * MiB,
  totalBytes: 16 * MiB,
  // Above any one reply of ours (ListInterfacesFiltered with all at thousands of links is hundreds
  // of KiB, which the bus takes 2 KiB a turn): a backlog that big means the bus is not keeping up.
  backlogBytes: 8 * MiB,
  pingsInFlight: 16,
  pingsPerUser: 2,
};

/** Past this many times a budget, messages are dropped (replies to calls let in before the budget was spent). */
export const DROP_FACTOR = 4;

/** Departed connections remembered (a unique name is never reused: a late reply to one is not charged). */
const DEPARTED_REMEMBERED = 4096;

interface Receiver {
  unproven: number;
  uid: number | undefined;
  /** The unproven bytes the Ping in flight will prove read; undefined: no Ping in flight. */
  pingCovers: number | undefined;
}

interface UserTotals {
  unproven: number;
  pings: number;
}

export interface BudgetFigures {
  readonly unprovenBytes: number;
  readonly receivers: number;
  readonly pingsInFlight: number;
}

export class OutgoingBudget {
  private readonly receivers = new Map<string, Receiver>();
  private readonly users = new Map<number, UserTotals>();
  private readonly departed = new Set<string>();
  private total = 0;
  private pings = 0;

  constructor(private readonly limits: OutgoingLimits = OUTGOING_LIMITS) {}

  get figures(): BudgetFigures {
    return { unprovenBytes: this.total, receivers: this.receivers.size, pingsInFlight: this.pings };
  }

  /** The connection's account, for the log. */
  describe(name: string): string {
    const receiver = this.receivers.get(name);
    const user = receiver === undefined ? undefined : this.userOf(receiver);
    return `${receiver?.unproven ?? 0} bytes unproven to it, ${user === undefined ? 'its user not known yet' : `${user.unproven} to its user (uid ${receiver?.uid ?? '?'})`}, ${this.total} to everyone`;
  }

  /** Whether the connection is one we have never sent to (its user is not known yet). */
  isNew(name: string): boolean {
    return !this.receivers.has(name) && !this.departed.has(name);
  }

  /**
   * May `bytes` more go to `name`? If so they are charged. Dropped past DROP_FACTOR times a
   * budget, or, for a connection over its soft budget, while our socket's `backlog` is over its
   * limit; but a connection with nothing unproven always gets one message (a reply larger than a
   * budget still reaches a reader).
   */
  charge(name: string, bytes: number, backlog = 0): boolean {
    if (this.departed.has(name)) return true;
    const receiver = this.receiver(name);
    if (receiver.unproven > 0) {
      const user = this.userOf(receiver);
      if (receiver.unproven + bytes > this.limits.hardBytes * DROP_FACTOR) return false;
      if (user !== undefined && user.unproven + bytes > this.limits.perUserBytes * DROP_FACTOR) return false;
      if (this.total + bytes > this.limits.totalBytes * DROP_FACTOR) return false;
      if (backlog > this.limits.backlogBytes && receiver.unproven >= this.limits.softBytes) return false;
    }
    this.adjust(receiver, bytes);
    return true;
  }

  /** Are the connection's calls refused (it, its user or everyone is over budget and it has bytes unproven)? */
  blocks(name: string): boolean {
    const receiver = this.receivers.get(name);
    if (receiver === undefined || receiver.unproven === 0) return false;
    const user = this.userOf(receiver);
    return receiver.unproven >= this.limits.hardBytes
      || (user !== undefined && user.unproven >= this.limits.perUserBytes)
      || this.total >= this.limits.totalBytes;
  }

  /**
   * Is a Ping to the connection due (it is over the soft budget, or blocked, with none in flight,
   * and the Pings in flight are under their caps)? If so it is counted as sent.
   */
  takePing(name: string): boolean {
    const receiver = this.receivers.get(name);
    if (receiver === undefined || receiver.pingCovers !== undefined || receiver.unproven === 0) return false;
    if (receiver.unproven < this.limits.softBytes && !this.blocks(name)) return false;
    const user = this.userOf(receiver);
    if (this.pings >= this.limits.pingsInFlight || (user !== undefined && user.pings >= this.limits.pingsPerUser)) return false;
    receiver.pingCovers = receiver.unproven;
    this.pings++;
    if (user !== undefined) user.pings++;
    return true;
  }

  /** The connection answered our Ping: everything sent before it is read. */
  proven(name: string): void {
    const receiver = this.receivers.get(name);
    if (receiver?.pingCovers === undefined) return;
    const covered = receiver.pingCovers;
    this.endPing(receiver);
    this.adjust(receiver, -covered);
  }

  /** The Ping got no answer that proves anything (the bus refused it): it may be sent again later. */
  pingFailed(name: string): void {
    const receiver = this.receivers.get(name);
    if (receiver?.pingCovers !== undefined) this.endPing(receiver);
  }

  /** The bus says who the connection's user is (GetConnectionCredentials). */
  assignUser(name: string, uid: number): void {
    const receiver = this.receivers.get(name);
    if (receiver === undefined || receiver.uid !== undefined) return;
    receiver.uid = uid;
    const user = this.userOf(receiver);
    if (user === undefined) return;
    user.unproven += receiver.unproven;
    if (receiver.pingCovers !== undefined) user.pings++;
  }

  /** The connection left the bus: the bus dropped what it held for it. */
  departedFromBus(name: string): void {
    const receiver = this.receivers.get(name);
    if (receiver !== undefined) {
      if (receiver.pingCovers !== undefined) this.endPing(receiver);
      this.adjust(receiver, -receiver.unproven);
      this.receivers.delete(name);
    }
    this.departed.add(name);
    if (this.departed.size > DEPARTED_REMEMBERED) this.departed.delete(this.departed.values().next().value as string);
  }

  private receiver(name: string): Receiver {
    let receiver = this.receivers.get(name);
    if (receiver === undefined) {
      receiver = { unproven: 0, uid: undefined, pingCovers: undefined };
      this.receivers.set(name, receiver);
    }
    return receiver;
  }

  /** The totals of the receiver's user, while it is known (kept while anything is unproven or pinged). */
  private userOf(receiver: Receiver): UserTotals | undefined {
    if (receiver.uid === undefined) return undefined;
    let user = this.users.get(receiver.uid);
    if (user === undefined) {
      user = { unproven: 0, pings: 0 };
      this.users.set(receiver.uid, user);
    }
    return user;
  }

  private adjust(receiver: Receiver, bytes: number): void {
    receiver.unproven += bytes;
    this.total += bytes;
    const user = this.userOf(receiver);
    if (user === undefined) return;
    user.unproven += bytes;
    if (user.unproven === 0 && user.pings === 0 && receiver.uid !== undefined) this.users.delete(receiver.uid);
  }

  private endPing(receiver: Receiver): void {
    receiver.pingCovers = undefined;
    this.pings--;
    const user = this.userOf(receiver);
    if (user === undefined) return;
    user.pings--;
    if (user.unproven === 0 && user.pings === 0 && receiver.uid !== undefined) this.users.delete(receiver.uid);
  }
}
