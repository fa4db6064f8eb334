// SPDX-License-Identifier: GPL-2.0-or-later
// The NetworkManager backend: NetworkManager owns the bridge; we speak to it over D-Bus only.
// Devices and profiles are mirrored in memory from NetworkManager's own signals, so reading the
// state costs no round trip and changes made with nmcli behind our back show up at once.
// This facade composes the parts: the profile store, the change transaction, applying a Share
// and an Unshare.
import type { BusConnection } from '../../dbus-wire/bus-connection';
import * as t from '../../dbus-wire/bus-value';
import { type Clock, systemClock } from '../../clock';
import { type Log, errorMessage } from '../../log';
import type { GuestRouting } from '../../bridge/guest-routing';
import type { ConfiguredInterface } from '../../bridge/interface-config';
import type { Progress } from '../../bridge/progress';
import type { HostInterface, HostSnapshot } from '../../bridge/host-network';
import type { BackendDescription, ChangeSummary, SettingsBackend, Transaction } from '../../bridge/settings-backend';
import { ShareError } from '../../bridge/share-error';
import type { SharePlan, UnsharePlan } from '../../bridge/share-plan';
import { NO_IP_REQUIREMENTS, type IpRequirements } from '../../bridge/verify';
import { applyShare, type NmApplyContext } from './nm-apply-share';
import { applyUnshare, finishUnshare } from './nm-apply-unshare';
import type { NmChangeRecord, NmChangeRecords } from './nm-change-record';
import { NmChangeTransactions } from './nm-change-transaction';
import { NmChangeWaiters } from './nm-change-waiters';
import { NmClient } from './nm-client';
import { finishLeftoverRecord } from './nm-recovery';
import { DeviceDescriptions, requiredDevice } from './nm-devices';
import { configuredInterface } from './nm-interface-config';
import { NM_BUS_NAME, NM_PATH, NmObjectCache, SETTINGS_CONNECTION } from './nm-object-cache';
import { readLinksMaybeListed } from '../kernel-observer';
import { isPrivateProfile, isSystemProfile, privateProfileRefusal } from './nm-profile-owner';
import { NmProfileStore } from './nm-profile-store';
import { connectionUuid, getSetting, type NmSettings } from './nm-settings';
import { IPV6_STABLE_PRIVACY_NOTE, ipv6AddressesWillChange, shareProfiles } from './nm-translate';

// NMSettingsConnectionFlags.
const SETTINGS_FLAG_NM_GENERATED = 0x2;
const SETTINGS_FLAG_EXTERNAL = 0x8;
// How often a record another daemon process still owns is looked at again.
const OWNER_POLL_MS = 250;

export const NM_BACKEND_DESCRIPTION: BackendDescription = {
  name: 'NetworkManager',
  safetyNet: 'checkpoint',
  routed: true,
  manageHint: (iface) => `let NetworkManager manage it first: nmcli device set ${iface} managed yes`,
};

export class NmBackend implements SettingsBackend {
  readonly description = NM_BACKEND_DESCRIPTION;
  private readonly listeners: Array<() => void> = [];
  private readonly waiters: NmChangeWaiters;
  private readonly profiles: NmProfileStore;
  private readonly transactions: NmChangeTransactions;
  /** What applying a Share or an Unshare works with. */
  private readonly applying: NmApplyContext;
  private readonly unsubscribers: Array<() => Promise<void>> = [];
  private cached: HostSnapshot | undefined;
  /** The devices as the domain sees them, each described again only after it changed. */
  private readonly descriptions: DeviceDescriptions;
  private closed = false;
  private notifying = false;

  private constructor(
    private readonly cache: NmObjectCache,
    private readonly client: NmClient,
    private readonly log: Log,
    private readonly records: NmChangeRecords,
    private readonly clock: Clock,
    /** Routed sharing's data plane, for a routed change left unfinished. */
    private readonly routing: GuestRouting | undefined,
  ) {
    this.descriptions = new DeviceDescriptions(cache);
    this.waiters = new NmChangeWaiters(clock);
    this.profiles = new NmProfileStore(cache, client, log, () => this.invalidate());
    this.transactions = new NmChangeTransactions(cache, client, log, records, clock, this.profiles, () => this.snapshot());
    this.applying = {
      cache, client, log, profiles: this.profiles, transactions: this.transactions, waiters: this.waiters,
      snapshot: () => this.snapshot(),
      invalidate: () => this.invalidate(),
    };
  }

  /** Resolves once every NetworkManager object we use is read (SettingsBackend.complete). */
  complete: Promise<void> = Promise.resolve();

  /**
   * Returns once a person's listing can be told: the devices `listedNames` names (the kernel's
   * links such a listing may show) and every profile are read, with the devices our profiles
   * name. At thousands of links that is a few dozen devices of thousands; the rest is read then
   * (`complete`). Without the kernel's names, everything is read first.
   */
  static async start(bus: BusConnection, log: Log, records: NmChangeRecords, clock: Clock = systemClock, routing?: GuestRouting, listedNames: () => Promise<readonly string[]> = readLinksMaybeListed): Promise<NmBackend> {
    const cache = new NmObjectCache(bus, clock);
    const backend = new NmBackend(cache, new NmClient(bus), log, records, clock, routing);
    cache.onChange((path) => backend.onObjectChange(path));
    let listed: readonly string[] | undefined;
    try {
      backend.unsubscribers.push(await bus.subscribe(
        { sender: NM_BUS_NAME, pathNamespace: `${NM_PATH}/Settings`, interface: SETTINGS_CONNECTION, member: 'Updated' },
        (msg) => backend.profiles.refresh(msg.path),
      ));
      const started = clock.now();
      // The kernel's reading runs beside NetworkManager's first answers.
      const names = listedNames().catch((err: unknown) => {
        log.warn(`cannot read the kernel's links (reading every NetworkManager device first): ${errorMessage(err)}`);
        return undefined;
      });
      await cache.start();
      listed = await names;
      if (listed === undefined) await cache.readAll();
      else await cache.readDevicesNamed(listed);
      await backend.profiles.loaded;
      await cache.readDevicesNamed(backend.ourInterfaceNames());
      log.debug(`read what a listing shows of NetworkManager's objects in ${clock.now() - started} ms`);
    } catch (err) {
      // A start that fails (NetworkManager left meanwhile) takes back its listeners and match rules.
      await backend.close().catch((closeErr: unknown) => log.error(`after a failed start: ${errorMessage(closeErr)}`));
      throw err;
    }
    const rest = clock.now();
    backend.complete = (listed === undefined ? Promise.resolve() : cache.readAll()).then(() => {
      log.debug(`read the rest of NetworkManager's objects in ${clock.now() - rest} ms`);
      records.networkManagerStarted();
      // Outside the start: the daemon is ready (and its listing true) while they are finished.
      void backend.finishLeftovers();
    }, (err: unknown) => {
      // NetworkManager left meanwhile: its candidate starts a backend afresh when it is back.
      if (!backend.closed) log.error(`cannot read NetworkManager's objects: ${errorMessage(err)}`);
    });
    return backend;
  }

  /** The NICs and bridges our profiles name: a person's listing shows them whatever they are. */
  private ourInterfaceNames(): string[] {
    return [...this.profiles.tagged()].flatMap(({ tag }) => [tag.nic, tag.bridge]);
  }

  /**
   * Finishes every change record no transaction of ours holds: left by a daemon that died, or
   * across a reboot. Each NIC is held meanwhile, so a new change of it waits its turn (Busy).
   */
  private async finishLeftovers(): Promise<void> {
    let leftovers: NmChangeRecord[];
    try {
      leftovers = (await this.records.list()).filter((r) => !this.records.isHeld(r.nic));
    } catch (err) {
      this.log.error(`cannot read the change records in ${this.records.dir}: ${errorMessage(err)}`);
      return;
    }
    await Promise.all(leftovers.map(async (found) => {
      const release = this.records.hold(found.nic, () => undefined);
      try {
        // A daemon told to stop still finishes its change: its record is left over only once it is gone.
        let record: NmChangeRecord | undefined = found;
        while (record !== undefined && await this.records.ownedElsewhere(record)) {
          await this.clock.sleep(OWNER_POLL_MS);
          record = await this.records.read(found.nic);
        }
        if (record === undefined) return;
        await finishLeftoverRecord(this.client, this.records, record, 'in its record', this.log, this.clock, this.routing);
      } catch (err) {
        this.log.error(`finishing the change record of ${found.nic}: ${errorMessage(err)}`);
      } finally {
        release();
        this.profiles.forgetDeleted();
        this.invalidate();
      }
    }));
  }

  snapshot(): HostSnapshot {
    if (this.cached === undefined) {
      const { shared, routed, leftovers } = this.ourPairs();
      // The interfaces are made when first asked for: during a Share, NetworkManager's signals
      // renew the snapshot dozens of times and each renewal is asked for `shared` only (the Shared
      // property), which must not cost a reading of every device of a host with thousands.
      let interfaces: readonly HostInterface[] | undefined;
      const describe = () => {
        // One read of the devices serves both the listing and the notes.
        const devices = this.descriptions.devices();
        const byName = new Map(devices.map((d) => [d.name, d]));
        return this.descriptions.interfaces(shared).map((iface) => {
          const device = byName.get(iface.name);
          const active = device === undefined ? undefined : this.profiles.activeOn(device);
          if (active !== undefined && isPrivateProfile(active.settings)) return { ...iface, refusal: privateProfileRefusal(iface.name) };
          const notes = [...(ipv6AddressesWillChange(active?.settings) ? [IPV6_STABLE_PRIVACY_NOTE] : []), ...(leftovers.get(iface.name) ?? [])];
          return notes.length > 0 ? { ...iface, shareNotes: notes } : iface;
        });
      };
      this.cached = {
        shared,
        routed,
        get interfaces() {
          interfaces ??= describe();
          return interfaces;
        },
      };
    }
    return this.cached;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * What our profiles say now, whoever changed them: a NIC is shared while both its port profile
   * and its bridge's profile are there. One left alone (the other deleted with nmcli or Cockpit)
   * shares nothing; it is a note on the NIC, with how to remove it. A change in progress is
   * between the two by design and gets no note.
   */
  private ourPairs(): { shared: Map<string, string>; routed: Set<string>; leftovers: Map<string, string[]> } {
    const ports = new Map<string, { bridge: string; settings: NmSettings }>();
    const bridges = new Map<string, { bridge: string; settings: NmSettings }>();
    const shared = new Map<string, string>();
    // A routed share is its guests' bridge alone: the NIC keeps its own profile.
    const routed = new Set<string>();
    for (const { tag, settings } of this.profiles.tagged()) {
      if (tag.role === 'routed') {
        shared.set(tag.nic, tag.bridge);
        routed.add(tag.nic);
      } else {
        (tag.role === 'port' ? ports : bridges).set(tag.nic, { bridge: tag.bridge, settings });
      }
    }
    const leftovers = new Map<string, string[]>();
    const leftover = (nic: string, settings: NmSettings, missing: string) => {
      if (this.transactions.isChanging(nic)) return;
      const id = getSetting(settings, 'connection', 'id', t.string) ?? '';
      const note = `${nic} is not shared: the profile '${id}' is left over from sharing it (its ${missing} profile was deleted); remove it with: nmcli connection delete ${connectionUuid(settings)}`;
      leftovers.set(nic, [...(leftovers.get(nic) ?? []), note]);
    };
    for (const [nic, port] of ports) {
      if (bridges.get(nic)?.bridge === port.bridge) shared.set(nic, port.bridge);
      else leftover(nic, port.settings, `bridge ${port.bridge}'s`);
    }
    for (const [nic, bridge] of bridges) {
      if (ports.get(nic)?.bridge !== bridge.bridge) leftover(nic, bridge.settings, 'port');
    }
    return { shared, routed, leftovers };
  }

  async configuration(name: string): Promise<ConfiguredInterface | undefined> {
    // What NetworkManager made up for a device someone else configured (a guest's veth on the
    // bridge, say) is its view of the live state, not configuration.
    // A profile whose object is gone (being deleted: its flags unknown) is no configuration either.
    // Nor is a user's private profile: it is theirs to show (any caller may ask for this view).
    const configured = (path: string, settings: NmSettings) => {
      const flags = this.cache.property(path, SETTINGS_CONNECTION, 'Flags', t.uint32);
      return flags !== undefined && (flags & (SETTINGS_FLAG_NM_GENERATED | SETTINGS_FLAG_EXTERNAL)) === 0 && isSystemProfile(settings);
    };
    const devices = this.descriptions.devices();
    const activeOn = new Map<string, NmSettings>();
    for (const device of devices) {
      const active = this.profiles.activeOn(device);
      if (active !== undefined && configured(active.path, active.settings)) activeOn.set(device.name, active.settings);
    }
    const macs = new Map(devices.map((d) => [d.name, d.mac]));
    const all = [...this.profiles.entries()].filter(([path, settings]) => configured(path, settings)).map(([, settings]) => settings);
    return configuredInterface(name, { all, activeOn, macOf: (n) => macs.get(n) || undefined });
  }

  async checkShare(plan: SharePlan): Promise<IpRequirements> {
    const device = requiredDevice(this.cache, plan.nic);
    for (const settings of this.profiles.settings()) {
      // A profile for that name, even an inactive one, would fight ours for the interface. A
      // user's private one is no reason to refuse: else any user could block every default Share.
      if (isSystemProfile(settings) && getSetting(settings, 'connection', 'interface-name', t.string) === plan.bridge) {
        throw new ShareError('InvalidArgs', `a NetworkManager profile for an interface named ${plan.bridge} already exists`, 'choose another bridge name');
      }
    }
    // Routed: the NIC keeps its profile and its addresses; the bridge has none to wait for.
    if (plan.mode === 'routed') return NO_IP_REQUIREMENTS;
    const bridge = shareProfiles(plan, this.profiles.activeOn(device)?.settings).bridge;
    // NetworkManager's activation waits for IPv6 only where ipv6.may-fail is false (default true).
    return { ipv4Dhcp: getSetting(bridge, 'ipv4', 'method', t.string) === 'auto', ipv6Required: getSetting(bridge, 'ipv6', 'may-fail', t.boolean) === false };
  }

  begin(interfaces: readonly string[], rollbackTimeoutSeconds: number, change: ChangeSummary): Promise<Transaction> {
    return this.transactions.begin(interfaces, rollbackTimeoutSeconds, change);
  }

  applyShare(plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
    return applyShare(this.applying, plan, progress, ready);
  }

  applyUnshare(plan: UnsharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
    return applyUnshare(this.applying, plan, progress, ready);
  }

  finishUnshare(plan: UnsharePlan): Promise<void> {
    return finishUnshare(this.applying, plan);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.records.networkManagerLeft();
    for (const unsubscribe of this.unsubscribers.splice(0)) await unsubscribe();
    await this.cache.stop();
  }

  private onObjectChange(path: string): void {
    if (this.closed) return;
    // The end of the reading after the start (the other devices' addresses) is told as a change
    // of the manager's object: every device may have changed.
    this.descriptions.changed(path === NM_PATH ? '' : path);
    this.waiters.check();
    this.profiles.onObjectChange(path);
    this.invalidate();
  }

  private invalidate(): void {
    this.cached = undefined;
    // Listeners hear once per burst: NetworkManager sends dozens of PropertiesChanged at a time
    // during a Share, and each listener rebuilds the snapshot (every profile's tag, every device):
    // per signal, that made Share slower with each profile on the host (+60% at 300 profiles).
    if (this.notifying) return;
    this.notifying = true;
    // The burst is the signals already read, not a span of time: the next turn, not the Clock.
    setImmediate(() => {
      this.notifying = false;
      if (!this.closed) for (const listener of this.listeners) listener();
    });
  }
}
