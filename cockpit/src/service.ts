// The page's client of the service, through cockpit.dbus on the system bus. Calls go with
// `superuser: "try"`: with Cockpit's administrative access on they run as root, otherwise as
// the logged-in user (who may read, and whom polkit asks or refuses for changes).
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH, decodeInterfaces, decodeProgress, sharedFromPropertiesChanged, type ListedInterface, type ProgressStep } from './api';

const NM_BUS_NAME = 'org.freedesktop.NetworkManager';
const NM_PATH = '/org/freedesktop/NetworkManager';

export interface ShareOptions {
  readonly bridge?: string;
  readonly stp?: boolean;
  readonly forwardDelay?: number;
}

export interface ServiceEvents {
  /** Something the list shows may have changed: our Shared property, or NetworkManager's devices. */
  readonly changed: () => void;
  /** A step of a Share or Unshare in progress (the service's Progress signal, where it has one). */
  readonly progress: (step: ProgressStep) => void;
  /** The connection to the host is gone (Cockpit problem text). */
  readonly disconnected: (message: string) => void;
}

export class SharedInterfaceService {
  private readonly client: cockpit.DBusClient;
  private readonly nm: cockpit.DBusClient;

  constructor(events: ServiceEvents) {
    this.client = cockpit.dbus(BUS_NAME, { bus: 'system', superuser: 'try' });
    this.nm = cockpit.dbus(NM_BUS_NAME, { bus: 'system' });
    this.client.subscribe({ path: OBJECT_PATH, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' }, (_p, _i, _s, args) => {
      if (sharedFromPropertiesChanged(args) !== undefined) events.changed();
    });
    this.client.subscribe({ path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Progress' }, (_p, _i, _s, args) => {
      const step = decodeProgress(args);
      if (step !== undefined) events.progress(step);
    });
    // NetworkManager's devices: added, removed, their state and properties (addresses, carrier);
    // its IP configurations' addresses. Signals, never polling.
    this.nm.subscribe({ path: NM_PATH, interface: NM_BUS_NAME, member: 'DeviceAdded' }, () => events.changed());
    this.nm.subscribe({ path: NM_PATH, interface: NM_BUS_NAME, member: 'DeviceRemoved' }, () => events.changed());
    this.nm.subscribe({ path_namespace: `${NM_PATH}/Devices`, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' }, () => events.changed());
    this.nm.subscribe({ path_namespace: `${NM_PATH}/IP4Config`, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' }, () => events.changed());
    this.nm.subscribe({ path_namespace: `${NM_PATH}/IP6Config`, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' }, () => events.changed());
    const closed = (_e: unknown, options: { problem?: string; message?: string }) => events.disconnected(cockpit.message(options));
    this.client.addEventListener('close', closed);
  }

  async list(): Promise<ListedInterface[]> {
    return decodeInterfaces(await this.client.call(OBJECT_PATH, INTERFACE_NAME, 'ListInterfaces', []));
  }

  async share(nic: string, options: ShareOptions): Promise<string> {
    const dict: Record<string, { t: string; v: unknown }> = {};
    if (options.bridge !== undefined) dict['bridge'] = { t: 's', v: options.bridge };
    if (options.stp !== undefined) dict['stp'] = { t: 'b', v: options.stp };
    if (options.forwardDelay !== undefined) dict['forward-delay'] = { t: 'u', v: options.forwardDelay };
    const [bridge] = await this.client.call(OBJECT_PATH, INTERFACE_NAME, 'Share', [nic, dict], { type: 'sa{sv}' });
    return typeof bridge === 'string' ? bridge : '';
  }

  async unshare(nic: string, force: boolean): Promise<void> {
    await this.client.call(OBJECT_PATH, INTERFACE_NAME, 'Unshare', [nic, force ? { force: { t: 'b', v: true } } : {}], { type: 'sa{sv}' });
  }
}
