// SPDX-License-Identifier: GPL-2.0-or-later
// Time that passes only when the code under test sleeps, or the test advances it: deadlines and
// timers checked without waiting for them.
import type { Cancel, Clock } from '../../src/clock';

interface Scheduled {
  readonly at: number;
  readonly fire: () => void;
}

export class FakeClock implements Clock {
  ms = 0;
  /** Time stands still: a sleep never ends. */
  frozen = false;
  private readonly timers = new Set<Scheduled>();

  now(): number { return this.ms; }

  async sleep(ms: number): Promise<void> {
    if (this.frozen) return new Promise(() => {});
    this.advance(ms);
  }

  schedule(ms: number, fire: () => void): Cancel {
    const timer = { at: this.ms + ms, fire };
    this.timers.add(timer);
    return () => { this.timers.delete(timer); };
  }

  /** Timers not yet run nor cancelled. */
  get scheduled(): number { return this.timers.size; }

  /** Moves time on by `ms`, running each timer that falls due, in the order they fall due. */
  advance(ms: number): void {
    const until = this.ms + ms;
    for (;;) {
      const [next] = [...this.timers].filter((t) => t.at <= until).sort((a, b) => a.at - b.at);
      if (next === undefined) break;
      this.timers.delete(next);
      this.ms = Math.max(this.ms, next.at);
      next.fire();
    }
    this.ms = until;
  }
}
