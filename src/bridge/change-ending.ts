// SPDX-License-Identifier: GPL-2.0-or-later
// How a change ends, whether at once or after awaiting Confirm: the rollback and what it could
// not restore, or the commit and what follows it (the change's own last steps, our firewall rules
// when the bridge is gone, following the IPv6 addresses left to come).
import { type Log, errorMessage } from '../log';
import type { ChangeFirewall } from './change-firewall';
import type { Ipv6FollowUp } from './ipv6-follow-up';
import type { Transaction } from './settings-backend';
import { ShareError } from './share-error';
import type { SharingChange } from './sharing-change';
import type { IdentityExpectation } from './verify';

export class ChangeEnding {
  constructor(
    private readonly firewall: ChangeFirewall,
    private readonly followUp: Ipv6FollowUp,
    private readonly log: Log,
  ) {}

  /** Rolls the transaction back; says what could not be restored ('' when everything was). */
  async rollBack(tx: Transaction, change: SharingChange): Promise<string> {
    let unrestored: readonly string[];
    try {
      unrestored = await tx.rollback();
    } catch (err) {
      unrestored = [errorMessage(err)];
    }
    await this.firewall.changeEnded(change, false);
    if (unrestored.length === 0) return '';
    const left = unrestored.join('; ');
    this.log.error(`${change.what}: the rollback could not restore everything: ${left}`);
    return left;
  }

  /** A change that never began (its transaction could not be opened): nothing of it may be left. */
  async notBegun(change: SharingChange): Promise<void> {
    await this.firewall.changeEnded(change, false);
  }

  /**
   * Past the commit there is no transaction to roll back: what is left to do fails on its own,
   * as Failed saying the change itself was made.
   */
  async committed(change: SharingChange, identity: IdentityExpectation): Promise<void> {
    try {
      await change.afterCommit();
    } catch (err) {
      this.log.error(`${change.what}: done and verified, but what follows it failed: ${errorMessage(err)}`);
      throw new ShareError('Failed', `${change.what} was done and verified, but what follows it failed: ${errorMessage(err)}`, 'ask for it again to finish it');
    } finally {
      await this.firewall.changeEnded(change, true);
    }
    this.followUp.follow(change.nic, identity);
  }
}
