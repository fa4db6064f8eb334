// SPDX-License-Identifier: GPL-2.0-or-later
// Which NICs and bridge names have a change in progress. A second change of either is Busy at
// once: waiting behind the first would take it past its own deadline.
import { ShareError } from './share-error';

/** The change awaiting the user's Confirm, if any: it holds its transaction until answered. */
export type AwaitingConfirmation = () => { readonly nic: string; readonly operation: string } | undefined;

export class ChangeLocks {
  private readonly busy = new Set<string>();

  constructor(private readonly awaitingConfirmation: AwaitingConfirmation) {}

  /** Throws Busy if any of `names` is held, or if a change awaits confirmation. */
  check(names: readonly string[]): void {
    for (const name of names) {
      if (this.busy.has(name)) throw new ShareError('Busy', `another change of ${name} is in progress`, 'try again when it has finished, or choose another bridge name');
    }
    // A change awaiting confirmation holds its transaction, and transactions take turns (an NM
    // checkpoint, the ifcfg journal): any other change would wait for the answer, past its own
    // deadline. Say so at once instead.
    const awaiting = this.awaitingConfirmation();
    if (awaiting !== undefined) {
      const { nic, operation } = awaiting;
      throw new ShareError('Busy', `the ${operation} of ${nic} awaits confirmation; changes are made one at a time until it is confirmed or rolled back`, `confirm it or roll it back first: shared-interface confirm ${nic}, or shared-interface rollback ${nic} (D-Bus: Confirm or Rollback); shared-interface pending shows its deadline`);
    }
  }

  /** Checks `names`, then holds them while `work` runs. */
  async exclusively<T>(names: readonly string[], work: () => Promise<T>): Promise<T> {
    this.check(names);
    return this.holding(names, work);
  }

  /** Holds `names` while `work` runs, without the check: for the owner of a pending change ending it. */
  async holding<T>(names: readonly string[], work: () => Promise<T>): Promise<T> {
    for (const name of names) this.busy.add(name);
    try {
      return await work();
    } finally {
      for (const name of names) this.busy.delete(name);
    }
  }
}
