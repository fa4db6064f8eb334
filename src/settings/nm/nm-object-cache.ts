// SPDX-License-Identifier: GPL-2.0-or-later
// A live mirror of NetworkManager's D-Bus objects: one GetManagedObjects at start (and whenever
// NetworkManager restarts), then kept current by InterfacesAdded/Removed and PropertiesChanged.
// Queries are then answered from memory: ListInterfaces costs no bus round trip.
import type { BusConnection, BusMessage } from '../../dbus-wire/bus-connection';
import * as t from '../../dbus-wire/bus-value';

export const NM_BUS_NAME = 'org.freedesktop.NetworkManager';
export const NM_PATH = '/org/freedesktop/NetworkManager';
const OBJECT_MANAGER_PATH = '/org/freedesktop';
export const NM_DEVICE = 'org.freedesktop.NetworkManager.Device';
const MANAGED_OBJECTS_TIMEOUT_MS = 300_000;

/** interface name → property name → value (still a variant: decoded where it is used). */
export type NmObject = Map<string, Map<string, t.Variant>>;

const managedObjects = t.dict(t.dict(t.vardict));
const interfacesAdded = t.struct<[string, Map<string, Map<string, t.Variant>>]>(t.objectPath, t.dict(t.vardict));
const interfacesRemoved = t.struct<[string, string[]]>(t.objectPath, t.array(t.string));
const propertiesChanged = t.struct<[string, Map<string, t.Variant>, string[]]>(t.string, t.vardict, t.array(t.string));

/** Read access to a set of NetworkManager objects (the live cache, or fixed data in tests). */
export class NmObjects {
  /** Device name → object path, made when first asked for after a device came, went or was renamed. */
  private devicePaths: Map<string, string> | undefined;

  constructor(protected objects: Map<string, NmObject> = new Map()) {}

  /**
   * The device named `name`: a host with thousands of links has thousands of devices, and a Share
   * looks its few up at each of NetworkManager's signals.
   */
  devicePath(name: string): string | undefined {
    if (this.devicePaths === undefined) {
      this.devicePaths = new Map();
      for (const [path] of this.withInterface(NM_DEVICE)) {
        const deviceName = this.property(path, NM_DEVICE, 'Interface', t.string);
        if (deviceName === undefined || deviceName === '') continue;
        // A software device NM knows of but the kernel has not ("unrealized") may share its name
        // with the real one: the real one is the device.
        const other = this.devicePaths.get(deviceName);
        if (other === undefined || this.property(other, NM_DEVICE, 'Real', t.boolean) === false) this.devicePaths.set(deviceName, path);
      }
    }
    return this.devicePaths.get(name);
  }

  protected devicesChanged(): void {
    this.devicePaths = undefined;
  }

  /** Builds from GetManagedObjects' reply: checks it once, here. */
  static fromManagedObjects(reply: unknown): NmObjects {
    return new NmObjects(managedObjects.decode(reply, 'GetManagedObjects'));
  }

  get(path: string): NmObject | undefined {
    return this.objects.get(path);
  }

  /** Every object that implements `iface`. */
  *withInterface(iface: string): Iterable<[string, NmObject]> {
    for (const entry of this.objects) if (entry[1].has(iface)) yield entry;
  }

  /** One property, decoded; undefined when the object or property is absent or of another type. */
  property<T>(path: string, iface: string, name: string, codec: t.Codec<T>): T | undefined {
    const value = this.objects.get(path)?.get(iface)?.get(name);
    if (value === undefined || value.signature !== codec.signature) return undefined;
    return codec.decode(value.value, `${path} ${iface}.${name}`);
  }
}

export class NmObjectCache extends NmObjects {
  private readonly listeners: Array<(path: string) => void> = [];
  private readonly unsubscribers: Array<() => Promise<void>> = [];
  private generation = 0;

  constructor(private readonly bus: BusConnection) {
    super();
  }

  /** Subscribes first, then loads, so no change falls between the two. */
  async start(): Promise<void> {
    // Believed only from NetworkManager's owner now (BusConnection tracks it). Each subscription
    // is kept as soon as it is made, so stop() after a failed start removes every one.
    const nm = { sender: NM_BUS_NAME };
    this.unsubscribers.push(await this.bus.subscribe({ ...nm, path: OBJECT_MANAGER_PATH, interface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesAdded' }, (m) => this.onAdded(m)));
    this.unsubscribers.push(await this.bus.subscribe({ ...nm, path: OBJECT_MANAGER_PATH, interface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesRemoved' }, (m) => this.onRemoved(m)));
    this.unsubscribers.push(await this.bus.subscribe({ ...nm, pathNamespace: NM_PATH, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' }, (m) => this.onPropertiesChanged(m)));
    await this.reload();
  }

  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribers.splice(0)) await unsubscribe();
  }

  /** Reads every object afresh (at start, and when NetworkManager came back). */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    const [reply] = await this.bus.call({
      destination: NM_BUS_NAME, path: OBJECT_MANAGER_PATH, interface: 'org.freedesktop.DBus.ObjectManager',
      member: 'GetManagedObjects', noAutoStart: true,
      // NetworkManager 1.42 builds this answer in one go: at 5000 links it costs it seconds of CPU
      // (docs/scale.md), longer than a call's usual 25 s on a busy machine. A slow answer is
      // still the answer; giving up would leave the host without its backend.
      timeoutMs: MANAGED_OBJECTS_TIMEOUT_MS,
    });
    if (generation !== this.generation) return; // a newer reload won
    this.objects = managedObjects.decode(reply, 'GetManagedObjects');
    this.devicesChanged();
    this.notify('');
  }

  /** Called with the changed object's path ('' when everything may have changed). */
  onChange(listener: (path: string) => void): void {
    this.listeners.push(listener);
  }

  private onAdded(msg: BusMessage): void {
    const [path, ifaces] = interfacesAdded.decode(msg.body, 'InterfacesAdded');
    const object = this.objects.get(path) ?? new Map();
    for (const [iface, props] of ifaces) object.set(iface, props);
    this.objects.set(path, object);
    if (ifaces.has(NM_DEVICE)) this.devicesChanged();
    this.notify(path);
  }

  private onRemoved(msg: BusMessage): void {
    const [path, ifaces] = interfacesRemoved.decode(msg.body, 'InterfacesRemoved');
    const object = this.objects.get(path);
    if (object === undefined) return;
    for (const iface of ifaces) object.delete(iface);
    if (ifaces.includes(NM_DEVICE)) this.devicesChanged();
    if (object.size === 0) this.objects.delete(path);
    this.notify(path);
  }

  private onPropertiesChanged(msg: BusMessage): void {
    const [iface, changed] = propertiesChanged.decode(msg.body, 'PropertiesChanged');
    const props = this.objects.get(msg.path)?.get(iface);
    if (props === undefined) return; // not announced yet; InterfacesAdded will carry it
    for (const [name, value] of changed) props.set(name, value);
    if (iface === NM_DEVICE && changed.has('Interface')) this.devicesChanged();
    this.notify(msg.path);
  }

  private notify(path: string): void {
    for (const listener of this.listeners) listener(path);
  }
}
