// SPDX-License-Identifier: GPL-2.0-or-later
// The NetworkManager backend: NetworkManager owns the bridge; we speak to it over D-Bus only.
// Devices and profiles are mirrored in memory from NetworkManager's own signals, so reading the
// state costs no round trip and changes made with nmcli behind our back show up at once.
import type { BusConnection } from '../../dbus-wire/bus-connection';
import * as t from '../../dbus-wire/bus-value';
import { type Log, errorMessage } from '../../bridge/log';
import type { ConfiguredInterface } from '../../bridge/interface-config';
import type { Progress } from '../../bridge/progress';
import type { HostSnapshot } from '../../bridge/host-network';
import type { SettingsBackend, Transaction } from '../../bridge/settings-backend';
import { ShareError } from '../../bridge/share-error';
import type { SharePlan, UnsharePlan } from '../../bridge/share-plan';
import type { IpRequirements } from '../../bridge/verify';
import { CHECKPOINT_DELETE_NEW_CONNECTIONS, NmClient } from './nm-client';
import { deviceAddresses, hostInterfaces, nmDevices, type NmDevice, NM_DEVICE } from './nm-devices';
import { translateNmError } from './nm-errors';
import { configuredInterface } from './nm-interface-config';
import { NM_BUS_NAME, NM_PATH, NmObjectCache } from './nm-object-cache';
import { isPrivateProfile, isSystemProfile, ourTag, privateProfileRefusal, type OurTag } from './nm-profile-owner';
import { connectionUuid, getSetting, profileFitsInterface, type NmSettings } from './nm-settings';
import { dhcpProfile, ipv6AddressesWillChange, shareProfiles } from './nm-translate';

const SETTINGS_CONNECTION = 'org.freedesktop.NetworkManager.Settings.Connection';
const ACTIVE_CONNECTION = 'org.freedesktop.NetworkManager.Connection.Active';
// NMSettingsConnectionFlags.
const SETTINGS_FLAG_NM_GENERATED = 0x2;
const SETTINGS_FLAG_EXTERNAL = 0x8;

// NetworkManager hashes the interface name into stable-privacy addresses (RFC 7217), and offers no
// way to keep the old name's: say so rather than surprise the user.
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

export class NmBackend implements SettingsBackend {
  readonly name = 'NetworkManager' as const;
  private readonly listeners: Array<() => void> = [];
  /** Conditions an operation waits for, checked at each change of NetworkManager's objects. */
  private readonly changeWaiters = new Set<() => void>();
  private readonly profiles = new Map<string, NmSettings>();
  private readonly unsubscribers: Array<() => Promise<void>> = [];
  private cached: HostSnapshot | undefined;
  private closed = false;
  private notifying = false;
  private checkpointTurn: Promise<void> = Promise.resolve();

  private constructor(
    private readonly cache: NmObjectCache,
    private readonly client: NmClient,
    private readonly log: Log,
  ) {}

  static async start(bus: BusConnection, log: Log): Promise<NmBackend> {
    const cache = new NmObjectCache(bus);
    const backend = new NmBackend(cache, new NmClient(bus), log);
    cache.onChange((path) => backend.onObjectChange(path));
    try {
      backend.unsubscribers.push(await bus.subscribe(
        { sender: NM_BUS_NAME, pathNamespace: `${NM_PATH}/Settings`, interface: SETTINGS_CONNECTION, member: 'Updated' },
        (msg) => backend.refreshProfile(msg.path),
      ));
      await cache.start();
      await backend.loadProfiles();
    } catch (err) {
      // A start that fails (NetworkManager left meanwhile) takes back its listeners and match rules.
      await backend.close().catch((closeErr: unknown) => log.error(`after a failed start: ${errorMessage(closeErr)}`));
      throw err;
    }
    return backend;
  }

  snapshot(): HostSnapshot {
    if (this.cached === undefined) {
      const shared = new Map<string, string>();
      for (const settings of this.profiles.values()) {
        const tag = ourTag(settings);
        if (tag?.role === 'port') shared.set(tag.nic, tag.bridge);
      }
      // One read of the devices serves both the listing and the notes.
      const devices = nmDevices(this.cache);
      const byName = new Map(devices.map((d) => [d.name, d]));
      const interfaces = hostInterfaces(this.cache, shared, devices).map((iface) => {
        const device = byName.get(iface.name);
        const active = device === undefined ? undefined : this.activeProfile(device);
        if (active !== undefined && isPrivateProfile(active.settings)) return { ...iface, refusal: privateProfileRefusal(iface.name) };
        return ipv6AddressesWillChange(active?.settings) ? { ...iface, shareNotes: [IPV6_STABLE_PRIVACY_NOTE] } : iface;
      });
      this.cached = { interfaces, shared };
    }
    return this.cached;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
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
    const devices = nmDevices(this.cache);
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
    const bridge = shareProfiles(plan, this.activeProfile(device)?.settings).bridge;
    // NetworkManager's activation waits for IPv6 only where ipv6.may-fail is false (default true).
    return { ipv4Dhcp: getSetting(bridge, 'ipv4', 'method', t.string) === 'auto', ipv6Required: getSetting(bridge, 'ipv6', 'may-fail', t.boolean) === false };
  }

  async begin(interfaces: readonly string[], rollbackTimeoutSeconds: number): Promise<Transaction> {
    // One checkpoint at a time: rolling back DELETE_NEW_CONNECTIONS deletes every profile made
    // since its checkpoint, so a second change's new profiles would go with the first's rollback.
    // Changes of different NICs wait their turn here (a few seconds) rather than being refused.
    const previous = this.checkpointTurn;
    let release = (): void => undefined;
    this.checkpointTurn = new Promise((resolve) => { release = resolve; });
    await previous;
    try {
      // A bridge taken down by hand is unrealized: CheckpointCreate refuses such a device, and
      // there is nothing of it to restore. Nor does a checkpoint name the bridge a NIC is shared
      // through: Unshare deletes it, NM 1.42 then fails to restore the device itself ("restoring it
      // failed"), while restoring the NIC's port profile brings its bridge back anyway.
      const ourBridges = new Set([...this.snapshot().shared].filter(([nic]) => interfaces.includes(nic)).map(([, bridge]) => bridge));
      const devices = nmDevices(this.cache)
        .filter((d) => d.real && interfaces.includes(d.name) && !ourBridges.has(d.name))
        .map((d) => d.path);
      // With our new profiles deleted on rollback (and by NM itself if we die), the bridge goes too.
      const checkpoint = await this.client.checkpointCreate(devices, rollbackTimeoutSeconds, CHECKPOINT_DELETE_NEW_CONNECTIONS);
      return {
        // Counts from now: if we die while a change awaits confirmation, NM rolls it back.
        keep: (seconds) => this.client.checkpointAdjustRollbackTimeout(checkpoint, seconds),
        commit: () => this.client.checkpointDestroy(checkpoint).finally(release),
        rollback: async () => {
          try {
            const results = await this.client.checkpointRollback(checkpoint);
            return [...results].filter(([, result]) => result !== ROLLBACK_OK).map(([path, result]) => this.unrestoredDevice(path, result));
          } finally {
            this.forgetDeletedProfiles();
            release();
          }
        },
      };
    } catch (err) {
      release();
      throw err;
    }
  }

  async applyShare(plan: SharePlan, progress: Progress, ready: Promise<void>): Promise<void> {
    const device = this.device(plan.nic);
    const original = this.activeProfile(device);
    const profiles = shareProfiles(plan, original?.settings);
    const add = async (settings: NmSettings): Promise<string> => {
      const path = await this.client.addConnection(settings, plan.persist);
      this.profiles.set(path, settings);
      return path;
    };
    // A static NIC's bridge comes up with its address before the port exists (see bridgeFirst).
    const staticBridge = getSetting(profiles.bridge, 'ipv4', 'method', t.string) === 'manual' ? staticAddresses(profiles.bridge) : [];
    try {
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
      const bridge = nmDevices(this.cache).find((d) => d.name === plan.bridge);
      const has = new Set(bridge === undefined ? [] : deviceAddresses(this.cache, bridge.path));
      return wanted.every((a) => has.has(a));
    };
    if (!(await this.until(carried, BRIDGE_ADDRESS_WAIT_MS))) {
      this.log.info(`${plan.bridge} did not carry ${wanted.join(', ')} within ${BRIDGE_ADDRESS_WAIT_MS} ms of its activation; adding ${plan.nic} as its port anyway`);
    }
  }

  /** Whether NM has a device named `name` on which the profile at `profilePath` can be activated. */
  private deviceOffers(name: string, profilePath: string): boolean {
    return nmDevices(this.cache).some((d) => d.name === name
      && (this.cache.property(d.path, NM_DEVICE, 'AvailableConnections', t.array(t.objectPath)) ?? []).includes(profilePath));
  }

  /** Resolves true once `condition` holds (checked at each change of NetworkManager's objects), false after `timeoutMs`. */
  private until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (held: boolean) => {
        clearTimeout(timer);
        this.changeWaiters.delete(check);
        resolve(held);
      };
      const check = () => { if (condition()) finish(true); };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.changeWaiters.add(check);
    });
  }

  async applyUnshare(plan: UnsharePlan, _progress: Progress, ready: Promise<void>): Promise<void> {
    await ready;
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
      originalPath = await this.client.addConnection(dhcpProfile(plan.nic, nicType), true);
    }
    await this.client.activateConnection(originalPath, device.path);
    const bridgeDevice = nmDevices(this.cache).find((d) => d.name === plan.bridge);
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
    for (const unsubscribe of this.unsubscribers.splice(0)) await unsubscribe();
    await this.cache.stop();
  }

  /** A device CheckpointRollback reports as not restored, in words. */
  private unrestoredDevice(path: string, result: number): string {
    const name = nmDevices(this.cache).find((d) => d.path === path)?.name ?? path;
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
    const device = nmDevices(this.cache).find((d) => d.name === name);
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
    await Promise.all(paths.map((path) => this.refreshProfile(path)));
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
      void this.loadProfiles();
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
    setImmediate(() => {
      this.notifying = false;
      if (!this.closed) for (const listener of this.listeners) listener();
    });
  }
}
