// SPDX-License-Identifier: GPL-2.0-or-later
// The NetworkManager backend: NetworkManager owns the bridge; we speak to it over D-Bus only.
// Devices and profiles are mirrored in memory from NetworkManager's own signals, so reading the
// state costs no round trip and changes made with nmcli behind our back show up at once.
import type { BusConnection } from '../../dbus-wire/bus-connection';
import * as t from '../../dbus-wire/bus-value';
import { type Clock, systemClock } from '../../clock';
import { type Log, errorMessage } from '../../log';
import type { ConfiguredInterface } from '../../bridge/interface-config';
import type { Progress } from '../../bridge/progress';
import type { HostInterface, HostSnapshot } from '../../bridge/host-network';
import type { BackendDescription, ChangeSummary, SettingsBackend, Transaction } from '../../bridge/settings-backend';
import { ShareError } from '../../bridge/share-error';
import type { SharePlan, UnsharePlan } from '../../bridge/share-plan';
import { NO_IP_REQUIREMENTS, type IpRequirements } from '../../bridge/verify';
import type { NmChangeRecord, NmChangeRecords } from './nm-change-record';
import { CHECKPOINT_DELETE_NEW_CONNECTIONS, NmClient } from './nm-client';
import { commitFromRecord, finishLeftoverRecord, reportOutcome, rollBackFromRecord } from './nm-recovery';
import { deviceAddresses, DeviceDescriptions, deviceNamed, nmDevice, type NmDevice, NM_DEVICE } from './nm-devices';
import { translateNmError } from './nm-errors';
import { configuredInterface } from './nm-interface-config';
import { inTurns, NM_BUS_NAME, NM_PATH, NmObjectCache } from './nm-object-cache';
import { isPrivateProfile, isSystemProfile, ourTag, privateProfileRefusal, type OurTag } from './nm-profile-owner';
import { connectionUuid, getSetting, profileFitsInterface, type NmSettings } from './nm-settings';
import { dhcpProfile, ipv6AddressesWillChange, shareProfiles } from './nm-translate';
import { routedBridgeProfile } from './nm-routed-profile';

const SETTINGS_CONNECTION = 'org.freedesktop.NetworkManager.Settings.Connection';
const ACTIVE_CONNECTION = 'org.freedesktop.NetworkManager.Connection.Active';
// NMSettingsConnectionFlags.
const SETTINGS_FLAG_NM_GENERATED = 0x2;
const SETTINGS_FLAG_EXTERNAL = 0x8;

// NetworkManager hashes the interface name into stable-privacy addresses (RFC 7217), and offers no
// way to keep the old name's: say so rather than surprise the user.
// How often a record another daemon process still owns is looked at again.
const OWNER_POLL_MS = 250;
const IPV6_STABLE_PRIVACY_NOTE = 'its autoconfigured IPv6 addresses will change: its profile uses stable-privacy addresses, which depend on the interface name (set ipv6.addr-gen-mode eui64 to keep them)';


// How long a static NIC's bridge may take to carry its addresses before the NIC becomes its port.
const BRIDGE_ADDRESS_WAIT_MS = 2000;
const BRIDGE_DEVICE_WAIT_MS = 2000;

// NMRollbackResult: what CheckpointRollback says of each device.
const ROLLBACK_OK = 0;
const ROLLBACK_RESULTS: Readonly<Record<number, string>> = { 1: 'the device is gone', 2: 'the device is no longer managed', 3: 'restoring it failed' };

/** A profile's static IPv4 addresses (ipv4.address-data), as address/prefix. */
function staticAddresses(settings: NmSettings): string[] {
  return (getSetting(settings, 'ipv4', 'address-data', t.array(t.vardict)) ?? []).flatMap((entry) => {
    const address = entry.get('address');
    const prefix = entry.get('prefix');
    return address?.signature === 's' && prefix?.signature === 'u' ? [`${String(address.value)}/${String(prefix.value)}`] : [];
  });
}

export const NM_BACKEND_DESCRIPTION: BackendDescription = {
  name: 'NetworkManager',
  safetyNet: 'checkpoint',
  routed: true,
  manageHint: (iface) => `let NetworkManager manage it first: nmcli device set ${iface} managed yes`,
};

export class NmBackend implements SettingsBackend {
  readonly description = NM_BACKEND_DESCRIPTION;
  private readonly listeners: Array<() => void> = [];
  /** Conditions an operation waits for, checked at each change of NetworkManager's objects. */
  private readonly changeWaiters = new Set<() => void>();
  private readonly profiles = new Map<string, NmSettings>();
  private readonly unsubscribers: Array<() => Promise<void>> = [];
  private cached: HostSnapshot | undefined;
  /** The devices as the domain sees them, each described again only after it changed. */
  private readonly descriptions: DeviceDescriptions;
  private closed = false;
  private notifying = false;
  private checkpointTurn: Promise<void> = Promise.resolve();
  /** The latest reading of every profile (GetSettings each), started by the cache's (re)load. */
  private profilesLoaded: Promise<void> = Promise.resolve();
  /** The record of each change in progress, by NIC: what applyShare/applyUnshare add goes into it first. */
  private readonly changing = new Map<string, (added: readonly string[], persist: boolean) => Promise<void>>();

  private constructor(
    private readonly cache: NmObjectCache,
    private readonly client: NmClient,
    private readonly log: Log,
    private readonly records: NmChangeRecords,
    private readonly clock: Clock,
  ) {
    this.descriptions = new DeviceDescriptions(cache);
  }

  static async start(bus: BusConnection, log: Log, records: NmChangeRecords, clock: Clock = systemClock): Promise<NmBackend> {
    const cache = new NmObjectCache(bus, clock);
    const backend = new NmBackend(cache, new NmClient(bus), log, records, clock);
    cache.onChange((path) => backend.onObjectChange(path));
    try {
      backend.unsubscribers.push(await bus.subscribe(
        { sender: NM_BUS_NAME, pathNamespace: `${NM_PATH}/Settings`, interface: SETTINGS_CONNECTION, member: 'Updated' },
        (msg) => backend.refreshProfile(msg.path),
      ));
      const started = clock.now();
      await cache.start();
      const read = clock.now();
      await backend.profilesLoaded;
      log.debug(`read NetworkManager's objects in ${read - started} ms, its profiles in ${clock.now() - read} ms`);
      records.networkManagerStarted();
    } catch (err) {
      // A start that fails (NetworkManager left meanwhile) takes back its listeners and match rules.
      await backend.close().catch((closeErr: unknown) => log.error(`after a failed start: ${errorMessage(closeErr)}`));
      throw err;
    }
    // Outside start: the daemon is ready (and its listing true) while they are finished.
    void backend.finishLeftovers();
    return backend;
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
        await finishLeftoverRecord(this.client, this.records, record, 'in its record', this.log, this.clock);
      } catch (err) {
        this.log.error(`finishing the change record of ${found.nic}: ${errorMessage(err)}`);
      } finally {
        release();
        this.forgetDeletedProfiles();
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
          const active = device === undefined ? undefined : this.activeProfile(device);
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
    for (const settings of this.profiles.values()) {
      const tag = ourTag(settings);
      if (tag?.role === 'routed') {
        shared.set(tag.nic, tag.bridge);
        routed.add(tag.nic);
      } else if (tag !== undefined) {
        (tag.role === 'port' ? ports : bridges).set(tag.nic, { bridge: tag.bridge, settings });
      }
    }
    const leftovers = new Map<string, string[]>();
    const leftover = (nic: string, settings: NmSettings, missing: string) => {
      if (this.changing.has(nic)) return;
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
      const active = this.activeProfile(device);
      if (active !== undefined && configured(active.path, active.settings)) activeOn.set(device.name, active.settings);
    }
    const macs = new Map(devices.map((d) => [d.name, d.mac]));
    const all = [...this.profiles].filter(([path, settings]) => configured(path, settings)).map(([, settings]) => settings);
    return configuredInterface(name, { all, activeOn, macOf: (n) => macs.get(n) || undefined });
  }

  async checkShare(plan: SharePlan): Promise<IpRequirements> {
    const device = this.device(plan.nic);
    for (const settings of this.profiles.values()) {
      // A profile for that name, even an inactive one, would fight ours for the interface. A
      // user's private one is no reason to refuse: else any user could block every default Share.
      if (isSystemProfile(settings) && getSetting(settings, 'connection', 'interface-name', t.string) === plan.bridge) {
        throw new ShareError('InvalidArgs', `a NetworkManager profile for an interface named ${plan.bridge} already exists`, 'choose another bridge name');
      }
    }
    // Routed: the NIC keeps its profile and its addresses; the bridge has none to wait for.
    if (plan.mode === 'routed') return NO_IP_REQUIREMENTS;
    const bridge = shareProfiles(plan, this.activeProfile(device)?.settings).bridge;
    // NetworkManager's activation waits for IPv6 only where ipv6.may-fail is false (default true).
    return { ipv4Dhcp: getSetting(bridge, 'ipv4', 'method', t.string) === 'auto', ipv6Required: getSetting(bridge, 'ipv6', 'may-fail', t.boolean) === false };
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
      const { shared: sharedNow, routed: routedNow } = this.snapshot();
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
            this.forgetDeletedProfiles();
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
    const original = nicDevice === undefined ? undefined : this.activeProfile(nicDevice);
    const addressesOn = change.operation === 'share' ? change.nic : change.bridge;
    const carrier = deviceNamed(this.cache, addressesOn);
    return {
      version: 1, operation: change.operation, nic: change.nic, bridge: change.bridge, state: 'applying',
      deadline: Date.now() + rollbackTimeoutSeconds * 1000, checkpoint: '',
      original: original === undefined ? '' : connectionUuid(original.settings),
      addressesOn, addresses: carrier === undefined ? [] : deviceAddresses(this.cache, carrier.path).filter((a) => !a.includes(':')),
      added: [], persist: true,
    };
  }

  /** Notes in the change's record, before NetworkManager has them, the profiles about to be added. */
  private async noteAdded(nic: string, profiles: readonly NmSettings[], persist = true): Promise<void> {
    await this.changing.get(nic)?.(profiles.map((p) => connectionUuid(p)), persist);
  }

  async applyShare(plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
    if (plan.mode === 'routed') return this.applyRoutedShare(plan, progress, ready);
    const device = this.device(plan.nic);
    const original = this.activeProfile(device);
    const profiles = shareProfiles(plan, original?.settings);
    // In memory until the commit saves them: a reboot before it (a change awaiting Confirm) finds
    // them gone and the NIC's own profile back.
    const add = async (settings: NmSettings): Promise<string> => {
      const path = await this.client.addConnection(settings, false);
      this.profiles.set(path, settings);
      return path;
    };
    // A static NIC's bridge comes up with its address before the port exists (see bridgeFirst).
    const staticBridge = getSetting(profiles.bridge, 'ipv4', 'method', t.string) === 'manual' ? staticAddresses(profiles.bridge) : [];
    try {
      await this.noteAdded(plan.nic, [profiles.bridge, profiles.port], plan.persist);
      let portPath: string;
      if (staticBridge.length > 0) {
        const bridgePath = await add(profiles.bridge);
        this.invalidate();
        // The bridge comes up with the NIC's addresses: that is the change itself.
        await ready;
        await this.bridgeFirst(plan, bridgePath, staticBridge);
        portPath = await add(profiles.port);
      } else {
        // The port names its bridge by UUID, resolved at activation: both can be added at once.
        let bridgePath: string;
        [bridgePath, portPath] = await Promise.all([add(profiles.bridge), add(profiles.port)]);
        // The port's activation brings its bridge up on the device NM keeps for the bridge's
        // profile. Before NM lists that profile on a device of the bridge's name, it refused with
        // "Master connection … can't be activated: No device available" (seen under load, when a
        // device of that name from an earlier bridge was still going away).
        if (!(await this.until(() => this.deviceOffers(plan.bridge, bridgePath), BRIDGE_DEVICE_WAIT_MS))) {
          this.log.info(`NetworkManager offers no device for ${plan.bridge}'s profile within ${BRIDGE_DEVICE_WAIT_MS} ms; activating ${plan.nic}'s port anyway`);
        }
        await ready;
      }
      this.invalidate();
      progress('profiles-added', `added the profiles '${getSetting(profiles.bridge, 'connection', 'id', t.string) ?? plan.bridge}' and '${getSetting(profiles.port, 'connection', 'id', t.string) ?? plan.nic}'`);
      if (ipv6AddressesWillChange(original?.settings)) this.log.info(`${plan.nic}: ${IPV6_STABLE_PRIVACY_NOTE}`);
      // Activating the port brings its bridge up with it (if it isn't yet), and takes the NIC off its old profile.
      await this.client.activateConnection(portPath, device.path);
    } catch (err) {
      throw translateNmError(err, `sharing ${plan.nic}`);
    }
  }

  /**
   * Routed: the guests' bridge alone, in memory until the commit like a bridged share's profiles;
   * the NIC and its profile are not touched. The data plane comes after, from the domain.
   */
  private async applyRoutedShare(plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
    const profile = routedBridgeProfile(plan);
    try {
      await this.noteAdded(plan.nic, [profile], plan.persist);
      const path = await this.client.addConnection(profile, false);
      this.profiles.set(path, profile);
      this.invalidate();
      progress('profiles-added', `added the profile '${getSetting(profile, 'connection', 'id', t.string) ?? plan.bridge}'; ${plan.nic} keeps its own`);
      await ready;
      await this.client.activateConnection(path, '/');
    } catch (err) {
      throw translateNmError(err, `sharing ${plan.nic} routed`);
    }
  }

  /**
   * A static address can be on the bridge before the NIC leaves its profile. Activating the port
   * at once takes the address off the NIC some 20–40 ms before NetworkManager puts it on the
   * bridge, and a LAN host's packets in that gap find no one owning the address (a ping lost at
   * 16 ms intervals). So the bridge comes up first, before its port profile exists (else its
   * autoconnect-slaves would start the port at once), and once NetworkManager shows the static
   * IPv4 addresses on it (it mirrors the kernel's), the port follows; in between both carry them,
   * which is harmless (the NIC's routes have the lower metric). DHCP has no such way: the bridge
   * can only ask for the lease once the NIC is its port.
   */
  private async bridgeFirst(plan: SharePlan, bridgePath: string, wanted: readonly string[]): Promise<void> {
    if (wanted.length === 0) return;
    await this.client.activateConnection(bridgePath, '/');
    const carried = () => {
      const bridge = deviceNamed(this.cache, plan.bridge);
      const has = new Set(bridge === undefined ? [] : deviceAddresses(this.cache, bridge.path));
      return wanted.every((a) => has.has(a));
    };
    if (!(await this.until(carried, BRIDGE_ADDRESS_WAIT_MS))) {
      this.log.info(`${plan.bridge} did not carry ${wanted.join(', ')} within ${BRIDGE_ADDRESS_WAIT_MS} ms of its activation; adding ${plan.nic} as its port anyway`);
    }
  }

  /** Whether NM has a device named `name` on which the profile at `profilePath` can be activated. */
  private deviceOffers(name: string, profilePath: string): boolean {
    const path = this.cache.devicePath(name);
    return path !== undefined && (this.cache.property(path, NM_DEVICE, 'AvailableConnections', t.array(t.objectPath)) ?? []).includes(profilePath);
  }

  /** Resolves true once `condition` holds (checked at each change of NetworkManager's objects), false after `timeoutMs`. */
  private until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (held: boolean) => {
        cancelTimeout();
        this.changeWaiters.delete(check);
        resolve(held);
      };
      const check = () => { if (condition()) finish(true); };
      const cancelTimeout = this.clock.schedule(timeoutMs, () => finish(false));
      this.changeWaiters.add(check);
    });
  }

  async applyUnshare(plan: UnsharePlan, _progress: Progress, ready: Promise<void>): Promise<void> {
    await ready;
    if (plan.mode === 'routed') {
      // The NIC was never touched: only the guests' bridge goes (its profile after the commit).
      const bridgeDevice = deviceNamed(this.cache, plan.bridge);
      if (bridgeDevice !== undefined && bridgeDevice.activeConnection !== '/') await this.client.deactivateConnection(bridgeDevice.activeConnection);
      return;
    }
    const device = this.device(plan.nic);
    const port = this.ourProfiles(plan.nic).find((p) => p.tag.role === 'port');
    const originalUuid = port?.tag.originalUuid ?? '';
    // The original must be a system-wide profile for this NIC: never bring up a profile of another
    // interface, nor a user's profile that took the UUID of one deleted meanwhile.
    let originalPath = [...this.profiles].find(([, s]) => originalUuid !== '' && connectionUuid(s) === originalUuid && isSystemProfile(s) && profileFitsInterface(s, plan.nic))?.[0];
    if (originalPath === undefined) {
      // The NIC had no profile before (or it was deleted meanwhile): give it DHCP.
      this.log.info(`${plan.nic}: its original profile is gone or not for ${plan.nic}; activating a DHCP profile`);
      const nicType = this.snapshot().interfaces.find((i) => i.name === plan.nic)?.type ?? 'ethernet';
      const dhcp = dhcpProfile(plan.nic, nicType);
      await this.noteAdded(plan.nic, [dhcp]);
      originalPath = await this.client.addConnection(dhcp, false);
    }
    await this.client.activateConnection(originalPath, device.path);
    const bridgeDevice = deviceNamed(this.cache, plan.bridge);
    if (bridgeDevice !== undefined && bridgeDevice.activeConnection !== '/') {
      await this.client.deactivateConnection(bridgeDevice.activeConnection).catch((err: unknown) => {
        // Already gone with its last port: nothing left to deactivate.
        this.log.warn(`deactivating ${plan.bridge}: ${errorMessage(err)}`);
      });
    }
  }

  async finishUnshare(plan: UnsharePlan): Promise<void> {
    for (const { path } of this.ourProfiles(plan.nic)) {
      await this.client.deleteConnection(path);
      this.profiles.delete(path);
    }
    this.invalidate();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.records.networkManagerLeft();
    for (const unsubscribe of this.unsubscribers.splice(0)) await unsubscribe();
    await this.cache.stop();
  }

  /** A device CheckpointRollback reports as not restored, in words. */
  private unrestoredDevice(path: string, result: number): string {
    const name = (this.cache.get(path)?.has(NM_DEVICE) === true ? nmDevice(this.cache, path).name : '') || path;
    return `NetworkManager could not restore ${name} (${ROLLBACK_RESULTS[result] ?? `result ${result}`})`;
  }

  private ourProfiles(nic: string): Array<{ path: string; tag: OurTag }> {
    const out: Array<{ path: string; tag: OurTag }> = [];
    for (const [path, settings] of this.profiles) {
      const tag = ourTag(settings);
      if (tag?.nic === nic) out.push({ path, tag });
    }
    return out;
  }

  private device(name: string): NmDevice {
    const device = deviceNamed(this.cache, name);
    if (device === undefined) throw new ShareError('NoSuchInterface', `NetworkManager has no device named ${name}`);
    return device;
  }

  /** The profile active on the device now, with its settings, if any. */
  private activeProfile(device: NmDevice): { path: string; settings: NmSettings } | undefined {
    if (device.activeConnection === '/') return undefined;
    const path = this.cache.property(device.activeConnection, ACTIVE_CONNECTION, 'Connection', t.objectPath);
    const settings = path === undefined ? undefined : this.profiles.get(path);
    return path === undefined || settings === undefined ? undefined : { path, settings };
  }

  /**
   * Profiles NetworkManager no longer has (its removal signals came before the rollback's reply):
   * a read of one still in flight must not keep it, or the NIC would look shared still.
   */
  private forgetDeletedProfiles(): void {
    let forgot = false;
    for (const path of [...this.profiles.keys()]) {
      if (this.profileExists(path)) continue;
      this.profiles.delete(path);
      forgot = true;
    }
    if (forgot) this.invalidate();
  }

  /** Whether NetworkManager has the profile at `path` now (its object cache, kept by its signals). */
  private profileExists(path: string): boolean {
    return this.cache.get(path)?.has(SETTINGS_CONNECTION) === true;
  }

  private async loadProfiles(): Promise<void> {
    const paths = [...this.cache.withInterface(SETTINGS_CONNECTION)].map(([path]) => path);
    await inTurns(paths, (path) => this.refreshProfile(path));
    this.invalidate();
  }

  private async refreshProfile(path: string): Promise<void> {
    try {
      const settings = await this.client.getSettings(path);
      // NetworkManager may answer after the profile went (its reply waits for an authorization
      // check): a rollback deleting our new profiles right away must not leave them here.
      if (!this.profileExists(path)) return;
      this.profiles.set(path, settings);
    } catch (err) {
      // Deleted between the signal and our read: the removal signal will follow.
      this.log.warn(`cannot read profile ${path}: ${errorMessage(err)}`);
      this.profiles.delete(path);
    }
    this.invalidate();
  }

  private onObjectChange(path: string): void {
    if (this.closed) return;
    for (const check of [...this.changeWaiters]) check();
    if (path === '') {
      // At start too (the cache's first reading): start() waits for this one rather than load twice.
      this.profilesLoaded = this.loadProfiles();
    } else if (path.startsWith(`${NM_PATH}/Settings/`)) {
      if (!this.profileExists(path)) this.profiles.delete(path);
      else if (!this.profiles.has(path)) void this.refreshProfile(path);
    }
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
