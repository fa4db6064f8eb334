// SPDX-License-Identifier: GPL-2.0-or-later
// The transaction of one change, nmstate's way: open it (an NM checkpoint, the ifcfg snapshot),
// read the host and meet the prerequisite meanwhile, apply, verify against the kernel, then
// commit, or keep it open awaiting Confirm, or roll back and say why.
import { type Log, errorMessage } from '../log';
import type { ChangeEnding } from './change-ending';
import type { ChangeVerification } from './change-verification';
import type { PendingChanges, SharingEvents } from './pending-changes';
import type { Progress } from './progress';
import type { SettingsBackend, Transaction } from './settings-backend';
import { ShareError } from './share-error';
import type { SharingChange } from './sharing-change';
import type { IdentityExpectation } from './verify';

export class ChangeTransaction {
  constructor(
    private readonly verification: ChangeVerification,
    private readonly pending: PendingChanges,
    private readonly ending: ChangeEnding,
    private readonly log: Log,
    private readonly events: SharingEvents,
  ) {}

  async run(backend: SettingsBackend, change: SharingChange): Promise<void> {
    const progress: Progress = (step, message) => this.events.progress(change.nic, step, message);
    // Opening the transaction, reading the host as it is and the prerequisite don't depend on
    // each other, and what the backend does before it touches the NIC (NM: adding the profiles)
    // needs only the transaction. The reading and the prerequisite start processes (each spawn
    // holds this thread ~1 ms): they start once the transaction's request has gone out.
    const opening = backend.begin(change.interfaces, change.rollbackTimeout, { operation: change.operation, nic: change.nic, bridge: change.bridge, routed: change.routed === true });
    const before = nextTurn().then(() => Promise.all([change.readBefore(), change.prerequisite()])).then(([identity]) => identity);
    const ready = before.then(() => undefined);
    // Each is awaited below, maybe later than it fails: not an unhandled rejection meanwhile.
    before.catch(() => undefined);
    ready.catch(() => undefined);
    let tx: Transaction;
    try {
      tx = await opening;
    } catch (err) {
      // The prerequisite's processes end before what they did is undone.
      await before.catch(() => undefined);
      await this.ending.notBegun(change);
      throw err;
    }
    progress('checkpoint', `${backend.description.safetyNet} taken; undone by itself in ${change.rollbackTimeout} s unless verified`);
    let failure = '';
    let refusal: ShareError | undefined;
    let committed: IdentityExpectation | undefined;
    try {
      await change.apply(progress, ready);
      const identity = await before;
      const left = await this.verification.verify(change, identity, progress, tx.interrupted);
      if (left.length === 0) {
        if (change.confirmTimeout !== 0) {
          await this.pending.keepOpen(change, identity, tx);
          return;
        }
        await tx.commit();
        committed = identity;
      } else {
        failure = `the result could not be verified: ${left.join('; ')}`;
      }
    } catch (err) {
      // When the reading or the prerequisite failed, that is the reason, whatever apply made of it.
      const reason = await before.then(() => err, (beforeErr: unknown) => {
        if (beforeErr instanceof ShareError) refusal = beforeErr;
        return beforeErr;
      });
      failure = errorMessage(reason);
    }
    if (committed !== undefined) {
      progress('committed', `${change.what}: done`);
      await this.ending.committed(change, committed);
      return;
    }
    this.log.warn(`${change.what} failed, rolling back: ${failure}`);
    const unrestored = await this.ending.rollBack(tx, change);
    progress('rolled-back', `${change.what} failed and was undone${unrestored === '' ? '' : ' in part'}: ${failure}`);
    if (unrestored !== '') {
      // Not everything is as it was: not RolledBack ("everything was put back") but Failed, with what is left.
      throw new ShareError('Failed', `could not ${change.what}, and the rollback could not restore everything: ${unrestored}. Reason: ${failure}`, `check ${change.interfaces.join(' and ')} by hand`);
    }
    // Refused before the NIC was touched (the firewall's rule could not go in), and all is as it
    // was: the refusal is the answer, with its own code and hint.
    if (refusal !== undefined) throw refusal;
    throw new ShareError('RolledBack', `could not ${change.what}; everything was put back as it was. Reason: ${failure}`);
  }
}

/** Resolves after the I/O already due: a request written now goes out before what follows (a turn of the event loop, not a span of time: no Clock). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
