// SPDX-License-Identifier: GPL-2.0-or-later
// NetworkManager's D-Bus methods that we use, typed; every failure goes through translateNmError.
import { BusCallError, type BusConnection } from '../../dbus-wire/bus-connection';
import * as t from '../../dbus-wire/bus-value';
import { translateNmError } from './nm-errors';
import { NM_BUS_NAME, NM_PATH } from './nm-object-cache';
import { nmSettingsCodec, type NmSettings } from './nm-settings';

const NM = 'org.freedesktop.NetworkManager';
const SETTINGS_PATH = `${NM_PATH}/Settings`;
const SETTINGS = `${NM}.Settings`;
const CONNECTION = `${NM}.Settings.Connection`;

// NMSettingsAddConnection2Flags.
const ADD_TO_DISK = 0x1;
const ADD_IN_MEMORY = 0x2;
// NMCheckpointCreateFlags: on rollback, delete profiles made meanwhile (our bridge and port).
// Ports added from outside (libvirt's vnetX) are kept since NM 1.38.
export const CHECKPOINT_DELETE_NEW_CONNECTIONS = 0x2;

export class NmClient {
  constructor(private readonly bus: BusConnection) {}

  private async call(path: string, iface: string, member: string, signature: string, body: unknown[], doing: string): Promise<unknown[]> {
    try {
      return await this.bus.call({ destination: NM_BUS_NAME, path, interface: iface, member, signature, body, noAutoStart: true });
    } catch (err) {
      throw translateNmError(err, doing);
    }
  }

  async getSettings(connectionPath: string): Promise<NmSettings> {
    const [settings] = await this.call(connectionPath, CONNECTION, 'GetSettings', '', [], 'reading a profile');
    return nmSettingsCodec.decode(settings, 'GetSettings');
  }

  async addConnection(settings: NmSettings, persist: boolean): Promise<string> {
    const [path] = await this.call(SETTINGS_PATH, SETTINGS, 'AddConnection2', 'a{sa{sv}}ua{sv}',
      [nmSettingsCodec.encode(settings), persist ? ADD_TO_DISK : ADD_IN_MEMORY, {}], 'adding a profile');
    return t.objectPath.decode(path, 'AddConnection2');
  }

  /** The profile's object path, or undefined when NetworkManager has no profile with that UUID. */
  connectionByUuid(uuid: string): Promise<string | undefined> {
    return this.lookUp(SETTINGS_PATH, SETTINGS, 'GetConnectionByUuid', uuid, `${NM}.Settings.InvalidConnection`, 'looking up a profile');
  }

  /** Writes an in-memory profile to disk (NM: Save persists an unsaved or in-memory profile). */
  async saveConnection(connectionPath: string): Promise<void> {
    await this.call(connectionPath, CONNECTION, 'Save', '', [], 'saving a profile');
  }

  /** The device object of an interface, or undefined when NetworkManager has none of that name. */
  deviceByName(name: string): Promise<string | undefined> {
    return this.lookUp(NM_PATH, NM, 'GetDeviceByIpIface', name, `${NM}.UnknownDevice`, `looking up ${name}`);
  }

  /** An object path found by a key; undefined when NetworkManager answers `absent`. */
  private async lookUp(path: string, iface: string, member: string, key: string, absent: string, doing: string): Promise<string | undefined> {
    try {
      const [found] = await this.bus.call({ destination: NM_BUS_NAME, path, interface: iface, member, signature: 's', body: [key], noAutoStart: true });
      return t.objectPath.decode(found, member);
    } catch (err) {
      if (err instanceof BusCallError && err.errorName === absent) return undefined;
      throw translateNmError(err, doing);
    }
  }

  /** Removes a software device (a bridge) from the kernel. */
  async deleteDevice(devicePath: string): Promise<void> {
    await this.call(devicePath, `${NM}.Device`, 'Delete', '', [], 'deleting a device');
  }

  /** One property of one of NetworkManager's objects, read now (not from the object cache). */
  async property<T>(path: string, iface: string, name: string, codec: t.Codec<T>): Promise<T | undefined> {
    const [value] = await this.call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, name], `reading ${name}`);
    const variant = t.variant.decode(value, `${iface}.${name}`);
    return variant.signature === codec.signature ? codec.decode(variant.value, `${iface}.${name}`) : undefined;
  }

  async deleteConnection(connectionPath: string): Promise<void> {
    await this.call(connectionPath, CONNECTION, 'Delete', '', [], 'deleting a profile');
  }

  async activateConnection(connectionPath: string, devicePath: string): Promise<string> {
    const [active] = await this.call(NM_PATH, NM, 'ActivateConnection', 'ooo', [connectionPath, devicePath, '/'], 'activating a profile');
    return t.objectPath.decode(active, 'ActivateConnection');
  }

  async deactivateConnection(activePath: string): Promise<void> {
    await this.call(NM_PATH, NM, 'DeactivateConnection', 'o', [activePath], 'deactivating a profile');
  }

  async checkpointCreate(devicePaths: readonly string[], rollbackTimeoutSeconds: number, flags: number): Promise<string> {
    const [checkpoint] = await this.call(NM_PATH, NM, 'CheckpointCreate', 'aouu', [[...devicePaths], rollbackTimeoutSeconds, flags], 'creating a checkpoint');
    return t.objectPath.decode(checkpoint, 'CheckpointCreate');
  }

  /** The checkpoint rolls back by itself `seconds` from now (NM 1.12). */
  async checkpointAdjustRollbackTimeout(checkpoint: string, seconds: number): Promise<void> {
    await this.call(NM_PATH, NM, 'CheckpointAdjustRollbackTimeout', 'ou', [checkpoint, seconds], 'extending a checkpoint');
  }

  async checkpointDestroy(checkpoint: string): Promise<void> {
    await this.call(NM_PATH, NM, 'CheckpointDestroy', 'o', [checkpoint], 'destroying a checkpoint');
  }

  async checkpointRollback(checkpoint: string): Promise<Map<string, number>> {
    const [result] = await this.call(NM_PATH, NM, 'CheckpointRollback', 'o', [checkpoint], 'rolling back a checkpoint');
    return t.dict(t.uint32).decode(result, 'CheckpointRollback');
  }
}
