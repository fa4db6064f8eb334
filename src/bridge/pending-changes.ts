// SPDX-License-Identifier: GPL-2.0-or-later
// The confirm lifecycle: a verified change with a confirm-timeout stays open under its
// transaction until Confirm commits it, or Rollback, its deadline or the daemon's exit rolls it
// back. The deadline's timer runs on the injected Clock.
import type { Cancel, Clock } from '../clock';
import { type Log, errorMessage } from '../log';
import type { ChangeEnding } from './change-ending';
import type { ChangeLocks } from './change-locks';
import { validateInterfaceName } from './interface-name';
import type { ProgressStep } from './progress';
import type { Transaction } from './settings-backend';
import { ShareError } from './share-error';
import type { ChangeOperation, SharingChange } from './sharing-change';
import type { IdentityExpectation } from './verify';

/** A verified change that awaits the user's Confirm (or its deadline, then it is rolled back). */
export interface PendingChange {
  readonly operation: ChangeOperation;
  readonly bridge: string;
  /** When it is rolled back unless confirmed: milliseconds since the epoch (CLOCK_REALTIME). */
  readonly deadline: number;
}

/** What the domain tells its adapter while it works, outside of any reply. */
export interface SharingEvents {
  progress(nic: string, step: ProgressStep, message: string): void;
  /** The set of pending changes changed (also by a timer, outside any call). */
  pendingChanged(): void;
}

interface OpenChange extends PendingChange {
  readonly change: SharingChange;
  readonly identity: IdentityExpectation;
  readonly tx: Transaction;
  readonly cancelDeadline: Cancel;
}

// The backend's own timer (NM's checkpoint) is set this much later than ours, so ours rolls back
// first while we live, and NetworkManager's when we are gone.
export const BACKEND_CONFIRM_MARGIN_SECONDS = 5;

export class PendingChanges {
  /** By NIC; each still under its transaction. */
  private readonly open = new Map<string, OpenChange>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Log,
    private readonly events: SharingEvents,
    private readonly locks: ChangeLocks,
    private readonly ending: ChangeEnding,
  ) {}

  list(): ReadonlyMap<string, PendingChange> {
    return new Map([...this.open].map(([nic, { operation, bridge, deadline }]) => [nic, { operation, bridge, deadline }]));
  }

  /** One change awaiting Confirm, if any (transactions take turns: there is at most one). */
  awaiting(): { readonly nic: string; readonly operation: ChangeOperation } | undefined {
    const [first] = this.open;
    return first === undefined ? undefined : { nic: first[0], operation: first[1].operation };
  }

  /** Throws NotPending unless a change of `nic` awaits Confirm. */
  require(nic: string): void {
    validateInterfaceName(nic);
    if (!this.open.has(nic)) {
      throw new ShareError('NotPending', `no change of ${nic} awaits confirmation`, 'it was confirmed or rolled back already, or was made without a confirm-timeout');
    }
  }

  /** Keeps a verified change open until Confirm, Rollback or its deadline. */
  async keepOpen(change: SharingChange, identity: IdentityExpectation, tx: Transaction): Promise<void> {
    await tx.keep(change.confirmTimeout + BACKEND_CONFIRM_MARGIN_SECONDS);
    // The deadline clients see is wall-clock time (CLOCK_REALTIME), whatever clock the timer runs on.
    const deadline = Date.now() + change.confirmTimeout * 1000;
    const cancelDeadline = this.clock.schedule(change.confirmTimeout * 1000, () => {
      void this.settle(change.nic, 'rollback', `not confirmed within ${change.confirmTimeout} s`).catch((err: unknown) => {
        this.log.error(`rolling back the unconfirmed change of ${change.nic}: ${errorMessage(err)}`);
      });
    });
    this.open.set(change.nic, { operation: change.operation, bridge: change.bridge, deadline, change, identity, tx, cancelDeadline });
    this.log.info(`${change.what}: verified; awaiting confirmation for ${change.confirmTimeout} s`);
    this.events.progress(change.nic, 'awaiting-confirmation', `${change.what}: verified; call Confirm within ${change.confirmTimeout} s or it is rolled back`);
    this.events.pendingChanged();
  }

  /** Ends a pending change: commits it (Confirm) or rolls it back (Rollback, its deadline, exit). */
  async settle(nic: string, how: 'commit' | 'rollback', why: string): Promise<void> {
    const open = this.open.get(nic);
    // The deadline and a Confirm can race: whichever comes second finds nothing pending.
    if (open === undefined) throw new ShareError('NotPending', `no change of ${nic} awaits confirmation any more`);
    this.open.delete(nic);
    open.cancelDeadline();
    const { change, identity, tx } = open;
    try {
      await this.locks.holding([change.nic, change.bridge], async () => {
        if (how === 'commit') {
          await tx.commit();
          this.events.progress(nic, 'committed', `${change.what}: ${why}`);
          await this.ending.committed(change, identity);
          return;
        }
        this.log.warn(`${change.what}: ${why}; rolling back`);
        const unrestored = await this.ending.rollBack(tx, change);
        this.log.info(`${change.what}: rolled back`);
        this.events.progress(nic, 'rolled-back', unrestored === ''
          ? `${change.what}: ${why}; everything was put back as it was`
          : `${change.what}: ${why}; the rollback could not restore everything: ${unrestored}`);
        if (unrestored !== '') {
          throw new ShareError('Failed', `${change.what} was rolled back, but not everything could be restored: ${unrestored}`, `check ${change.interfaces.join(' and ')} by hand`);
        }
      });
    } finally {
      this.events.pendingChanged();
    }
  }

  /** Rolls back every pending change (the daemon is stopping: nobody would be left to confirm them). */
  async rollbackAll(why: string): Promise<void> {
    await Promise.all([...this.open.keys()].map((nic) => this.settle(nic, 'rollback', why).catch((err: unknown) => {
      this.log.error(`rolling back the pending change of ${nic}: ${errorMessage(err)}`);
    })));
  }
}
