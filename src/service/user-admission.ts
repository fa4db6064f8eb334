// SPDX-License-Identifier: GPL-2.0-or-later
// Admission of costly readings by user: a few of one user's run at once, the next ones wait their
// turn in that user's queue, and only beyond a queue's bound is a call refused. Waiting rather
// than refusing at once keeps a flooding user from turning refusals into a busy loop (each answer
// invites the next call): a user's calls are answered at the pace its readings are done, and
// other users' turns never depend on its queue. A waiting call is let in only after a pause as
// long as the reading whose end freed its turn took: a user with a queue gets half of the time
// at most, so the work it keeps going cannot crowd out the rest (an admin's Share); a user with
// nothing waiting never pauses.
import { type Clock, systemClock } from '../clock';

export class AdmissionRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdmissionRefused';
  }
}

export interface AdmissionLimits {
  /** Running at once, per user. */
  readonly runningPerUser: number;
  /** Waiting, per user. */
  readonly waitingPerUser: number;
  /** Waiting, of all users together (what the queues may hold in memory). */
  readonly waiting: number;
}

export class UserAdmission {
  private readonly running = new Map<number, number>();
  private readonly queues = new Map<number, Array<() => void>>();
  private waitingCount = 0;

  constructor(private readonly limits: AdmissionLimits, private readonly clock: Clock = systemClock) {}

  /** Resolves when one more of `uid`'s readings may run, with the function that ends it; rejects with AdmissionRefused. */
  async admit(uid: number): Promise<() => void> {
    let startedAt = this.clock.now();
    const release = () => this.release(uid, this.clock.now() - startedAt);
    const running = this.running.get(uid) ?? 0;
    if (running < this.limits.runningPerUser) {
      this.running.set(uid, running + 1);
      return release;
    }
    const queue = this.queues.get(uid) ?? [];
    if (queue.length >= this.limits.waitingPerUser) {
      throw new AdmissionRefused(`${running} readings of this user are in progress and ${queue.length} wait (at most ${this.limits.waitingPerUser}); wait for their answers before asking for more`);
    }
    if (this.waitingCount >= this.limits.waiting) {
      throw new AdmissionRefused(`${this.waitingCount} readings wait (at most ${this.limits.waiting}); try again in a moment`);
    }
    this.queues.set(uid, queue);
    this.waitingCount++;
    // The running count stays as it is: release() hands its slot straight to the next in the queue.
    await new Promise<void>((resolve) => queue.push(resolve));
    startedAt = this.clock.now();
    return release;
  }

  private release(uid: number, tookMs: number): void {
    const queue = this.queues.get(uid);
    const next = queue?.shift();
    if (next !== undefined) {
      this.waitingCount--;
      if (queue?.length === 0) this.queues.delete(uid);
      this.clock.schedule(tookMs, next);
      return;
    }
    const left = (this.running.get(uid) ?? 1) - 1;
    if (left > 0) this.running.set(uid, left);
    else this.running.delete(uid);
  }
}
