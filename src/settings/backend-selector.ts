// SPDX-License-Identifier: GPL-2.0-or-later
// Chooses the settings backend: NetworkManager while it is on the bus, otherwise the ifcfg
// fallback (when configured). Watches NameOwnerChanged, so NetworkManager appearing or leaving
// switches the backend; a request in flight keeps the backend object it started with.
import type { BusConnection } from '../dbus-wire/bus-connection';
import * as t from '../dbus-wire/bus-value';
import { type Log, errorDetail } from '../log';
import type { SettingsBackend } from '../bridge/settings-backend';
import { NmBackend } from './nm/nm-backend';
import type { NmChangeRecords } from './nm/nm-change-record';
import { NM_BUS_NAME } from './nm/nm-object-cache';


const nameOwnerChanged = t.struct<[string, string, string]>(t.string, t.string, t.string);

export class BackendSelector {
  private backend: SettingsBackend | undefined;
  private readonly listeners: Array<() => void> = [];
  private switching: Promise<void> = Promise.resolve();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly bus: BusConnection,
    private readonly log: Log,
    /** NetworkManager's change records, kept across its restarts (each NmBackend finishes what it finds). */
    private readonly nmRecords: NmChangeRecords,
    /** The fallback when NetworkManager is absent; undefined: none. */
    private readonly fallback: () => Promise<SettingsBackend | undefined> = async () => undefined,
  ) {}

  get current(): SettingsBackend | undefined {
    return this.backend;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    // Believed only from the bus driver (BusConnection checks the sender before reading the body).
    this.unsubscribe = await this.bus.subscribe(
      { sender: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameOwnerChanged', arg0: NM_BUS_NAME },
      (msg) => {
        const [, , newOwner] = nameOwnerChanged.decode(msg.body, 'NameOwnerChanged');
        this.queueSwitch(newOwner !== '');
      },
    );
    const [hasOwner] = await this.bus.call({
      destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus',
      member: 'NameHasOwner', signature: 's', body: [NM_BUS_NAME],
    });
    this.queueSwitch(hasOwner === true);
    await this.switching;
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
    await this.switching;
    await this.backend?.close();
  }

  private queueSwitch(networkManagerPresent: boolean): void {
    this.switching = this.switching.then(() => this.switchTo(networkManagerPresent)).catch((err: unknown) => {
      this.log.error(`cannot switch settings backend: ${errorDetail(err)}`);
    });
  }

  private async switchTo(networkManagerPresent: boolean): Promise<void> {
    const previous = this.backend;
    this.backend = undefined;
    await previous?.close();
    const next = networkManagerPresent ? await NmBackend.start(this.bus, this.log, this.nmRecords) : await this.fallback();
    this.backend = next;
    next?.onChange(() => this.notify());
    this.log.info(`settings backend: ${next?.description.name ?? 'none'}`);
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
