// SPDX-License-Identifier: GPL-2.0-or-later
// A change under a NetworkManager checkpoint, with its record on disk: one checkpoint at a time,
// kept (awaiting confirmation), committed or rolled back, from the checkpoint while NetworkManager
// still has it and from the record alone once it restarted.
import type { Clock } from '../../clock';
import { type Log, errorMessage } from '../../log';
import type { HostSnapshot } from '../../bridge/host-network';
import type { ChangeSummary, Transaction } from '../../bridge/settings-backend';
import { ShareError } from '../../bridge/share-error';
import type { NmChangeRecord, NmChangeRecords } from './nm-change-record';
import { CHECKPOINT_DELETE_NEW_CONNECTIONS, type NmClient } from './nm-client';
import { deviceAddresses, deviceNamed, nmDevice, type NmDevice, NM_DEVICE } from './nm-devices';
import type { NmObjectCache } from './nm-object-cache';
import type { NmProfileStore } from './nm-profile-store';
import { ourTag } from './nm-profile-owner';
import { commitFromRecord, reportOutcome, rollBackFromRecord } from './nm-recovery';
import { connectionUuid, type NmSettings } from './nm-settings';

// NMRollbackResult: what CheckpointRollback says of each device.
const ROLLBACK_OK = 0;
const ROLLBACK_RESULTS: Readonly<Record<number, string>> = { 1: 'the device is gone', 2: 'the device is no longer managed', 3: 'restoring it failed' };

export class NmChangeTransactions {
  private checkpointTurn: Promise<void> = Promise.resolve();
  /** The record of each change in progress, by NIC: what applyShare/applyUnshare add goes into it first. */
  private readonly changing = new Map<string, (added: readonly string[], persist: boolean) => Promise<void>>();

  /** `sharesNow` says which NICs are shared now, and which of them routed. */
  constructor(
    private readonly cache: NmObjectCache,
    private readonly client: NmClient,
    private readonly log: Log,
    private readonly records: NmChangeRecords,
    private readonly clock: Clock,
    private readonly profiles: NmProfileStore,
    private readonly sharesNow: () => Pick<HostSnapshot, 'shared' | 'routed'>,
  ) {}

  /** Whether a change of `nic` is in progress. */
  isChanging(nic: string): boolean {
    return this.changing.has(nic);
  }

  /** Notes in the change's record, before NetworkManager has them, the profiles about to be added. */
  async noteAdded(nic: string, profiles: readonly NmSettings[], persist = true): Promise<void> {
    await this.changing.get(nic)?.(profiles.map((p) => connectionUuid(p)), persist);
  }

  async begin(interfaces: readonly string[], rollbackTimeoutSeconds: number, change: ChangeSummary): Promise<Transaction> {
    // One checkpoint at a time: rolling back DELETE_NEW_CONNECTIONS deletes every profile made
    // since its checkpoint, so a second change's new profiles would go with the first's rollback.
    // Changes of different NICs wait their turn here (a few seconds) rather than being refused.
    const previous = this.checkpointTurn;
    let release = (): void => undefined;
    this.checkpointTurn = new Promise((resolve) => { release = resolve; });
    await previous;
    const { nic } = change;
    let releaseRecord = (): void => undefined;
    const finish = () => {
      releaseRecord();
      this.changing.delete(nic);
      release();
    };
    try {
      if (this.records.isHeld(nic) || await this.records.exists(nic)) {
        throw new ShareError('Busy', `an earlier change of ${nic} is still being finished`, 'try again in a few seconds');
      }
      // Written before NetworkManager is touched: what to bring back, whatever happens next.
      let record = this.changeRecord(change, rollbackTimeoutSeconds);
      let writing: Promise<void> = Promise.resolve();
      const update = (changes: Partial<NmChangeRecord>): Promise<void> => {
        record = { ...record, ...changes };
        const snapshot = record;
        writing = writing.catch(() => undefined).then(() => this.records.write(snapshot));
        return writing;
      };
      await this.records.write(record);
      let interrupt = (_why: string): void => undefined;
      const interrupted = new Promise<string>((resolve) => { interrupt = resolve; });
      const generation = this.records.currentGeneration;
      releaseRecord = this.records.hold(nic, (why) => interrupt(why));
      this.changing.set(nic, (added, persist) => update({ added: [...record.added, ...added], persist }));
      const what = `${change.operation} ${nic}`;
      // A bridge taken down by hand is unrealized: CheckpointCreate refuses such a device, and
      // there is nothing of it to restore. Nor does a checkpoint name the bridge a NIC is shared
      // through: Unshare deletes it, NM 1.42 then fails to restore the device itself ("restoring it
      // failed"), while restoring the NIC's port profile brings its bridge back anyway.
      // A routed share's bridge is no port's: it is named, and restored by the checkpoint.
      const { shared: sharedNow, routed: routedNow } = this.sharesNow();
      const ourBridges = new Set([...sharedNow].filter(([nic]) => interfaces.includes(nic) && routedNow?.has(nic) !== true).map(([, bridge]) => bridge));
      const devices = interfaces.map((name) => deviceNamed(this.cache, name))
        .filter((d): d is NmDevice => d !== undefined && d.real && !ourBridges.has(d.name))
        .map((d) => d.path);
      // With our new profiles deleted on rollback (and by NM itself if we die), the bridge goes too.
      const checkpoint = await this.client.checkpointCreate(devices, rollbackTimeoutSeconds, CHECKPOINT_DELETE_NEW_CONNECTIONS);
      await update({ checkpoint });
      // Verified under a NetworkManager that restarted since (or is gone): its checkpoint went with
      // it, and what was verified is no longer what was applied under it; undone like any failure.
      const stillUnderCheckpoint = () => {
        if (record.state === 'applying' && !this.records.sameNetworkManager(generation)) {
          throw new ShareError('Failed', `NetworkManager restarted during the change of ${nic}, and its checkpoint went with it`);
        }
      };
      return {
        interrupted,
        keep: async (seconds) => {
          stillUnderCheckpoint();
          await update({ state: 'awaiting-confirmation', deadline: Date.now() + seconds * 1000 });
          // Counts from now: if we die while a change awaits confirmation, NM rolls it back.
          if (this.records.sameNetworkManager(generation)) await this.client.checkpointAdjustRollbackTimeout(checkpoint, seconds);
        },
        commit: async () => {
          stillUnderCheckpoint();
          try {
            // The decision is on disk first: a crash from here on finishes the commit.
            await update({ state: 'committed' });
            const outcome = await commitFromRecord(this.client, this.records, record, this.records.sameNetworkManager(generation), this.clock);
            if (outcome.unrestored.length > 0) throw new ShareError('Failed', `${what} was made, but not all of it is saved: ${outcome.unrestored.join('; ')}`, 'ask for it again to finish it');
          } finally {
            finish();
          }
        },
        rollback: async () => {
          try {
            if (this.records.sameNetworkManager(generation)) {
              try {
                const results = await this.client.checkpointRollback(checkpoint);
                await this.records.remove(nic);
                return [...results].filter(([, result]) => result !== ROLLBACK_OK).map(([path, result]) => this.unrestoredDevice(path, result));
              } catch (err) {
                this.log.warn(`${what}: the checkpoint could not be rolled back (${errorMessage(err)}); rolling back from the record`);
              }
            }
            // NetworkManager restarted (the checkpoint went with it): the record alone says what to undo.
            const outcome = await rollBackFromRecord(this.client, this.records, record, false, this.clock);
            reportOutcome(this.log, what, outcome);
            return [...outcome.unrestored, ...outcome.problems];
          } finally {
            this.profiles.forgetDeleted();
            finish();
          }
        },
      };
    } catch (err) {
      // Not begun: nothing was touched but the record, which is taken back with it.
      if (this.changing.has(nic)) await this.records.remove(nic).catch(() => undefined);
      finish();
      throw err;
    }
  }

  /** The record of a change about to begin: what is active and addressed now. */
  private changeRecord(change: ChangeSummary, rollbackTimeoutSeconds: number): NmChangeRecord {
    const nicDevice = deviceNamed(this.cache, change.nic);
    const original = nicDevice === undefined ? undefined : this.profiles.activeOn(nicDevice);
    // A routed share leaves the host's addresses on the NIC throughout.
    const addressesOn = change.operation === 'share' || change.routed ? change.nic : change.bridge;
    const bridgeProfile = change.operation === 'unshare' ? [...this.profiles.entries()].find(([, s]) => ourTag(s)?.role === 'routed' && ourTag(s)?.nic === change.nic)?.[1] : undefined;
    const carrier = deviceNamed(this.cache, addressesOn);
    return {
      version: 1, operation: change.operation, nic: change.nic, bridge: change.bridge, state: 'applying',
      deadline: Date.now() + rollbackTimeoutSeconds * 1000, checkpoint: '',
      original: original === undefined ? '' : connectionUuid(original.settings),
      addressesOn, addresses: carrier === undefined ? [] : deviceAddresses(this.cache, carrier.path).filter((a) => !a.includes(':')),
      added: [], persist: true,
      ...(change.routed ? { routed: { bridgeProfile: bridgeProfile === undefined ? '' : connectionUuid(bridgeProfile) } } : {}),
    };
  }

  /** A device CheckpointRollback reports as not restored, in words. */
  private unrestoredDevice(path: string, result: number): string {
    const name = (this.cache.get(path)?.has(NM_DEVICE) === true ? nmDevice(this.cache, path).name : '') || path;
    return `NetworkManager could not restore ${name} (${ROLLBACK_RESULTS[result] ?? `result ${result}`})`;
  }
}
