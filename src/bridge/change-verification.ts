// SPDX-License-Identifier: GPL-2.0-or-later
// The verify loop: after the backend applied a change, read the kernel until what the change
// promised holds (the NIC placed, its addresses and gateways on the new device) or the change's
// deadline passes; and, before the change, what must hold after it.
import type { Clock } from '../clock';
import type { Progress, ProgressStep } from './progress';
import {
  defaultGateways, expectIdentityMove, identityProblems, NO_IP_REQUIREMENTS,
  type HostObserver, type IdentityExpectation, type IpRequirements, type LiveHost,
} from './verify';

// Verification reads the state when the kernel reports a change (HostObserver.watch); this poll
// is only the safety net for changes it does not report (a gateway starting to answer).
const VERIFY_SAFETY_POLL_MS = 1000;

/** What verification needs to know of a change. */
export interface VerifiedChange {
  readonly nic: string;
  readonly bridge: string;
  /** The devices whose kernel events can bring verification closer to holding. */
  readonly watched: readonly string[];
  /** When verification gives up (clock milliseconds). */
  readonly deadline: number;
  /** Where the NIC must be (a port of the bridge, or on its own again), before its identity is checked. */
  placement(after: LiveHost): string[];
  /** The Progress step once placement holds. */
  readonly placed: { readonly step: ProgressStep; readonly message: string };
}

export class ChangeVerification {
  constructor(
    private readonly observer: HostObserver,
    private readonly clock: Clock,
  ) {}

  /** Reads until the change holds or its deadline (or `interrupted`); says what does not hold (empty: verified). */
  async verify(change: VerifiedChange, identity: IdentityExpectation, progress: Progress, interrupted?: Promise<string>): Promise<string[]> {
    let placed = false;
    let waiting = false;
    let interruption: string | undefined;
    void interrupted?.then((why) => { interruption = why; });
    // Read again as soon as the kernel says something changed, and at least every safety poll.
    const changes = this.observer.watch(change.watched);
    try {
      for (;;) {
        const seen = changes.count();
        if (interruption !== undefined) return [interruption];
        const after = await this.observer.observe([change.nic, change.bridge]);
        const misplaced = change.placement(after);
        if (misplaced.length === 0 && !placed) {
          placed = true;
          progress(change.placed.step, change.placed.message);
        }
        // Ping only once the rest holds: a gateway can't answer through a device without its address.
        let left = [...misplaced, ...identityProblems(identity, after, new Set(identity.gateways))];
        if (placed && left.length > 0 && !waiting) {
          waiting = true;
          progress('waiting-for-lease', `waiting for ${identity.device}: ${left.join('; ')}`);
        }
        if (left.length === 0) {
          const answering = await this.answering(identity.gateways, identity.device, true, after);
          left = identityProblems(identity, after, answering);
          if (left.length === 0 && answering.size > 0) progress('gateway-answers', `${[...answering].join(', ')} answers through ${identity.device}`);
        }
        if (left.length === 0 || this.clock.now() >= change.deadline) return left;
        await Promise.race([changes.after(seen), this.clock.sleep(Math.min(VERIFY_SAFETY_POLL_MS, Math.max(0, change.deadline - this.clock.now()))), ...(interrupted === undefined ? [] : [interrupted])]);
      }
    } finally {
      changes.close();
    }
  }

  /** Reads `from` before the change: what must hold on `to` after it; gateways that answer now must answer then. */
  async expectIdentity(from: string, to: string, ip: IpRequirements = NO_IP_REQUIREMENTS): Promise<IdentityExpectation> {
    const before = await this.observer.observe([from]);
    const answering = await this.answering(defaultGateways(before, from, ip), from, false, before);
    return expectIdentityMove(before, from, to, [...answering], ip);
  }

  /**
   * Which of `gateways` answer a ping through `device`: all asked at once, an IPv4 gateway from
   * the device's own IPv4 address in `reading` (with it, ping does not read every link's
   * addresses to check its source: 90 ms a ping at 5000 links).
   */
  private async answering(gateways: readonly string[], device: string, newDevice: boolean, reading: LiveHost): Promise<Set<string>> {
    const ipv4 = reading.links.get(device)?.addresses.find((a) => a.family === 4 && a.global)?.cidr.split('/')[0];
    const answers = await Promise.all(gateways.map((gateway) => this.observer.answers(gateway, device, newDevice, gateway.includes(':') ? undefined : ipv4)));
    return new Set(gateways.filter((_, i) => answers[i] === true));
  }
}
