// SPDX-License-Identifier: GPL-2.0-or-later
// One change of the ifcfg backend, from the snapshot to commit or rollback: what NetworkManager's
// checkpoint is to the NM backend. It holds the state directory's lock and its journal for as long
// as it is open, and rolls itself back when neither commit nor rollback came in time.
import type { Transaction } from '../../bridge/settings-backend';
import type { Cancel, Clock } from '../../clock';
import { ShareError } from '../../bridge/share-error';
import { isErrno } from '../durable-file';
import { FileJournal, lockStateDir } from '../file-journal';
import { translateIfcfgError } from './ifcfg-share-error';

const EXPIRED = 'the change took longer than its rollback timeout and was undone';

export class IfcfgTransaction implements Transaction {
  private done = false;
  private cancelExpiry: Cancel | undefined;
  /** The apply in progress: the expiry timer waits for it rather than undo files being written. */
  private applying: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly clock: Clock,
    readonly journal: FileJournal,
    private readonly interfaces: readonly string[],
    private readonly undo: (journal: FileJournal) => Promise<readonly string[]>,
    private readonly finish: () => void,
  ) {}

  /**
   * Waits for the state directory's previous change to end, then starts a journal tracking
   * `paths` before anything touches them. `undo` restores a journal (rollback, expiry); `finish`
   * runs once the transaction has ended either way, after the lock is released.
   */
  static async begin(
    clock: Clock, stateDir: string, roots: readonly string[], interfaces: readonly string[], paths: readonly string[],
    undo: (journal: FileJournal) => Promise<readonly string[]>, finish: () => void,
  ): Promise<IfcfgTransaction> {
    const release = await lockStateDir(stateDir);
    try {
      let journal: FileJournal;
      try {
        journal = await FileJournal.create(stateDir, roots);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
        throw new ShareError('Failed', `an earlier change was not finished and could not be undone (${FileJournal.directory(stateDir)} is still there)`, 'restart the service to restore it, or see its log');
      }
      await journal.track(paths);
      return new IfcfgTransaction(clock, journal, interfaces, undo, () => {
        finish();
        release();
      });
    } catch (err) {
      release();
      throw translateIfcfgError(err, 'cannot take a snapshot of the ifcfg files');
    }
  }

  /** Like an NM checkpoint: rolled back by itself when neither commit nor rollback came in time. */
  expireAfter(seconds: number): void {
    this.cancelExpiry?.();
    // In the background: a daemon exiting leaves the journal, and its next start undoes it.
    this.cancelExpiry = this.clock.schedule(seconds * 1000, () => {
      void this.applying.catch(() => undefined).then(() => this.rollback()).catch(() => {
        // rollback() failed to put the files back: the journal stays for the next start
      });
    }, { background: true });
  }

  /**
   * Awaiting confirmation: expires `seconds` from now instead. The journal stays on disk, so a
   * daemon that dies meanwhile restores it when it next starts (recoverIfcfgChanges).
   */
  async keep(seconds: number): Promise<void> {
    if (this.done) throw new ShareError('Failed', EXPIRED);
    this.expireAfter(seconds);
  }

  /** Runs one apply step of this transaction, so that expiry cannot interleave with it. */
  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.done) return Promise.reject(new ShareError('Failed', EXPIRED));
    const p = work();
    this.applying = p;
    return p;
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.cancelExpiry?.();
    try {
      await this.journal.discard();
    } finally {
      this.finish();
    }
  }

  /**
   * Restores every file or throws (what could not be restored is in the error); returns what of
   * the running system could not be put back (the files are, so a reboot would be).
   */
  async rollback(): Promise<readonly string[]> {
    if (this.done) return [];
    this.done = true;
    this.cancelExpiry?.();
    try {
      return await this.undo(this.journal);
    } catch (err) {
      throw translateIfcfgError(err, `could not put ${this.interfaces.join(' and ')} back as they were`);
    } finally {
      this.finish();
    }
  }
}
