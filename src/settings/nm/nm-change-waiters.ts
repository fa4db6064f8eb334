// SPDX-License-Identifier: GPL-2.0-or-later
// Conditions an operation waits for, checked at each change of NetworkManager's objects.
import type { Clock } from '../../clock';

export class NmChangeWaiters {
  private readonly waiting = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** Resolves true once `condition` holds (checked at each change of NetworkManager's objects), false after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (held: boolean) => {
        cancelTimeout();
        this.waiting.delete(check);
        resolve(held);
      };
      const check = () => { if (condition()) finish(true); };
      const cancelTimeout = this.clock.schedule(timeoutMs, () => finish(false));
      this.waiting.add(check);
    });
  }

  /** Called at each change of NetworkManager's objects. */
  check(): void {
    for (const check of [...this.waiting]) check();
  }
}
