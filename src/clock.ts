// SPDX-License-Identifier: GPL-2.0-or-later
// Time as the daemon sees it, injected wherever something waits or has a deadline: tests give a
// fake one to check deadlines and timers without waiting for them.

/** Cancels a scheduled call; calling it after the call ran, or twice, does nothing. */
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds since the epoch; the daemon uses differences (deadlines, how long a step took). */
  now(): number;
  sleep(ms: number): Promise<void>;
  /**
   * Calls `fire` once after `ms`, unless cancelled first. `background`: the wait alone does not
   * keep the process alive (a housekeeping timer, not a promise made to a caller).
   */
  schedule(ms: number, fire: () => void, options?: { readonly background?: boolean }): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  schedule: (ms, fire, options) => {
    const timer = setTimeout(fire, ms);
    if (options?.background === true) timer.unref();
    return () => clearTimeout(timer);
  },
};
