// SPDX-License-Identifier: GPL-2.0-or-later
// A live mirror of the NetworkManager objects we read: each object read by itself at start
// (Properties.GetAll of the one interface we use), then kept current by InterfacesAdded/Removed and
// PropertiesChanged. Queries are then answered from memory: ListInterfaces costs no bus round trip.
import { BusCallError, type BusConnection, type BusMessage } from '../../dbus-wire/bus-connection';
import * as t from '../../dbus-wire/bus-value';
import { type Clock, systemClock } from '../../clock';

export const NM_BUS_NAME = 'org.freedesktop.NetworkManager';
export const NM_PATH = '/org/freedesktop/NetworkManager';
const OBJECT_MANAGER_PATH = '/org/freedesktop';
const NM = 'org.freedesktop.NetworkManager';
export const NM_DEVICE = `${NM}.Device`;
const NM_WIRELESS = `${NM}.Device.Wireless`;
export const NM_VETH = `${NM}.Device.Veth`;
const SETTINGS_PATH = `${NM_PATH}/Settings`;
const SETTINGS = `${NM}.Settings`;
export const SETTINGS_CONNECTION = `${NM}.Settings.Connection`;
export const ACTIVE_CONNECTION = `${NM}.Connection.Active`;
export const IP_CONFIGS = [['Ip4Config', `${NM}.IP4Config`], ['Ip6Config', `${NM}.IP6Config`]] as const;
// NMDeviceType values whose unmanaged devices no listing for a person shows (host-network.ts'
// listedByDefault): their addresses are read after the start, not before the first call.
const DEVICE_TYPE_TUN = 16;
const DEVICE_TYPE_VETH = 20;
const DEVICE_TYPE_LOOPBACK = 32;
const DEVICE_TYPE_WIFI = 2;
// The properties read of the objects there are thousands of (nm-devices.ts, nm-profile-store.ts, nm-apply-share.ts): only
// these are kept, and a change of any other is no change (at 5000 links the rest took ~15 MB).
const KEPT: Readonly<Record<string, ReadonlySet<string>>> = {
  [NM_DEVICE]: new Set(['Interface', 'DeviceType', 'HwAddress', 'Managed', 'State', 'Ports', 'ActiveConnection', 'Real', 'InterfaceFlags', 'AvailableConnections', 'Ip4Config', 'Ip6Config']),
  [IP_CONFIGS[0][1]]: new Set(['AddressData']),
  [IP_CONFIGS[1][1]]: new Set(['AddressData']),
};
// Where the objects kept are, below NM_PATH, and of which interface there when not of all.
const KEPT_NAMESPACES: ReadonlyArray<readonly [string, string?]> = [['Devices'], ['ActiveConnection'], ['IP4Config'], ['IP6Config'], ['Settings', SETTINGS_CONNECTION]];
// The system bus lets a connection wait for 128 replies at once (dbus-daemon's
// max_replies_per_connection); the readings at start stay well below it.
const READS_IN_FLIGHT = 64;
/** The readings nobody waits for (unlisted devices' addresses), spread thinner. */
const BACKGROUND_READS_IN_FLIGHT = 4;

/** interface name → property name → value (still a variant: decoded where it is used). */
export type NmObject = Map<string, Map<string, t.Variant>>;

const managedObjects = t.dict(t.dict(t.vardict));
const objectPaths = t.array(t.objectPath);
const interfacesAdded = t.struct<[string, Map<string, Map<string, t.Variant>>]>(t.objectPath, t.dict(t.vardict));
const interfacesRemoved = t.struct<[string, string[]]>(t.objectPath, t.array(t.string));
const propertiesChanged = t.struct<[string, Map<string, t.Variant>, string[]]>(t.string, t.vardict, t.array(t.string));

/** The device naming an IP configuration, and by which property. */
interface DeviceReference {
  readonly device: string;
  readonly prop: string;
}

/** Read access to a set of NetworkManager objects (the live cache, or fixed data in tests). */
export class NmObjects {
  /**
   * Device name → the devices of that name (a real one, maybe an unrealized one of the same name),
   * made when first asked for, then kept as devices come, go or are renamed: a Share adds and
   * removes a device, which must not cost a reading of every device's name.
   */
  private devicesByName: Map<string, string[]> | undefined;
  /** Device path → its name in devicesByName. */
  private readonly deviceNames = new Map<string, string>();
  /** A number that changes whenever the object at a path does: what is made of it is made again only then. */
  private readonly versions = new Map<string, number>();
  private lastVersion = 0;

  constructor(protected objects: Map<string, NmObject> = new Map()) {}

  /**
   * The device named `name`: a host with thousands of links has thousands of devices, and a Share
   * looks its few up at each of NetworkManager's signals.
   */
  devicePath(name: string): string | undefined {
    if (this.devicesByName === undefined) {
      this.devicesByName = new Map();
      for (const [path] of this.withInterface(NM_DEVICE)) this.indexDevice(path);
    }
    // A software device NM knows of but the kernel has not ("unrealized") may share its name
    // with the real one: the real one is the device.
    let found: string | undefined;
    for (const path of this.devicesByName.get(name) ?? []) {
      if (this.property(path, NM_DEVICE, 'Real', t.boolean) !== false) return path;
      found = path;
    }
    return found;
  }

  /** Every device may have changed (the objects were read again). */
  protected devicesChanged(): void {
    this.devicesByName = undefined;
    this.deviceNames.clear();
  }

  /** The device at `path` came, went or was renamed. */
  protected deviceChanged(path: string): void {
    if (this.devicesByName === undefined) return;
    const old = this.deviceNames.get(path);
    if (old !== undefined) {
      const paths = (this.devicesByName.get(old) ?? []).filter((p) => p !== path);
      if (paths.length === 0) this.devicesByName.delete(old);
      else this.devicesByName.set(old, paths);
      this.deviceNames.delete(path);
    }
    this.indexDevice(path);
  }

  private indexDevice(path: string): void {
    const name = this.property(path, NM_DEVICE, 'Interface', t.string);
    if (this.devicesByName === undefined || name === undefined || name === '') return;
    const paths = this.devicesByName.get(name);
    if (paths === undefined) this.devicesByName.set(name, [path]);
    else if (!paths.includes(path)) paths.push(path);
    this.deviceNames.set(path, name);
  }

  /** The object's version: equal while it is unchanged (0: never seen changing). */
  version(path: string): number {
    return this.versions.get(path) ?? 0;
  }

  protected touched(path: string): void {
    this.versions.set(path, ++this.lastVersion);
  }

  protected forget(path: string): void {
    this.versions.delete(path);
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
  /** The object lists of the last reload: what readAll reads. */
  private lists: { readonly devices: readonly string[]; readonly active: readonly string[]; readonly profiles: readonly string[] } | undefined;

  constructor(private readonly bus: BusConnection, private readonly clock: Clock = systemClock) {
    super();
  }

  /**
   * Subscribes first, then reads the manager's and the settings' objects, so no change falls
   * between the two. The devices follow: `readDevicesNamed` for the few a person's listing shows,
   * then `readAll` for the rest.
   */
  async start(): Promise<void> {
    // Believed only from NetworkManager's owner now (BusConnection tracks it). Each subscription
    // is kept as soon as it is made, so stop() after a failed start removes every one.
    const nm = { sender: NM_BUS_NAME };
    this.unsubscribers.push(await this.bus.subscribe({ ...nm, path: OBJECT_MANAGER_PATH, interface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesAdded' }, (m) => this.onAdded(m)));
    this.unsubscribers.push(await this.bus.subscribe({ ...nm, path: OBJECT_MANAGER_PATH, interface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesRemoved' }, (m) => this.onRemoved(m)));
    // Changes of the objects kept only: the manager's own (AllDevices, Devices: every device's
    // path, ~200 kB at 5000 links, sent whenever a bridge comes or goes) and the settings' object's
    // (every profile's path) are not ours to decode at each Share.
    for (const [namespace, arg0] of KEPT_NAMESPACES) {
      this.unsubscribers.push(await this.bus.subscribe({ ...nm, pathNamespace: `${NM_PATH}/${namespace}`, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', ...(arg0 === undefined ? {} : { arg0 }) }, (m) => this.onPropertiesChanged(m)));
    }
    await this.reload();
  }

  async stop(): Promise<void> {
    this.generation++;
    for (const unsubscribe of this.unsubscribers.splice(0)) await unsubscribe();
  }

  /**
   * Reads the manager's and the settings' objects, and notes every profile's object as there (its
   * own properties are read by `readAll`): the profile store reads each profile at once.
   * NetworkManager 1.42 builds GetManagedObjects' answer in one go, and at 5000 links that costs
   * it a minute of CPU on a busy machine (docs/scale.md), while reading each object's own
   * interface costs it ~40 times less: so each object we use is read by itself.
   */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.objects = new Map();
    this.lists = undefined;
    const [manager, settings] = await Promise.all([this.readRoot(generation, NM_PATH, NM), this.readRoot(generation, SETTINGS_PATH, SETTINGS)]);
    if (generation !== this.generation) return; // stopped, or a newer reload won
    const paths = (object: Map<string, t.Variant> | undefined, name: string) => {
      const value = object?.get(name);
      return value?.signature === 'ao' ? objectPaths.decode(value.value, name) : [];
    };
    this.lists = { devices: paths(manager, 'AllDevices'), active: paths(manager, 'ActiveConnections'), profiles: paths(settings, 'Connections') };
    for (const path of this.lists.profiles) {
      if (!this.objects.has(path)) this.objects.set(path, new Map([[SETTINGS_CONNECTION, new Map()]]));
    }
    this.notify('');
  }

  /**
   * The devices of these names (those a person's listing may show: the kernel's candidates and
   * the NICs our profiles name) with what their listing needs: their IP configurations, active
   * connections, Wi-Fi mode, veth peer. A name NetworkManager has no device of is skipped.
   */
  async readDevicesNamed(names: Iterable<string>): Promise<void> {
    const generation = this.generation;
    const devices: string[] = [];
    await inTurns([...names].filter((name) => this.devicePath(name) === undefined), async (name) => {
      const path = await this.deviceByName(name);
      if (path !== undefined && generation === this.generation) devices.push(path);
    });
    await inTurns(devices, (path) => this.readInto(generation, path, NM_DEVICE));
    if (generation !== this.generation) return;
    const active = devices.map((path) => this.property(path, NM_DEVICE, 'ActiveConnection', t.objectPath)).filter((path): path is string => path !== undefined && path !== '/');
    await this.readDetails(generation, devices, active);
    if (generation !== this.generation) return;
    this.devicesChanged();
    this.notify(NM_PATH);
  }

  /**
   * Every other object we use: the devices not read yet, the active connections, the profiles'
   * objects. Resolves once they and the addresses of devices a person's listing may show are
   * here; the addresses of the rest (unmanaged veths, taps) follow.
   */
  async readAll(): Promise<void> {
    const generation = this.generation;
    const lists = this.lists;
    if (lists === undefined) return;
    const unread = (iface: string) => (path: string) => this.objects.get(path)?.has(iface) !== true;
    const devices = lists.devices.filter(unread(NM_DEVICE));
    await inTurns([
      ...devices.map((path) => [path, NM_DEVICE] as const),
      ...lists.active.filter(unread(ACTIVE_CONNECTION)).map((path) => [path, ACTIVE_CONNECTION] as const),
      ...lists.profiles.filter((path) => this.objects.get(path)?.get(SETTINGS_CONNECTION)?.size === 0).map((path) => [path, SETTINGS_CONNECTION] as const),
    ], ([path, iface]) => this.readInto(generation, path, iface));
    if (generation !== this.generation) return;
    const [shown, hidden] = partition(devices, (path) => this.mayBeListed(path));
    await this.readDetails(generation, shown, []);
    if (generation !== this.generation) return;
    this.devicesChanged();
    // Told as a change of the manager's object: '' would mean everything, profiles too, again.
    this.notify(NM_PATH);
    // Few at a time: these thousands of readings go through the same bus daemon and event loop
    // as the calls served meanwhile, which 64 in flight held up by 10 to 30 ms each.
    void inTurns(this.ipConfigsOf(hidden), ([path, iface, of]) => this.readInto(generation, path, iface, of), BACKGROUND_READS_IN_FLIGHT)
      .then(() => { if (generation === this.generation) this.notify(NM_PATH); })
      .catch(() => undefined); // NetworkManager left: the next backend reads afresh
  }

  /** What a listing shows of these devices beyond their own object. */
  private async readDetails(generation: number, devices: readonly string[], active: readonly string[]): Promise<void> {
    const typed = (type: number) => devices.filter((path) => this.property(path, NM_DEVICE, 'DeviceType', t.uint32) === type);
    // A managed veth's peer decides whether a person's listing shows it (host-network.ts).
    const managedVeths = typed(DEVICE_TYPE_VETH).filter((path) => this.property(path, NM_DEVICE, 'Managed', t.boolean) === true);
    await inTurns<readonly [string, string, DeviceReference | undefined]>([
      ...typed(DEVICE_TYPE_WIFI).map((path) => [path, NM_WIRELESS, undefined] as const),
      ...managedVeths.map((path) => [path, NM_VETH, undefined] as const),
      ...active.filter((path) => this.objects.get(path)?.has(ACTIVE_CONNECTION) !== true).map((path) => [path, ACTIVE_CONNECTION, undefined] as const),
      ...this.ipConfigsOf(devices.filter((path) => this.mayBeListed(path))),
    ], ([path, iface, of]) => this.readInto(generation, path, iface, of));
  }

  /** The device object of an interface name; undefined when NetworkManager has none. */
  private async deviceByName(name: string): Promise<string | undefined> {
    try {
      const [path] = await this.bus.call({
        destination: NM_BUS_NAME, path: NM_PATH, interface: NM, member: 'GetDeviceByIpIface',
        signature: 's', body: [name], noAutoStart: true, timeoutMs: READ_TIMEOUT_MS,
      });
      return t.objectPath.decode(path, 'GetDeviceByIpIface');
    } catch (err) {
      if (err instanceof BusCallError && err.errorName === `${NM}.UnknownDevice`) return undefined;
      throw err;
    }
  }

  /** Whether a listing for a person may show the device: the rest's addresses can wait. */
  private mayBeListed(path: string): boolean {
    const type = this.property(path, NM_DEVICE, 'DeviceType', t.uint32);
    if (type === DEVICE_TYPE_LOOPBACK || type === DEVICE_TYPE_TUN) return false;
    return type !== DEVICE_TYPE_VETH || this.property(path, NM_DEVICE, 'Managed', t.boolean) === true;
  }

  /** The devices' IP configurations not read yet, each with the device that names it. */
  private ipConfigsOf(devices: readonly string[]): Array<readonly [string, string, DeviceReference]> {
    return devices.flatMap((device) => IP_CONFIGS.flatMap(([prop, iface]) => {
      const config = this.property(device, NM_DEVICE, prop, t.objectPath);
      return config === undefined || config === '/' || this.objects.get(config)?.has(iface) === true ? [] : [[config, iface, { device, prop }] as const];
    }));
  }

  /**
   * The manager's or the settings' object. NetworkManager owns its bus name before it has exported
   * them: a backend started on an empty mirror would tell the change records NetworkManager is
   * back, and their rollback would ask for objects it does not have yet.
   */
  private async readRoot(generation: number, path: string, iface: string): Promise<Map<string, t.Variant> | undefined> {
    const deadline = this.clock.now() + READ_TIMEOUT_MS;
    for (;;) {
      const props = await this.read(path, iface);
      if (props !== undefined || generation !== this.generation) return props;
      if (this.clock.now() > deadline) throw new Error(`NetworkManager has no ${path} after ${READ_TIMEOUT_MS / 1000} s on the bus`);
      await this.clock.sleep(ROOT_RETRY_MS);
    }
  }

  /** One interface of one object, read now; undefined when the object is gone. */
  private async read(path: string, iface: string): Promise<Map<string, t.Variant> | undefined> {
    try {
      const [props] = await this.bus.call({
        destination: NM_BUS_NAME, path, interface: 'org.freedesktop.DBus.Properties', member: 'GetAll',
        signature: 's', body: [iface], noAutoStart: true, timeoutMs: READ_TIMEOUT_MS,
      });
      return t.vardict.decode(props, `${path} ${iface}`);
    } catch (err) {
      // Gone between its listing and its reading: its removal signal came (or comes) too.
      if (err instanceof BusCallError && GONE_ERRORS.has(err.errorName)) return undefined;
      throw err;
    }
  }

  /**
   * Reads into the mirror. NetworkManager answers and signals in order on one connection: a
   * change signalled before this answer is in it, one signalled after it follows it. An object
   * gone meanwhile (an IP configuration the device replaced) is not kept.
   */
  private async readInto(generation: number, path: string, iface: string, of?: DeviceReference): Promise<void> {
    if (generation !== this.generation) return; // stopped, or a newer reload began
    const props = await this.read(path, iface);
    if (props === undefined || generation !== this.generation) return;
    if (of !== undefined && this.property(of.device, NM_DEVICE, of.prop, t.objectPath) !== path) return;
    const object = this.objects.get(path) ?? new Map<string, Map<string, t.Variant>>();
    object.set(iface, kept(iface, props));
    this.objects.set(path, object);
    this.touched(path);
  }

  /** Called with the changed object's path ('' when everything may have changed). */
  onChange(listener: (path: string) => void): void {
    this.listeners.push(listener);
  }

  private onAdded(msg: BusMessage): void {
    const [path, ifaces] = interfacesAdded.decode(msg.body, 'InterfacesAdded');
    const object = this.objects.get(path) ?? new Map();
    for (const [iface, props] of ifaces) object.set(iface, kept(iface, props));
    this.objects.set(path, object);
    this.touched(path);
    if (ifaces.has(NM_DEVICE)) this.deviceChanged(path);
    this.notify(path);
  }

  private onRemoved(msg: BusMessage): void {
    const [path, ifaces] = interfacesRemoved.decode(msg.body, 'InterfacesRemoved');
    const object = this.objects.get(path);
    if (object === undefined) return;
    for (const iface of ifaces) object.delete(iface);
    this.touched(path);
    if (ifaces.includes(NM_DEVICE)) this.deviceChanged(path);
    if (object.size === 0) {
      this.objects.delete(path);
      this.forget(path);
    }
    this.notify(path);
  }

  private onPropertiesChanged(msg: BusMessage): void {
    const [iface, changed] = propertiesChanged.decode(msg.body, 'PropertiesChanged');
    const props = this.objects.get(msg.path)?.get(iface);
    if (props === undefined) return; // not announced yet; InterfacesAdded will carry it
    const names = KEPT[iface];
    let any = false;
    for (const [name, value] of changed) {
      if (names !== undefined && !names.has(name)) continue;
      props.set(name, value);
      any = true;
    }
    if (!any) return;
    this.touched(msg.path);
    if (iface === NM_DEVICE && changed.has('Interface')) this.deviceChanged(msg.path);
    this.notify(msg.path);
  }

  private notify(path: string): void {
    for (const listener of this.listeners) listener(path);
  }
}

// A reading waits as long as NetworkManager needs on a busy host rather than leave it without its backend.
const READ_TIMEOUT_MS = 300_000;
// How often a NetworkManager that is starting is asked again for its manager and settings objects.
const ROOT_RETRY_MS = 100;
const GONE_ERRORS = new Set(['org.freedesktop.DBus.Error.UnknownObject', 'org.freedesktop.DBus.Error.UnknownMethod', 'org.freedesktop.DBus.Error.UnknownInterface', 'org.freedesktop.DBus.Error.InvalidArgs']);

/** What is kept of an interface's properties (all of them where KEPT does not say). */
function kept(iface: string, props: Map<string, t.Variant>): Map<string, t.Variant> {
  const names = KEPT[iface];
  if (names === undefined) return props;
  const out = new Map<string, t.Variant>();
  for (const [name, value] of props) if (names.has(name)) out.set(name, value);
  return out;
}

/** Runs `work` on each item, at most READS_IN_FLIGHT at a time; rejects with the first failure. */
export async function inTurns<T>(items: readonly T[], work: (item: T) => Promise<void>, inFlight = READS_IN_FLIGHT): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, worker));
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
