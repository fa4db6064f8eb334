// SPDX-License-Identifier: GPL-2.0-or-later
// Signals to the connection's subscribers: match rules added to the bus once per rule and removed
// with their last subscriber (reference counts), the owner of each well-known name a signal is
// believed from (tracked through the driver's NameOwnerChanged), and the routing itself. A signal
// is believed only from its sender as it is now: the bus driver's from org.freedesktop.DBus, a
// well-known name's from its current owner.
import type { Log } from '../log';
import { BUS_DRIVER_NAME, DRIVER, DRIVER_SIGNAL, isWellKnownName } from './bus-driver';
import { BusCallError, type BusCall, type BusMessage, type SignalMatch } from './bus-messages';
import type { MessageHeader } from './bus-unmarshal';

type SignalHeader = Pick<MessageHeader, 'sender' | 'path' | 'interface' | 'member'>;

export class SignalRouting {
  private readonly matchRefs = new Map<string, number>();
  /** AddMatch calls on their way, so a second subscriber of the same rule waits for the first. */
  private readonly matchesAdding = new Map<string, Promise<void>>();
  private readonly listeners = new Set<{ match: SignalMatch; listener: (msg: BusMessage) => void }>();
  /** Well-known name → its owner's unique name ('' while it has none), for names signals are believed from. */
  private readonly owners = new Map<string, string>();
  private readonly ownerWatches = new Map<string, Promise<void>>();

  constructor(
    /** Calls the bus driver (AddMatch, RemoveMatch, GetNameOwner) through the connection. */
    private readonly call: (call: BusCall) => Promise<unknown[]>,
    private readonly isClosed: () => boolean,
    private readonly log: Log,
  ) {}

  /**
   * Subscribes to signals from `match.sender`; returns a function that unsubscribes (and drops
   * the match rule with its last subscriber).
   */
  async subscribe(match: SignalMatch, listener: (msg: BusMessage) => void): Promise<() => Promise<void>> {
    if (isWellKnownName(match.sender)) await this.watchOwner(match.sender);
    const rule = matchRule(match);
    await this.addMatchRef(rule);
    const entry = { match, listener };
    this.listeners.add(entry);
    return async () => {
      if (!this.listeners.delete(entry)) return;
      const left = (this.matchRefs.get(rule) ?? 1) - 1;
      if (left > 0) {
        this.matchRefs.set(rule, left);
        return;
      }
      this.matchRefs.delete(rule);
      if (!this.isClosed()) {
        await this.call({ ...DRIVER, member: 'RemoveMatch', signature: 's', body: [rule] });
      }
    };
  }

  /** From the header alone: does a subscription want this signal, from the sender it trusts? */
  wants(h: SignalHeader): boolean {
    for (const { match } of this.listeners) if (this.headerMatches(match, h)) return true;
    return false;
  }

  /** Hands a signal (its body read) to each subscriber that wants it; a failing one does not stop the others. */
  dispatch(msg: BusMessage): void {
    for (const { match, listener } of this.listeners) {
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

  /**
   * May `sender` answer a call of ours to `name`? The bus driver always (it answers for a
   * receiver that left, or that it refused a call to); a unique name only itself; a well-known
   * name its tracked owner, or anyone while it is not tracked or has no owner (the bus routed it).
   */
  mayAnswerFor(name: string, sender: string): boolean {
    if (sender === BUS_DRIVER_NAME) return true;
    if (!isWellKnownName(name)) return sender === name;
    const owner = this.owners.get(name);
    return owner === undefined || owner === '' || owner === sender;
  }

  private headerMatches(match: SignalMatch, h: SignalHeader): boolean {
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
