// SPDX-License-Identifier: GPL-2.0-or-later
// The ifcfg backend: sharing where NetworkManager is absent, through initscripts' ifcfg files.
// Share writes ifcfg-<bridge> and rewrites ifcfg-<nic> (ifcfg-translate.ts), keeps the NIC's
// original file in our state directory for as long as it is shared, and applies the change live
// (ifcfg-live*.ts). Every change runs under a journal (ifcfg-files.ts) that restores the files and
// the live state on rollback, or when the daemon next starts if it died in between.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Progress } from '../../bridge/progress';
import type { HostSnapshot } from '../../bridge/host-network';
import type { SettingsBackend, Transaction } from '../../bridge/settings-backend';
import { ShareError } from '../../bridge/share-error';
import type { SharePlan, UnsharePlan } from '../../bridge/share-plan';
import type { IpRequirements } from '../../bridge/verify';
import {
  FileJournal, decodeIfcfgText, ensurePrivateDir, isErrno, listDirectory, readIfExists,
  removeFile, writeFileAtomic, writeShvarFile,
} from './ifcfg-files';
import { readIpState } from '../kernel-observer';
import { DhcpClients } from '../host-tools/dhcp-client';
import { hostInterfacesFromIp, sysfsWireless } from '../host-tools/kernel-interfaces';
import { captureIpConfig, ipConfigCodec, type IpConfig } from '../host-tools/ip-config';
import * as json from '../json-codec';
import type { LiveApplier } from '../host-tools/live-applier';
import { Iproute2Live } from '../host-tools/iproute2-applier';
import { InitscriptsLive } from './ifcfg-live-initscripts';
import { type Log, errorMessage } from '../../log';
import { translateIfcfgError } from './ifcfg-share-error';
import { parseShvar, shvarGet, type ShvarFile } from './ifcfg-shvar';
import { readIfcfgIpConfig, translateIfcfgShare, type IfcfgShareFiles } from './ifcfg-translate';
import { ifcfgConfiguredInterface } from './ifcfg-interface-config';
import type { ConfiguredInterface } from '../../bridge/interface-config';
import { configFileName, isInterfaceName } from './ifcfg-validate';

export interface IfcfgConfig {
  /** Where the ifcfg files are (initscripts: /etc/sysconfig/network-scripts). */
  readonly ifcfgDir: string;
  /** Ours: the journal of a change in progress and the original files of shared NICs. */
  readonly stateDir: string;
}

export const DEFAULT_IFCFG_CONFIG: IfcfgConfig = {
  ifcfgDir: '/etc/sysconfig/network-scripts',
  stateDir: '/var/lib/shared-interface',
};

// The first line ifcfg-translate writes into a bridge file: how we recognise our own bridges.
const OUR_BRIDGE_MARKER = '# Created by shared-interface:';
const REFRESH_DEBOUNCE_MS = 100;

/** initscripts' ifup/ifdown where they read our directory, iproute2 and a DHCP client otherwise. */
function chooseLiveApplier(ifcfgDir: string, stateDir: string, log: Log): LiveApplier {
  return InitscriptsLive.installed(ifcfgDir) ? new InitscriptsLive(log) : new Iproute2Live(new DhcpClients(stateDir, log));
}

/** What the state directory keeps of a NIC while it is shared: enough to unshare it exactly. */
interface ShareRecord {
  readonly version: 1;
  readonly nic: string;
  readonly bridge: string;
  readonly mac: string;
  readonly stp: boolean;
  readonly forwardDelay: number;
  /** ifcfg-<nic> before sharing: base64 of its bytes and its mode, or null when there was none. */
  readonly nicFile: { readonly bytes: string; readonly mode: number } | null;
  /** What the NIC carried before sharing. */
  readonly config: IpConfig;
}

/** How to put the running system back if a change is undone: the shape it had before. */
type LiveRestore = UnsharedRestore | SharedRestore;
interface UnsharedRestore { readonly shape: 'unshared'; readonly nic: string; readonly bridge: string; readonly config: IpConfig }
interface SharedRestore { readonly shape: 'shared'; readonly nic: string; readonly bridge: string; readonly mac: string; readonly stp: boolean; readonly forwardDelay: number; readonly config: IpConfig }

// What we read back of our own JSON (the records, the journal's live state), checked once per shape.
const interfaceName = json.refine(json.string(), isInterfaceName, 'is not an interface name');

const shareRecordCodec = json.object<ShareRecord>({
  version: json.oneOf(1),
  nic: interfaceName,
  bridge: interfaceName,
  mac: json.string(),
  stp: json.orElse(json.boolean, false),
  forwardDelay: json.orElse(json.number, 0),
  nicFile: json.nullable(json.object<{ bytes: string; mode: number }>({ bytes: json.string(), mode: json.number })),
  config: ipConfigCodec,
});

const liveRestoreCodec: json.JsonCodec<LiveRestore> = json.either(
  json.object<UnsharedRestore>({ shape: json.oneOf('unshared'), nic: interfaceName, bridge: interfaceName, config: ipConfigCodec }),
  json.object<SharedRestore>({
    shape: json.oneOf('shared'), nic: interfaceName, bridge: interfaceName, mac: json.string(),
    stp: json.orElse(json.boolean, false), forwardDelay: json.orElse(json.number, 0), config: ipConfigCodec,
  }),
);

export class IfcfgBackend implements SettingsBackend {
  readonly name = 'ifcfg' as const;
  private readonly listeners: Array<() => void> = [];
  private cached: HostSnapshot = { interfaces: [], shared: new Map() };
  private cachedKey = '';
  private refreshing: Promise<void> = Promise.resolve();
  private refreshTimer: NodeJS.Timeout | undefined;
  private monitor: ChildProcess | undefined;
  private watcher: FSWatcher | undefined;
  private readonly open = new Map<string, IfcfgTransaction>();
  private closed = false;

  private constructor(
    private readonly config: IfcfgConfig,
    private readonly live: LiveApplier,
    private readonly log: Log,
  ) {}

  static async start(config: IfcfgConfig, log: Log): Promise<IfcfgBackend> {
    const backend = new IfcfgBackend(config, chooseLiveApplier(config.ifcfgDir, config.stateDir, log), log);
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
    for (const fileName of await listDirectory(this.config.ifcfgDir)) {
      const device = /^ifcfg-(.+)$/.exec(fileName)?.[1];
      if (device === undefined || !isInterfaceName(device)) continue;
      const bytes = await readIfExists(this.path(fileName));
      if (bytes === undefined) continue;
      try {
        const file = parseShvar(decodeIfcfgText(bytes, fileName));
        files.set(shvarGet(file, 'DEVICE') || device, file);
      } catch (err) {
        // One unreadable file doesn't hide the others; it describes nothing.
        this.log.info(`ifcfg backend: ${fileName} is not readable as an ifcfg file: ${errorMessage(err)}`);
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
    const release = await lockStateDir(this.config.stateDir);
    try {
      let journal: FileJournal;
      try {
        journal = await FileJournal.create(this.config.stateDir, this.journalRoots());
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
        throw new ShareError('Failed', `an earlier change was not finished and could not be undone (${FileJournal.directory(this.config.stateDir)} is still there)`, 'restart the service to restore it, or see its log');
      }
      await journal.track(interfaces.flatMap((i) => [this.path(configFileName('ifcfg', i)), this.recordPath(i)]));
      const tx = new IfcfgTransaction(this, journal, interfaces, () => {
        for (const i of interfaces) if (this.open.get(i) === tx) this.open.delete(i);
        release();
      });
      for (const i of interfaces) this.open.set(i, tx);
      tx.expireAfter(rollbackTimeoutSeconds);
      return tx;
    } catch (err) {
      release();
      throw translateIfcfgError(err, 'cannot take a snapshot of the ifcfg files');
    }
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
      await tx.journal.track([bridgePath, nicPath, this.recordPath(plan.nic)]);
      const before: LiveRestore = { shape: 'unshared', nic: plan.nic, bridge: plan.bridge, config };
      await tx.journal.setLiveState(before);
      const record: ShareRecord = {
        version: 1, nic: plan.nic, bridge: plan.bridge, mac: plan.nicMac, stp: plan.stp, forwardDelay: plan.forwardDelay,
        nicFile: nicBytes === undefined ? null : { bytes: nicBytes.toString('base64'), mode: nicMode },
        config,
      };
      await this.writeRecord(record);
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
      const record = await this.readRecord(plan.nic);
      if (record === undefined || record.bridge !== plan.bridge) {
        throw new ShareError('Failed', `the copy of ${plan.nic}'s original ifcfg file is missing from ${this.recordPath(plan.nic)}`, `restore ${configFileName('ifcfg', plan.nic)} by hand and remove ${configFileName('ifcfg', plan.bridge)}`);
      }
      // What the bridge carries now goes back to the NIC; DHCP if the NIC had it before.
      const now = captureIpConfig(await readIpState(), plan.bridge, record.config.dhcp);
      const bridgePath = this.path(configFileName('ifcfg', plan.bridge));
      const nicPath = this.path(configFileName('ifcfg', plan.nic));
      await tx.journal.track([bridgePath, nicPath, this.recordPath(plan.nic)]);
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
      await removeFile(this.recordPath(plan.nic));
    } catch (err) {
      throw translateIfcfgError(err, `forgetting the original files of ${plan.nic}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.watcher?.close();
    this.monitor?.kill('SIGTERM');
    await this.refreshing;
  }

  /** Undoes a journal's change: files byte for byte, then the live state it recorded; returns what the running system could not be put back to. */
  async undo(journal: FileJournal): Promise<readonly string[]> {
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

  private recordPath(nic: string): string {
    if (!isInterfaceName(nic)) throw new ShareError('InvalidArgs', `${JSON.stringify(nic)} is not a valid interface name for an ifcfg file`);
    return join(this.config.stateDir, 'shared', `${nic}.json`);
  }

  private journalRoots(): string[] {
    return [resolve(this.config.ifcfgDir), resolve(this.config.stateDir, 'shared')];
  }

  private async writeRecord(record: ShareRecord): Promise<void> {
    await ensurePrivateDir(join(this.config.stateDir, 'shared'));
    await writeFileAtomic(this.recordPath(record.nic), Buffer.from(`${JSON.stringify(record, null, 2)}\n`), 0o600);
  }

  private async readRecord(nic: string): Promise<ShareRecord | undefined> {
    const bytes = await readIfExists(this.recordPath(nic));
    if (bytes === undefined) return undefined;
    let record: ShareRecord;
    try {
      record = json.parseJson(bytes.toString('utf8'), shareRecordCodec);
    } catch (err) {
      if (err instanceof json.JsonShapeError) throw new ShareError('Failed', `${this.recordPath(nic)} is damaged: ${err.message}`);
      throw err;
    }
    if (record.nic !== nic) throw new ShareError('Failed', `${this.recordPath(nic)} is damaged: it is the record of ${record.nic}`);
    return { ...record, nicFile: record.nicFile === null ? null : { ...record.nicFile, mode: record.nicFile.mode & 0o7777 } };
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
    if (this.closed || this.refreshTimer !== undefined) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refresh();
    }, REFRESH_DEBOUNCE_MS);
  }

  /** Changes behind our back: links and addresses (ip monitor) and files (inotify). */
  private watch(): void {
    const monitor = spawn('ip', ['monitor', 'link', 'address', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    monitor.stdout.on('data', () => this.scheduleRefresh());
    monitor.on('error', (err) => this.log.error(`ifcfg backend: ip monitor: ${err.message}`));
    this.monitor = monitor;
    try {
      this.watcher = watch(this.config.ifcfgDir, () => this.scheduleRefresh());
      this.watcher.on('error', (err) => this.log.error(`ifcfg backend: watching ${this.config.ifcfgDir}: ${err.message}`));
    } catch (err) {
      this.log.error(`ifcfg backend: cannot watch ${this.config.ifcfgDir}: ${errorMessage(err)}`);
    }
  }
}

// One change at a time per state directory (it holds one journal): each begin() waits for the
// previous transaction to end, also one still running on a backend the selector has replaced.
const stateDirLocks = new Map<string, Promise<void>>();

async function lockStateDir(stateDir: string): Promise<() => void> {
  const key = resolve(stateDir);
  let release!: () => void;
  const previous = stateDirLocks.get(key) ?? Promise.resolve();
  const mine = new Promise<void>((r) => { release = r; });
  stateDirLocks.set(key, mine);
  await previous;
  return () => {
    if (stateDirLocks.get(key) === mine) stateDirLocks.delete(key);
    release();
  };
}

class IfcfgTransaction implements Transaction {
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  /** The apply in progress: the expiry timer waits for it rather than undo files being written. */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly backend: IfcfgBackend,
    readonly journal: FileJournal,
    private readonly interfaces: readonly string[],
    private readonly finish: () => void,
  ) {}

  /** Like an NM checkpoint: rolled back by itself when neither commit nor rollback came in time. */
  expireAfter(seconds: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.applying.catch(() => undefined).then(() => this.rollback()).catch(() => {
        // rollback() failed to put the files back: the journal stays for the next start
      });
    }, seconds * 1000);
    this.timer.unref();
  }

  /**
   * Awaiting confirmation: expires `seconds` from now instead. The journal stays on disk, so a
   * daemon that dies meanwhile restores it when it next starts (recoverIfcfgChanges).
   */
  async keep(seconds: number): Promise<void> {
    if (this.done) throw new ShareError('Failed', 'the change took longer than its rollback timeout and was undone');
    this.expireAfter(seconds);
  }

  /** Runs one apply step of this transaction, so that expiry cannot interleave with it. */
  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.done) return Promise.reject(new ShareError('Failed', 'the change took longer than its rollback timeout and was undone'));
    const p = work();
    this.applying = p;
    return p;
  }

  async commit(): Promise<void> {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
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
    clearTimeout(this.timer);
    try {
      return await this.backend.undo(this.journal);
    } catch (err) {
      throw translateIfcfgError(err, `could not put ${this.interfaces.join(' and ')} back as they were`);
    } finally {
      this.finish();
    }
  }
}

/**
 * Restores a journal's files, then its live state, then removes it; keeps it when the files fail
 * (throwing). Returns what of the running system could not be put back ([] when all was): the
 * files are back then, so the journal has done its part, but the caller must not hear "as it was".
 */
export async function restoreJournal(journal: FileJournal, live: LiveApplier, log: Log): Promise<string[]> {
  await journal.restore();
  log.info(`restored ${journal.paths.length} file(s) from the snapshot`);
  const state = checkLiveRestore(journal.liveState);
  const unrestored: string[] = [];
  if (state !== undefined) {
    try {
      if (state.shape === 'unshared') await live.toUnshared(state);
      else await live.toShared(state);
    } catch (err) {
      const what = state.shape === 'unshared' ? `${state.nic} without ${state.bridge}` : `${state.nic} shared through ${state.bridge}`;
      unrestored.push(`the files are restored, but the running system could not be brought back to ${what} (${errorMessage(err)}); bring ${state.nic} up by hand or reboot`);
      log.error(`the files are restored, but the running system could not be: ${errorMessage(err)}`);
    }
  }
  await journal.discard();
  return unrestored;
}

function checkLiveRestore(value: unknown): LiveRestore | undefined {
  return json.optional(liveRestoreCodec).decode(value);
}

/** NIC → bridge for every ifcfg-<nic> with BRIDGE= naming a bridge file we wrote. */
export async function readSharedMap(dir: string): Promise<Map<string, string>> {
  const ours = new Set<string>();
  const ports = new Map<string, string>();
  for (const name of await listDirectory(dir)) {
    const device = /^ifcfg-(.+)$/.exec(name)?.[1];
    if (device === undefined || !isInterfaceName(device)) continue;
    const bytes = await readIfExists(join(dir, name));
    if (bytes === undefined) continue;
    try {
      const text = decodeIfcfgText(bytes, name);
      const file = parseShvar(text);
      if (text.startsWith(OUR_BRIDGE_MARKER) && shvarGet(file, 'TYPE') === 'Bridge') ours.add(shvarGet(file, 'DEVICE') || device);
      const bridge = shvarGet(file, 'BRIDGE');
      if (bridge !== undefined && bridge !== '') ports.set(device, bridge);
    } catch {
      // a file we cannot read is not one we wrote: it shares nothing through us
    }
  }
  return new Map([...ports].filter(([, bridge]) => ours.has(bridge)));
}

/**
 * Restores a change that a previous run of the daemon left unfinished (it died between writing and
 * verifying): the files byte for byte and the live state the journal recorded.
 */
export async function recoverIfcfgChanges(config: IfcfgConfig, log: Log): Promise<void> {
  let journal: FileJournal | undefined;
  try {
    journal = await FileJournal.load(config.stateDir, [resolve(config.ifcfgDir), resolve(config.stateDir, 'shared')]);
    if (journal === undefined) return;
    log.info(`found the snapshot of an unfinished change in ${FileJournal.directory(config.stateDir)}; restoring it`);
    const unrestored = await restoreJournal(journal, chooseLiveApplier(config.ifcfgDir, config.stateDir, log), log);
    if (unrestored.length === 0) log.info('the unfinished change is undone');
    else log.error(`the unfinished change is undone in part: ${unrestored.join('; ')}`);
  } catch (err) {
    log.error(`cannot restore the snapshot in ${FileJournal.directory(config.stateDir)}: ${errorMessage(err)}`);
  }
}

/** The selector's fallback: the ifcfg backend when its directory exists, else none. */
export function ifcfgFallback(config: IfcfgConfig, log: Log): () => Promise<SettingsBackend | undefined> {
  return async () => {
    if (!existsSync(config.ifcfgDir)) {
      log.info(`no ifcfg fallback: ${config.ifcfgDir} does not exist`);
      return undefined;
    }
    return IfcfgBackend.start(config, log);
  };
}
