// SPDX-License-Identifier: GPL-2.0-or-later
// The page's client of the service, through cockpit.dbus on the system bus. Calls go with
// `superuser: "try"`: with Cockpit's administrative access on they run as root, otherwise as
// the logged-in user (who may read, and whom polkit asks or refuses for changes).
import { BUS_NAME, CONFIRM_TIMEOUT_SECONDS, INTERFACE_NAME, OBJECT_PATH, decodeInterfaces, decodePending, decodeProgress, decodeStringProperty, type ListedInterface, type PendingChange, type ProgressStep } from './api';

const PROPERTIES = 'org.freedesktop.DBus.Properties';
/** The options of Share and Unshare, as cockpit.dbus sends an a{sv}. */
type VarDict = Record<string, { t: string; v: unknown }>;

export interface ShareOptions {
  readonly bridge?: string;
  readonly stp?: boolean;
  readonly forwardDelay?: number;
}

export interface ServiceEvents {
  /** Something the list shows may have changed: InterfacesChanged, Shared or Pending, or the service restarted. */
  readonly changed: () => void;
  /** A step of a Share or Unshare in progress (the service's Progress signal, where it has one). */
  readonly progress: (step: ProgressStep) => void;
  /** The connection to the host is gone (Cockpit problem text). */
  readonly disconnected: (message: string) => void;
}

export class SharedInterfaceService {
  private readonly client: cockpit.DBusClient;
  private confirmable: Promise<boolean> | undefined;

  constructor(events: ServiceEvents) {
    this.client = cockpit.dbus(BUS_NAME, { bus: 'system', superuser: 'try' });
    this.client.subscribe({ path: OBJECT_PATH, interface: PROPERTIES, member: 'PropertiesChanged' }, (_p, _i, _s, args) => {
      // Shared (what the list shows) or Pending (changes awaiting Confirm).
      if (Array.isArray(args) && args[0] === INTERFACE_NAME) events.changed();
    });
    this.client.subscribe({ path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Progress' }, (_p, _i, _s, args) => {
      const step = decodeProgress(args);
      if (step !== undefined) events.progress(step);
    });
    // The listing's own signal, whoever changed it (NetworkManager, ifcfg files, the kernel).
    this.client.subscribe({ path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'InterfacesChanged' }, () => events.changed());
    // The service exits when idle and sees nothing while it is gone: a refresh (any call)
    // starts it again, and what changed meanwhile shows. A service that comes after a call gave
    // up waiting for it (a slow start on a host with thousands of links) is asked again too.
    this.client.addEventListener('owner', () => events.changed());
    const closed = (_e: unknown, options: { problem?: string; message?: string }) => events.disconnected(cockpit.message(options));
    this.client.addEventListener('close', closed);
  }

  /** The listing a person reads (ListInterfaces), or with `all` every interface (ListInterfacesFiltered). */
  async list(all = false): Promise<ListedInterface[]> {
    return decodeInterfaces(all
      ? await this.client.call(OBJECT_PATH, INTERFACE_NAME, 'ListInterfacesFiltered', [{ all: { t: 'b', v: true } }], { type: 'a{sv}' })
      : await this.client.call(OBJECT_PATH, INTERFACE_NAME, 'ListInterfaces', []));
  }

  /** The settings backend in use: "NetworkManager" or "ifcfg". */
  async backend(): Promise<string> {
    return decodeStringProperty(await this.client.call(OBJECT_PATH, PROPERTIES, 'Get', [INTERFACE_NAME, 'Backend']), 'Backend');
  }

  /** Changes awaiting Confirm; none where the service has no confirm-or-rollback. */
  async pending(): Promise<Map<string, PendingChange>> {
    if (!await this.canConfirm()) return new Map();
    return decodePending(await this.client.call(OBJECT_PATH, PROPERTIES, 'Get', [INTERFACE_NAME, 'Pending']));
  }

  /** Keeps (Confirm) or undoes (Rollback) a change awaiting confirmation, e.g. one a lost page left. */
  async settle(nic: string, how: 'Confirm' | 'Rollback'): Promise<void> {
    await this.client.call(OBJECT_PATH, INTERFACE_NAME, how, [nic], { type: 's' });
  }

  /**
   * Whether the service has confirm-or-rollback (confirm-timeout, Confirm, the Pending property):
   * asked by reading Pending, and known once the service has answered. Only a service that says
   * it has no such property lacks it; any other failure (the bus, a timeout) is the caller's
   * error and is asked again next time: it never quietly turns the safety net off.
   */
  canConfirm(): Promise<boolean> {
    this.confirmable ??= Promise.resolve(this.client.call(OBJECT_PATH, PROPERTIES, 'Get', [INTERFACE_NAME, 'Pending'])).then(() => true, (err: unknown) => {
      if (isUnknownProperty(err)) return false;
      this.confirmable = undefined;
      throw err;
    });
    return this.confirmable;
  }

  /**
   * A change under confirm-timeout where the service has it: confirmed only through a new channel
   * opened after the change, proof that this browser still reaches the host. If the change cut
   * the browser off, no Confirm comes and the host rolls back by itself.
   */
  private async change(nic: string, method: 'Share' | 'Unshare', options: VarDict, confirming: () => void): Promise<unknown[]> {
    const confirm = await this.canConfirm();
    const reply = await this.client.call(OBJECT_PATH, INTERFACE_NAME, method,
      [nic, confirm ? { ...options, 'confirm-timeout': { t: 'u', v: CONFIRM_TIMEOUT_SECONDS } } : options], { type: 'sa{sv}' });
    if (confirm) {
      confirming();
      const fresh = cockpit.dbus(BUS_NAME, { bus: 'system', superuser: 'try' });
      try {
        await fresh.call(OBJECT_PATH, INTERFACE_NAME, 'Confirm', [nic], { type: 's' });
      } finally {
        fresh.close();
      }
    }
    return reply;
  }

  async share(nic: string, options: ShareOptions, confirming: () => void = () => undefined): Promise<string> {
    const dict: VarDict = {};
    if (options.bridge !== undefined) dict['bridge'] = { t: 's', v: options.bridge };
    if (options.stp !== undefined) dict['stp'] = { t: 'b', v: options.stp };
    if (options.forwardDelay !== undefined) dict['forward-delay'] = { t: 'u', v: options.forwardDelay };
    const [bridge] = await this.change(nic, 'Share', dict, confirming);
    return typeof bridge === 'string' ? bridge : '';
  }

  async unshare(nic: string, force: boolean, confirming: () => void = () => undefined): Promise<void> {
    await this.change(nic, 'Unshare', force ? { force: { t: 'b', v: true } } : {}, confirming);
  }
}

/** A Properties.Get error saying the property does not exist (an older service without Pending). */
export function isUnknownProperty(err: unknown): boolean {
  const name = typeof err === 'object' && err !== null && 'name' in err ? (err as { name: unknown }).name : undefined;
  return name === 'org.freedesktop.DBus.Error.UnknownProperty' || name === 'org.freedesktop.DBus.Error.InvalidArgs';
}
