// SPDX-License-Identifier: GPL-2.0-or-later
// The durable record of a change NetworkManager is making for us: what was active before, what we
// added, when it is rolled back. NetworkManager's checkpoint lives only in its memory (gone when it
// restarts, never past a reboot); this record is on disk, written before NetworkManager is touched,
// so whoever comes next (our own transaction, the daemon started after a crash or at boot) can
// finish the change from it alone (nm-recovery.ts). One file per NIC in <state>/nm-changes/.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '../../clock';
import { type Log, errorMessage } from '../../log';
import { ensurePrivateDir, isErrno, PRIVATE_FILE_MODE, readIfExists, removeFile, writeFileAtomic } from '../durable-file';
import * as json from '../json-codec';
import { interfaceNameProblem } from '../../bridge/interface-name';

export type NmChangeState =
  /** Applied or being applied, not verified: rolled back unless our transaction commits it. */
  | 'applying'
  /** Verified, awaiting the user's Confirm: rolled back at `deadline` (or when found after a crash). */
  | 'awaiting-confirmation'
  /** Decided: what is left is to save the profiles and drop the checkpoint. */
  | 'committed';

export interface NmChangeRecord {
  readonly version: 1;
  readonly operation: 'share' | 'unshare';
  readonly nic: string;
  readonly bridge: string;
  readonly state: NmChangeState;
  /** When the change is rolled back unless committed (milliseconds since the epoch). */
  readonly deadline: number;
  /** NetworkManager's checkpoint of it, while that NetworkManager lives ('' before it exists). */
  readonly checkpoint: string;
  /** The UUID of the profile active on the NIC before the change ('' when none). */
  readonly original: string;
  /** The device that carried the host's IPv4 addresses before (the NIC; the bridge for an unshare). */
  readonly addressesOn: string;
  readonly addresses: readonly string[];
  /** UUIDs of the profiles the change added (in memory until the commit): deleted by a rollback. */
  readonly added: readonly string[];
  /** Whether the commit saves the added profiles to disk. */
  readonly persist: boolean;
  /**
   * A routed share's change: the NIC is never touched and its guests' bridge has a data plane of
   * its own, stopped or started again with the bridge. Absent: a bridged share's.
   */
  readonly routed?: {
    /** The guests' bridge's profile an Unshare takes down: what its rollback brings back ('' for a Share). */
    readonly bridgeProfile: string;
  };
  /** The daemon process that wrote it (stamped by write()): while it lives, the record is its own. */
  readonly owner?: ProcessIdentity;
}

/** A process, told apart from a later one with the same pid by when it started. */
export interface ProcessIdentity {
  readonly pid: number;
  /** /proc/PID/stat's starttime, in clock ticks since boot. */
  readonly start: number;
}

/** When process `pid` started (/proc/PID/stat), or undefined when there is no such process. */
export async function processStart(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // After the command name in parentheses (which may hold anything): field 3 on; starttime is field 22.
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isSafeInteger(start) ? start : undefined;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ESRCH')) return undefined;
    throw err;
  }
}

/** Absent, or of its shape: a routed record read as a bridged one would be rolled back wrong. */
function strictlyOptional<T>(codec: json.JsonCodec<T>): json.JsonCodec<T | undefined> {
  return { decode: (value, where) => (value === undefined ? undefined : codec.decode(value, where)) };
}

const interfaceName = json.refine(json.string(), (name) => interfaceNameProblem(name) === undefined, 'is not an interface name');
const recordCodec = json.object<NmChangeRecord>({
  version: json.oneOf(1),
  operation: json.oneOf('share', 'unshare'),
  nic: interfaceName,
  bridge: interfaceName,
  state: json.oneOf('applying', 'awaiting-confirmation', 'committed'),
  deadline: json.integer(0),
  checkpoint: json.string(/^(|\/org\/freedesktop\/NetworkManager\/Checkpoint\/[0-9]+)$/),
  original: json.string(/^[0-9a-fA-F-]*$/),
  addressesOn: interfaceName,
  addresses: json.array(json.string(/^[0-9.]+\/[0-9]+$/)),
  added: json.array(json.string(/^[0-9a-fA-F-]+$/)),
  persist: json.boolean,
  routed: strictlyOptional(json.object<{ bridgeProfile: string }>({ bridgeProfile: json.string(/^[0-9a-fA-F-]*$/) })),
  owner: json.optional(json.object<ProcessIdentity>({ pid: json.integer(1), start: json.integer(0) })),
});

const RECORD_SUFFIX = '.json';

/**
 * The records on disk, and which of them a transaction of this process holds (the others are left
 * over: a previous run died, or NetworkManager restarted under them). Shared by every NmBackend the
 * selector makes, so a change begun under one NetworkManager is known to the next.
 */
export class NmChangeRecords {
  /** Counts NetworkManager's starts as we saw them: a checkpoint belongs to one generation. */
  private generation = 0;
  private present = false;
  private readonly presenceWaiters = new Set<() => void>();
  private readonly held = new Map<string, { readonly generation: number; readonly interrupt: (why: string) => void }>();
  private self: Promise<ProcessIdentity> | undefined;

  constructor(readonly dir: string, private readonly log: Log, private readonly clock: Clock = systemClock) {}

  static directory(stateDir: string): string {
    return join(stateDir, 'nm-changes');
  }

  get currentGeneration(): number {
    return this.generation;
  }

  async write(record: NmChangeRecord): Promise<void> {
    await ensurePrivateDir(this.dir);
    this.self ??= processStart(process.pid).then((start) => ({ pid: process.pid, start: start ?? 0 }));
    const owned: NmChangeRecord = { ...record, owner: await this.self };
    await writeFileAtomic(this.path(record.nic), Buffer.from(`${JSON.stringify(owned, null, 2)}\n`), PRIVATE_FILE_MODE);
  }

  /**
   * Whether another daemon process that is still running owns `record`: one told to stop (SIGTERM,
   * bus activation of the next one meanwhile) finishes its call first, and its record is not a
   * leftover until it is gone.
   */
  async ownedElsewhere(record: NmChangeRecord): Promise<boolean> {
    const owner = record.owner;
    if (owner === undefined || owner.pid === process.pid) return false;
    return (await processStart(owner.pid)) === owner.start;
  }

  /** `nic`'s record as it is on disk now, or undefined when there is none (or it is damaged). */
  async read(nic: string): Promise<NmChangeRecord | undefined> {
    return (await this.list()).find((r) => r.nic === nic);
  }

  async remove(nic: string): Promise<void> {
    await removeFile(this.path(nic));
  }

  async exists(nic: string): Promise<boolean> {
    return (await readIfExists(this.path(nic))) !== undefined;
  }

  /** Every record on disk; one that cannot be read is logged and left where it is, for a human. */
  async list(): Promise<NmChangeRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    const records: NmChangeRecord[] = [];
    for (const name of names.filter((n) => n.endsWith(RECORD_SUFFIX)).sort()) {
      const bytes = await readIfExists(join(this.dir, name));
      if (bytes === undefined) continue;
      try {
        const record = json.parseJson(bytes.toString('utf8'), recordCodec);
        if (`${record.nic}${RECORD_SUFFIX}` !== name) throw new json.JsonShapeError('nic', `is not the file's name ${name}`);
        records.push(record);
      } catch (err) {
        this.log.error(`the change record ${join(this.dir, name)} is damaged and is left alone: ${errorMessage(err)}`);
      }
    }
    return records;
  }

  /** Marks `nic`'s record as this process's; `interrupt` is called if NetworkManager restarts under it. */
  hold(nic: string, interrupt: (why: string) => void): () => void {
    const entry = { generation: this.generation, interrupt };
    this.held.set(nic, entry);
    return () => {
      if (this.held.get(nic) === entry) this.held.delete(nic);
    };
  }

  isHeld(nic: string): boolean {
    return this.held.has(nic);
  }

  /** Whether the checkpoint of a change begun in `generation` still exists (NetworkManager did not restart). */
  sameNetworkManager(generation: number): boolean {
    return this.present && generation === this.generation;
  }

  /** NetworkManager is (back) on the bus: changes begun under an earlier one have lost their checkpoint. */
  networkManagerStarted(): void {
    this.generation += 1;
    this.present = true;
    for (const wake of [...this.presenceWaiters]) wake();
    for (const [nic, entry] of this.held) {
      if (entry.generation < this.generation) entry.interrupt(`NetworkManager restarted during the change of ${nic}, and its checkpoint went with it`);
    }
  }

  networkManagerLeft(): void {
    this.present = false;
  }

  /** Resolves true once NetworkManager is on the bus, false after `timeoutMs`. */
  whenPresent(timeoutMs: number): Promise<boolean> {
    if (this.present) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        cancelTimeout();
        this.presenceWaiters.delete(wake);
        resolve(this.present);
      };
      const cancelTimeout = this.clock.schedule(timeoutMs, wake);
      this.presenceWaiters.add(wake);
    });
  }

  private path(nic: string): string {
    const problem = interfaceNameProblem(nic);
    if (problem !== undefined) throw new Error(`no change record for '${nic}': ${problem}`);
    return join(this.dir, `${nic}${RECORD_SUFFIX}`);
  }
}
