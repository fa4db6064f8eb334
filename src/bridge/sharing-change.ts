// SPDX-License-Identifier: GPL-2.0-or-later
// A Share or an Unshare as the transaction runs it: what to apply, what must hold afterwards,
// and what is left to do once it is committed. Built from a plan checked under the change's lock.
import type { Clock } from '../clock';
import type { Log } from '../log';
import type { ChangeFirewall } from './change-firewall';
import type { ChangeVerification, VerifiedChange } from './change-verification';
import type { Progress } from './progress';
import type { SettingsBackend } from './settings-backend';
import type { SharePlan, UnsharePlan } from './share-plan';
import { callSeconds } from './share-request';
import { bridgeProblems, unsharedProblems, type IdentityExpectation, type IpRequirements } from './verify';

export type ChangeOperation = 'share' | 'unshare';

export interface SharingChange extends VerifiedChange {
  readonly operation: ChangeOperation;
  readonly interfaces: readonly string[];
  readonly rollbackTimeout: number;
  /** Seconds a verified change waits for Confirm; 0: committed at once. */
  readonly confirmTimeout: number;
  /** A routed share's change (routed-change.ts). */
  readonly routed?: boolean;
  /** For messages: "share eth0". */
  readonly what: string;
  /** The backend's apply; it touches the NIC only once `ready` resolves (SettingsBackend.applyShare). */
  apply(progress: Progress, ready: Promise<void>): Promise<void>;
  /** Reads the host as it is, before the change touches the NIC: what must hold after it. */
  readBefore(): Promise<IdentityExpectation>;
  /**
   * What must be done before the change touches the NIC, beside reading the host (the firewall's
   * rules for the bridge). A ShareError from it is the caller's answer once all is undone.
   */
  prerequisite(): Promise<void>;
  /** After the commit (at once, or on Confirm): what is left to do. */
  afterCommit(): Promise<void>;
  /**
   * However the change ended (committed, rolled back, or never begun), after the backend's part:
   * what the backend's transaction does not undo by itself (routed sharing's data plane).
   */
  ended?(committed: boolean): Promise<void>;
}

/** What building a change needs besides its plan. */
export interface ChangeContext {
  readonly clock: Clock;
  readonly log: Log;
  readonly verification: ChangeVerification;
  readonly firewall: ChangeFirewall;
}

// Of a call's time (callSeconds), what a rollback and the reply may need after verification gave up.
const ROLLBACK_RESERVE_MS = 3000;

export function shareChange(context: ChangeContext, backend: SettingsBackend, plan: SharePlan, ip: IpRequirements, confirmTimeout: number): SharingChange {
  return {
    // Everything verification waits for is on the bridge (the NIC's line says `master BRIDGE`).
    nic: plan.nic, operation: 'share', bridge: plan.bridge, interfaces: [plan.nic], watched: [plan.bridge],
    rollbackTimeout: plan.rollbackTimeout, confirmTimeout, what: `share ${plan.nic}`,
    deadline: context.clock.now() + callSeconds(plan) * 1000 - ROLLBACK_RESERVE_MS,
    apply: (progress, ready) => {
      if (plan.modeChoice !== '') progress('mode-chosen', plan.modeChoice);
      return backend.applyShare(plan, progress, ready);
    },
    placement: (after) => bridgeProblems(after, plan.nic, plan.bridge, plan.nicMac, plan.stp),
    placed: { step: 'bridge-up', message: `${plan.bridge} is up with ${plan.nic} as its port and ${plan.nic}'s MAC` },
    readBefore: () => context.verification.expectIdentity(plan.nic, plan.bridge, ip),
    // Before the bridge is up, so a guest's first DHCP request already passes.
    prerequisite: () => (plan.firewall ? context.firewall.letThrough(plan.bridge) : Promise.resolve()),
    afterCommit: async () => context.log.info(`${plan.nic} is shared through ${plan.bridge}`),
  };
}

export function unshareChange(context: ChangeContext, backend: SettingsBackend, plan: UnsharePlan, confirmTimeout: number): SharingChange {
  return {
    nic: plan.nic, operation: 'unshare', bridge: plan.bridge, interfaces: [plan.nic, plan.bridge], watched: [plan.nic, plan.bridge],
    rollbackTimeout: plan.rollbackTimeout, confirmTimeout, what: `unshare ${plan.nic}`,
    deadline: context.clock.now() + callSeconds() * 1000 - ROLLBACK_RESERVE_MS,
    apply: (progress, ready) => backend.applyUnshare(plan, progress, ready),
    placement: (after) => unsharedProblems(after, plan.nic, plan.bridge),
    placed: { step: 'nic-restored', message: `${plan.nic} is on its own again and ${plan.bridge} is gone` },
    readBefore: () => context.verification.expectIdentity(plan.bridge, plan.nic),
    prerequisite: () => Promise.resolve(),
    afterCommit: async () => {
      await backend.finishUnshare(plan);
      context.log.info(`${plan.nic} is no longer shared`);
    },
  };
}
