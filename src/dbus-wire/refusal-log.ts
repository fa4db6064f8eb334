// SPDX-License-Identifier: GPL-2.0-or-later
// The log of messages refused or dropped at the bus edge: each on one line, escaped (what a sender
// wrote may hold control characters), and a flood counted, not logged line by line, so it can't
// flood the journal.
import type { Log } from '../log';

/** At most this many refused messages are logged per minute. */
const REFUSALS_LOGGED_PER_MINUTE = 20;

export class RefusalLog {
  private windowStart = 0;
  private inWindow = 0;

  constructor(
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs a refused or dropped message (`what`: which, from whom, why). */
  refused(what: string): void {
    const now = this.now();
    if (now - this.windowStart >= 60_000) {
      const unlogged = this.inWindow - REFUSALS_LOGGED_PER_MINUTE;
      if (unlogged > 0) this.log.warn(`refused ${unlogged} more message(s) in the last minute (not logged one by one)`);
      this.windowStart = now;
      this.inWindow = 0;
    }
    const line = what.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    if (++this.inWindow <= REFUSALS_LOGGED_PER_MINUTE) this.log.warn(`refused a message: ${line}`);
  }
}
