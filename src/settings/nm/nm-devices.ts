// SPDX-License-Identifier: GPL-2.0-or-later
// NetworkManager's devices as the domain's HostInterfaces: pure translation from the object cache.
import * as t from '../../dbus-wire/bus-value';
import type { HostInterface, InterfaceType } from '../../bridge/host-network';
import { ShareError } from '../../bridge/share-error';
import { NM_DEVICE, NM_VETH, type NmObjects } from './nm-object-cache';

export { NM_DEVICE };
const NM_WIRELESS = 'org.freedesktop.NetworkManager.Device.Wireless';
const NM_IP4CONFIG = 'org.freedesktop.NetworkManager.IP4Config';
const NM_IP6CONFIG = 'org.freedesktop.NetworkManager.IP6Config';

// NMDeviceType values (libnm-core-public/nm-dbus-interface.h).
const DEVICE_TYPES: Readonly<Record<number, InterfaceType>> = {
  1: 'ethernet', 2: 'wifi', 10: 'bond', 11: 'vlan', 13: 'bridge', 15: 'team', 16: 'tun', 20: 'ethernet' /* veth */, 32: 'loopback',
};
const DEVICE_TYPE_VETH = 20;
// NMDeviceInterfaceFlags: the kernel reports carrier.
const INTERFACE_FLAG_CARRIER = 0x10000;
// NM80211Mode.
const WIFI_MODES: Readonly<Record<number, NonNullable<HostInterface['wifiMode']>>> = { 1: 'adhoc', 2: 'station', 3: 'ap', 4: 'mesh' };

const addressData = t.array(t.vardict);

export interface NmDevice {
  readonly path: string;
  readonly name: string;
  readonly deviceType: number;
  readonly mac: string;
  readonly managed: boolean;
  readonly state: number;
  readonly ports: readonly string[];
  readonly activeConnection: string;
  /**
   * False for NM's "unrealized" devices: software devices (a bridge whose profile is down) that
   * NM knows of but the kernel has not. Not interfaces of the host, and no checkpoint may name them.
   */
  readonly real: boolean;
}

export function nmDevices(cache: NmObjects): NmDevice[] {
  return [...cache.withInterface(NM_DEVICE)].map(([path]) => nmDevice(cache, path));
}

/** The device at `path` (absent properties read as their defaults). */
export function nmDevice(cache: NmObjects, path: string): NmDevice {
  const get = <T>(name: string, codec: t.Codec<T>, fallback: T): T => cache.property(path, NM_DEVICE, name, codec) ?? fallback;
  return {
    path,
    name: get('Interface', t.string, ''),
    deviceType: get('DeviceType', t.uint32, 0),
    mac: get('HwAddress', t.string, '').toLowerCase(),
    managed: get('Managed', t.boolean, false),
    state: get('State', t.uint32, 0),
    ports: get('Ports', t.array(t.objectPath), []),
    activeConnection: get('ActiveConnection', t.objectPath, '/'),
    real: get('Real', t.boolean, true),
  };
}

/** The device named `name`, without reading the others. */
export function deviceNamed(cache: NmObjects, name: string): NmDevice | undefined {
  const path = cache.devicePath(name);
  return path === undefined ? undefined : nmDevice(cache, path);
}

/** The device named `name`; a typed refusal when NetworkManager has none. */
export function requiredDevice(cache: NmObjects, name: string): NmDevice {
  const device = deviceNamed(cache, name);
  if (device === undefined) throw new ShareError('NoSuchInterface', `NetworkManager has no device named ${name}`);
  return device;
}

export function deviceAddresses(cache: NmObjects, devicePath: string): string[] {
  const out: string[] = [];
  for (const [prop, iface] of [['Ip4Config', NM_IP4CONFIG], ['Ip6Config', NM_IP6CONFIG]] as const) {
    const configPath = cache.property(devicePath, NM_DEVICE, prop, t.objectPath);
    if (configPath === undefined || configPath === '/') continue;
    for (const entry of cache.property(configPath, iface, 'AddressData', addressData) ?? []) {
      const address = entry.get('address');
      const prefix = entry.get('prefix');
      if (address?.signature === 's' && prefix?.signature === 'u') out.push(`${String(address.value)}/${String(prefix.value)}`);
    }
  }
  return out;
}

/** A device's description as far as it depends on its own objects (the device, its IP configurations). */
interface DeviceEntry {
  readonly versions: readonly [number, number, number];
  readonly ipConfigs: readonly [string, string];
  readonly device: NmDevice;
  /** Without controller and sharedThrough; undefined for what is no interface of the host (unrealized, nameless). */
  readonly iface: HostInterface | undefined;
}

/**
 * The domain's view of every device, each described again only when one of its own objects
 * changed: on a host with thousands of devices, a listing after a change reads what changed.
 * Told of each change of the cache (`changed`), it looks at those objects only, not every device.
 */
export class DeviceDescriptions {
  private entries = new Map<string, DeviceEntry>();
  /** The device naming each IP configuration: a change of one is a change of its device. */
  private readonly ipConfigOwners = new Map<string, string>();
  /** Objects changed since the last look; undefined: look at every device again. */
  private changedPaths: Set<string> | undefined;
  private current: DeviceEntry[] | undefined;

  constructor(private readonly cache: NmObjects) {}

  /** The object at `path` changed ('' for any of them, read again). */
  changed(path: string): void {
    this.current = undefined;
    if (path === '') this.changedPaths = undefined;
    else this.changedPaths?.add(path);
  }

  /** Every device NetworkManager has (also unrealized ones). */
  devices(): NmDevice[] {
    return this.up().map((entry) => entry.device);
  }

  /** The host's interfaces; `sharedThrough` comes from our profiles (see nm-profiles). */
  interfaces(sharedThrough: ReadonlyMap<string, string>): HostInterface[] {
    const entries = this.up();
    const controllerOf = new Map<string, string>();
    for (const { device } of entries) for (const port of device.ports) controllerOf.set(port, device.name);
    const out: HostInterface[] = [];
    for (const { device, iface } of entries) {
      if (iface === undefined) continue;
      const controller = controllerOf.get(device.path);
      const shared = sharedThrough.get(device.name);
      out.push(controller === undefined && shared === undefined ? iface : { ...iface, controller, sharedThrough: shared });
    }
    return out;
  }

  /** The entries, brought up to date: every device after a reading of all, else the changed ones. */
  private up(): DeviceEntry[] {
    if (this.current !== undefined) return this.current;
    if (this.changedPaths === undefined) {
      const entries = new Map<string, DeviceEntry>();
      for (const [path] of this.cache.withInterface(NM_DEVICE)) entries.set(path, this.entry(path));
      this.entries = entries;
      this.ipConfigOwners.clear();
      for (const [path, entry] of entries) this.own(path, entry);
    } else {
      for (const changed of this.changedPaths) {
        const path = this.ipConfigOwners.get(changed) ?? changed;
        const old = this.entries.get(path);
        if (old !== undefined) for (const config of old.ipConfigs) this.ipConfigOwners.delete(config);
        if (this.cache.get(path)?.has(NM_DEVICE) === true) {
          const entry = this.entry(path);
          this.entries.set(path, entry);
          this.own(path, entry);
        } else {
          this.entries.delete(path);
        }
      }
    }
    this.changedPaths = new Set();
    this.current = [...this.entries.values()];
    return this.current;
  }

  private own(path: string, entry: DeviceEntry): void {
    for (const config of entry.ipConfigs) if (config !== '/') this.ipConfigOwners.set(config, path);
  }

  private entry(path: string): DeviceEntry {
    const old = this.entries.get(path);
    const version = (p: string) => (p === '/' ? 0 : this.cache.version(p));
    if (old !== undefined && old.versions[0] === this.cache.version(path)
      && old.versions[1] === version(old.ipConfigs[0]) && old.versions[2] === version(old.ipConfigs[1])) return old;
    const device = nmDevice(this.cache, path);
    const ipConfigs = [this.cache.property(path, NM_DEVICE, 'Ip4Config', t.objectPath) ?? '/', this.cache.property(path, NM_DEVICE, 'Ip6Config', t.objectPath) ?? '/'] as const;
    return {
      versions: [this.cache.version(path), version(ipConfigs[0]), version(ipConfigs[1])],
      ipConfigs,
      device,
      iface: device.name !== '' && device.real ? this.describe(device) : undefined,
    };
  }

  /** NetworkManager names a veth's peer only when it is in the same namespace ('/' otherwise). */
  private veth(d: NmDevice): Pick<HostInterface, 'veth' | 'vethPeerHere'> {
    const peer = this.cache.property(d.path, NM_VETH, 'Peer', t.objectPath);
    return peer === undefined ? { veth: true } : { veth: true, vethPeerHere: peer !== '/' };
  }

  private describe(d: NmDevice): HostInterface {
    const flags = this.cache.property(d.path, NM_DEVICE, 'InterfaceFlags', t.uint32) ?? 0;
    const iface: HostInterface = {
      name: d.name,
      type: DEVICE_TYPES[d.deviceType] ?? 'other',
      mac: d.mac,
      carrier: (flags & INTERFACE_FLAG_CARRIER) !== 0,
      addresses: deviceAddresses(this.cache, d.path),
      sharedThrough: undefined,
      controller: undefined,
      managed: d.managed,
      ...(d.deviceType === DEVICE_TYPE_VETH ? this.veth(d) : {}),
    };
    if (d.deviceType !== 2) return iface;
    const mode = this.cache.property(d.path, NM_WIRELESS, 'Mode', t.uint32) ?? 0;
    return { ...iface, wifiMode: WIFI_MODES[mode] ?? 'unknown' };
  }
}

/** The domain's view of every device; `sharedThrough` comes from our profiles (see nm-profiles). */
export function hostInterfaces(cache: NmObjects, sharedThrough: ReadonlyMap<string, string>): HostInterface[] {
  return new DeviceDescriptions(cache).interfaces(sharedThrough);
}
