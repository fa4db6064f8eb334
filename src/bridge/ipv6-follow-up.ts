// SPDX-License-Identifier: GPL-2.0-or-later
// After a committed change, the autoconfigured IPv6 addresses the call did not wait for
// (IdentityExpectation.later): the log says when they are back, or that they did not come.
// Outside the call and its locks; it changes nothing. One per NIC: the NIC's next change ends it.
import type { Clock } from '../clock';
import { type Log, errorMessage } from '../log';
import { laterArrived, type HostObserver, type IdentityExpectation } from './verify';

// NetworkManager solicits a router advertisement at once, so the addresses come within seconds;
// past this, the log says they did not.
export const FOLLOW_LATER_MS = 30_000;
// The kernel's events carry the following (HostObserver.watch); this poll is only its safety net.
const FOLLOW_SAFETY_POLL_MS = 5000;

export class Ipv6FollowUp {
  /** How to stop following, by NIC. */
  private readonly following = new Map<string, () => void>();

  constructor(
    private readonly observer: HostObserver,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {}

  follow(nic: string, identity: IdentityExpectation): void {
    this.stop(nic);
    if (identity.later.length === 0) return;
    const started = this.clock.now();
    const deadline = started + FOLLOW_LATER_MS;
    const changes = this.observer.watch([identity.device]);
    let stopped = false;
    const stop = () => {
      stopped = true;
      changes.close();
    };
    this.following.set(nic, stop);
    const follow = async (): Promise<void> => {
      for (;;) {
        const seen = changes.count();
        const arrived = laterArrived(await this.observer.observe([identity.device]), identity.device, identity.later);
        if (stopped) return;
        if (arrived.length === identity.later.length) {
          this.log.info(`${identity.device} has its autoconfigured IPv6 address${arrived.length > 1 ? 'es' : ''} ${arrived.join(', ')} again, ${this.clock.now() - started} ms after the change`);
          return;
        }
        if (this.clock.now() >= deadline) {
          const missing = identity.later.filter((a) => !arrived.includes(a));
          this.log.warn(`${identity.device} has not got back ${missing.join(', ')} within ${FOLLOW_LATER_MS / 1000} s: its IPv6 autoconfiguration waits for the LAN's router advertisements`);
          return;
        }
        await Promise.race([changes.after(seen), this.clock.sleep(Math.min(FOLLOW_SAFETY_POLL_MS, Math.max(0, deadline - this.clock.now())))]);
      }
    };
    void follow().catch((err: unknown) => {
      this.log.warn(`following ${identity.device}'s IPv6 addresses: ${errorMessage(err)}`);
    }).finally(() => {
      if (this.following.get(nic) === stop) this.following.delete(nic);
      changes.close();
    });
  }

  /** A new change of the NIC (or bridge) `name`: what the last one left to follow is not waited for now. */
  stop(name: string): void {
    this.following.get(name)?.();
    this.following.delete(name);
  }
}
