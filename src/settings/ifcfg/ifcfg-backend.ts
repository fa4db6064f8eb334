// SPDX-License-Identifier: GPL-2.0-or-later
// The ifcfg backend: sharing where NetworkManager is absent, through initscripts' ifcfg files.
// Share writes ifcfg-<bridge> and rewrites ifcfg-<nic> (ifcfg-translate.ts), keeps the NIC's
// original file in our state directory for as long as it is shared (ifcfg-state.ts), and applies
// the change live (ifcfg-live-initscripts.ts, or the host's tools). Every change runs as a
// transaction under a journal (ifcfg-transaction.ts) that restores the files and the live state
// on rollback, or when the daemon next starts if it died in between (ifcfg-recovery.ts).
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cancel, Clock } from '../../clock';
import type { Progress } from '../../bridge/progress';
import type { HostSnapshot } from '../../bridge/host-network';
import type { SettingsBackend, Transaction } from '../../bridge/settings-backend';
import { ShareError } from '../../bridge/share-error';
import type { SharePlan, UnsharePlan } from '../../bridge/share-plan';
import type { IpRequirements } from '../../bridge/verify';
import type { ConfiguredInterface } from '../../bridge/interface-config';
import { type Log, errorMessage } from '../../log';
import { readIfExists, removeFile, writeFileAtomic } from '../durable-file';
import type { FileJournal } from '../file-journal';
import { hostInterfacesFromIp, sysfsWireless } from '../host-tools/kernel-interfaces';
import { captureIpConfig } from '../host-tools/ip-config';
import type { LiveApplier } from '../host-tools/live-applier';
import { KernelObserver, readIpState } from '../kernel-observer';
import { decodeIfcfgText, readIfcfgDirectory, readSharedMap, writeShvarFile } from './ifcfg-files';
import { ifcfgConfiguredInterface } from './ifcfg-interface-config';
import { chooseLiveApplier, restoreJournal } from './ifcfg-recovery';
import { translateIfcfgError } from './ifcfg-share-error';
import { parseShvar, shvarGet, type ShvarFile } from './ifcfg-shvar';
import { journalRoots, ShareRecords, type IfcfgConfig, type LiveRestore, type ShareRecord } from './ifcfg-state';
import { IfcfgTransaction } from './ifcfg-transaction';
import { readIfcfgIpConfig } from './ifcfg-ip-reader';
import { translateIfcfgShare, type IfcfgShareFiles } from './ifcfg-translate';
import { configFileName } from './ifcfg-validate';

const REFRESH_DEBOUNCE_MS = 100;

export class IfcfgBackend implements SettingsBackend {
  readonly description = { name: 'ifcfg', safetyNet: 'snapshot of the ifcfg files' };
  private readonly listeners: Array<() => void> = [];
  private cached: HostSnapshot = { interfaces: [], shared: new Map() };
  private cachedKey = '';
  private refreshing: Promise<void> = Promise.resolve();
  private cancelRefresh: Cancel | undefined;
  private stopMonitor: (() => void) | undefined;
  private watcher: FSWatcher | undefined;
  private readonly open = new Map<string, IfcfgTransaction>();
  private readonly records: ShareRecords;
  private closed = false;

  private constructor(
    private readonly config: IfcfgConfig,
    private readonly live: LiveApplier,
    private readonly log: Log,
    private readonly clock: Clock,
  ) {
    this.records = new ShareRecords(config.stateDir);
  }

  static async start(config: IfcfgConfig, log: Log, clock: Clock): Promise<IfcfgBackend> {
    const backend = new IfcfgBackend(config, chooseLiveApplier(config, log), log, clock);
    log.info(`ifcfg backend: files in ${config.ifcfgDir}, state in ${config.stateDir}, live changes with ${backend.live.name}`);
    await backend.refresh();
    backend.watch();
    return backend;
  }

  snapshot(): HostSnapshot {
    return this.cached;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async configuration(name: string): Promise<ConfiguredInterface | undefined> {
    const files = new Map<string, ShvarFile>();
    // One unreadable file doesn't hide the others; it describes nothing.
    const unreadable = (fileName: string, why: string) => this.log.info(`ifcfg backend: ${fileName} is not readable as an ifcfg file: ${why}`);
    for (const { fileName, device, file } of await readIfcfgDirectory(this.config.ifcfgDir, unreadable)) {
      try {
        files.set(shvarGet(file, 'DEVICE') || device, file);
      } catch (err) {
        unreadable(fileName, errorMessage(err));
      }
    }
    const macs = new Map(this.cached.interfaces.map((i) => [i.name, i.mac]));
    try {
      return ifcfgConfiguredInterface(name, files, (n) => macs.get(n));
    } catch (err) {
      throw translateIfcfgError(err, `cannot read the configuration of ${name}`);
    }
  }

  async checkShare(plan: SharePlan): Promise<IpRequirements> {
    const doing = `cannot share ${plan.nic} with ifcfg files`;
    try {
      if (!plan.persist) {
        throw new ShareError('NotSupported', `${doing}: initscripts have no configuration that is not kept on disk`, "share without the option 'persist' set to false");
      }
      const { files } = await this.translate(plan);
      if (await readIfExists(this.path(files.bridgeFileName)) !== undefined) {
        throw new ShareError('InvalidArgs', `${doing}: ${this.path(files.bridgeFileName)} already exists`, 'choose another bridge name');
      }
      for (const kind of ['route', 'route6'] as const) {
        const routes = this.path(configFileName(kind, plan.nic));
        if (existsSync(routes)) {
          throw new ShareError('NotSupported', `${doing}: ${routes} holds routes of ${plan.nic}, which this service does not move to the bridge`, `move those routes into ${configFileName(kind, plan.bridge)} yourself, or remove the file, then share again`);
        }
      }
      const bridgeIp = readIfcfgIpConfig(parseShvar(files.bridgeText));
      if (bridgeIp.dhcp && !this.live.canDhcp()) {
        throw new ShareError('NotSupported', `${doing}: ${plan.nic} uses DHCP and no DHCP client is installed`, 'install dhclient or busybox (udhcpc)');
      }
      return { ipv4Dhcp: bridgeIp.dhcp, ipv6Required: bridgeIp.ipv6FailureFatal };
    } catch (err) {
      throw translateIfcfgError(err, doing);
    }
  }

  async begin(interfaces: readonly string[], rollbackTimeoutSeconds: number): Promise<Transaction> {
    const paths = interfaces.flatMap((i) => [this.path(configFileName('ifcfg', i)), this.records.path(i)]);
    const tx: IfcfgTransaction = await IfcfgTransaction.begin(this.clock, this.config.stateDir, journalRoots(this.config), interfaces, paths, (journal) => this.undo(journal), () => {
      for (const i of interfaces) if (this.open.get(i) === tx) this.open.delete(i);
    });
    for (const i of interfaces) this.open.set(i, tx);
    tx.expireAfter(rollbackTimeoutSeconds);
    return tx;
  }

  async applyShare(plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
    // Writing the files changes nothing live, but a rollback would then have them to restore.
    await ready;
    const tx = this.transactionOf(plan.nic);
    await tx.run(() => this.share(tx, plan, progress));
  }

  private async share(tx: IfcfgTransaction, plan: SharePlan, progress: Progress): Promise<void> {
    try {
      const { files, nicBytes, nicMode } = await this.translate(plan);
      const bridgeIp = readIfcfgIpConfig(parseShvar(files.bridgeText));
      // The live configuration moves as it is; the files say whether it comes from DHCP.
      const config = captureIpConfig(await readIpState(), plan.nic, bridgeIp.dhcp);
      const bridgePath = this.path(files.bridgeFileName);
      const nicPath = this.path(files.nicFileName);
      await tx.journal.track([bridgePath, nicPath, this.records.path(plan.nic)]);
      const before: LiveRestore = { shape: 'unshared', nic: plan.nic, bridge: plan.bridge, config };
      await tx.journal.setLiveState(before);
      const record: ShareRecord = {
        version: 1, nic: plan.nic, bridge: plan.bridge, mac: plan.nicMac, stp: plan.stp, forwardDelay: plan.forwardDelay,
        nicFile: nicBytes === undefined ? null : { bytes: nicBytes.toString('base64'), mode: nicMode },
        config,
      };
      await this.records.write(record);
      // The bridge's file first: a port file never names a bridge that has none.
      await writeShvarFile(bridgePath, files.bridgeText);
      await writeShvarFile(nicPath, files.nicText);
      this.log.info(`wrote ${files.bridgeFileName} and ${files.nicFileName}; applying with ${this.live.name}`);
      progress('profiles-added', `wrote ${files.bridgeFileName} and ${files.nicFileName}`);
      await this.live.toShared({ nic: plan.nic, bridge: plan.bridge, mac: plan.nicMac, stp: plan.stp, forwardDelay: plan.forwardDelay, config });
    } catch (err) {
      throw translateIfcfgError(err, `sharing ${plan.nic}`);
    } finally {
      await this.refresh();
    }
  }

  async applyUnshare(plan: UnsharePlan, _progress: Progress, ready: Promise<void>): Promise<void> {
    await ready;
    const tx = this.transactionOf(plan.nic);
    await tx.run(() => this.unshare(tx, plan));
  }

  private async unshare(tx: IfcfgTransaction, plan: UnsharePlan): Promise<void> {
    try {
      const record = await this.records.read(plan.nic);
      if (record === undefined || record.bridge !== plan.bridge) {
        throw new ShareError('Failed', `the copy of ${plan.nic}'s original ifcfg file is missing from ${this.records.path(plan.nic)}`, `restore ${configFileName('ifcfg', plan.nic)} by hand and remove ${configFileName('ifcfg', plan.bridge)}`);
      }
      // What the bridge carries now goes back to the NIC; DHCP if the NIC had it before.
      const now = captureIpConfig(await readIpState(), plan.bridge, record.config.dhcp);
      const bridgePath = this.path(configFileName('ifcfg', plan.bridge));
      const nicPath = this.path(configFileName('ifcfg', plan.nic));
      await tx.journal.track([bridgePath, nicPath, this.records.path(plan.nic)]);
      const before: LiveRestore = { shape: 'shared', nic: plan.nic, bridge: plan.bridge, mac: record.mac, stp: record.stp, forwardDelay: record.forwardDelay, config: now };
      await tx.journal.setLiveState(before);
      // The port's file first, so it never names a bridge whose file is gone.
      if (record.nicFile === null) await removeFile(nicPath);
      else await writeFileAtomic(nicPath, Buffer.from(record.nicFile.bytes, 'base64'), record.nicFile.mode);
      await removeFile(bridgePath);
      this.log.info(`restored ${configFileName('ifcfg', plan.nic)}, removed ${configFileName('ifcfg', plan.bridge)}; applying with ${this.live.name}`);
      await this.live.toUnshared({ nic: plan.nic, bridge: plan.bridge, config: now });
    } catch (err) {
      throw translateIfcfgError(err, `unsharing ${plan.nic}`);
    } finally {
      await this.refresh();
    }
  }

  /** After a verified, committed unshare: the NIC's original file is back, so our copy goes. */
  async finishUnshare(plan: UnsharePlan): Promise<void> {
    try {
      await this.records.remove(plan.nic);
    } catch (err) {
      throw translateIfcfgError(err, `forgetting the original files of ${plan.nic}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRefresh?.();
    this.watcher?.close();
    this.stopMonitor?.();
    await this.refreshing;
  }

  /** Undoes a journal's change: files byte for byte, then the live state it recorded; returns what the running system could not be put back to. */
  private async undo(journal: FileJournal): Promise<readonly string[]> {
    const unrestored = await restoreJournal(journal, this.live, this.log);
    await this.refresh();
    return unrestored;
  }

  // -------------------------------------------------------------------------------------------

  private async translate(plan: SharePlan): Promise<{ files: IfcfgShareFiles; nicBytes: Buffer | undefined; nicMode: number }> {
    const nicName = configFileName('ifcfg', plan.nic);
    const nicBytes = await readIfExists(this.path(nicName));
    const nicFile: ShvarFile | undefined = nicBytes === undefined ? undefined : parseShvar(decodeIfcfgText(nicBytes, nicName));
    const files = translateIfcfgShare({ nicFile, nic: plan.nic, nicMac: plan.nicMac, bridge: plan.bridge, stp: plan.stp, forwardDelay: plan.forwardDelay });
    const nicMode = nicBytes === undefined ? 0o644 : (await stat(this.path(nicName))).mode & 0o7777;
    return { files, nicBytes, nicMode };
  }

  private transactionOf(nic: string): IfcfgTransaction {
    const tx = this.open.get(nic);
    if (tx === undefined) throw new ShareError('Failed', `no snapshot was taken before changing ${nic}`);
    return tx;
  }

  private path(name: string): string {
    return join(this.config.ifcfgDir, name);
  }

  /** Re-reads links and files; tells the listeners when what they see changed. */
  private refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(async () => {
      const [state, shared] = await Promise.all([readIpState(), readSharedMap(this.config.ifcfgDir)]);
      const next: HostSnapshot = { interfaces: hostInterfacesFromIp(state, shared, sysfsWireless), shared };
      const key = JSON.stringify([next.interfaces, [...shared]]);
      this.cached = next;
      if (key === this.cachedKey) return;
      this.cachedKey = key;
      for (const listener of this.listeners) listener();
    }).catch((err: unknown) => {
      this.log.error(`ifcfg backend: cannot read the host's state: ${errorMessage(err)}`);
    });
    return this.refreshing;
  }

  private scheduleRefresh(): void {
    if (this.closed || this.cancelRefresh !== undefined) return;
    this.cancelRefresh = this.clock.schedule(REFRESH_DEBOUNCE_MS, () => {
      this.cancelRefresh = undefined;
      void this.refresh();
    });
  }

  /** Changes behind our back: links and addresses (ip monitor) and files (inotify). */
  private watch(): void {
    this.stopMonitor = new KernelObserver(this.log).watchHost(() => this.scheduleRefresh());
    try {
      this.watcher = watch(this.config.ifcfgDir, () => this.scheduleRefresh());
      this.watcher.on('error', (err) => this.log.error(`ifcfg backend: watching ${this.config.ifcfgDir}: ${err.message}`));
    } catch (err) {
      this.log.error(`ifcfg backend: cannot watch ${this.config.ifcfgDir}: ${errorMessage(err)}`);
    }
  }
}
