// SPDX-License-Identifier: GPL-2.0-or-later
// A typed client of our D-Bus API for tests: what any other client would send and receive.
import { BusCallError, type BusConnection } from '../../src/dbus-wire/bus-connection';
import { Lab, type LabOptions, type LabProcess } from './lab';
import * as t from '../../src/dbus-wire/bus-value';
import { decodeInterfaceListing, type ListedInterface } from '../../src/service/interface-listing';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';

export type { ListedInterface };

export class ServiceClient {
  constructor(readonly bus: BusConnection) {}

  call(member: string, signature = '', body: unknown[] = [], timeoutMs = 180_000): Promise<unknown[]> {
    return this.bus.call({ destination: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member, signature, body, timeoutMs });
  }

  /** ListInterfaces; with `all`, ListInterfacesFiltered's every interface. */
  async listInterfaces(all = false): Promise<ListedInterface[]> {
    const [reply] = all ? await this.call('ListInterfacesFiltered', 'a{sv}', [{ all: t.makeVariant('b', true) }]) : await this.call('ListInterfaces');
    return decodeInterfaceListing(reply);
  }

  async share(nic: string, options: Record<string, t.Variant> = {}): Promise<string> {
    const [bridge] = await this.call('Share', 'sa{sv}', [nic, options]);
    return t.string.decode(bridge);
  }

  async unshare(nic: string, options: Record<string, t.Variant> = {}): Promise<void> {
    await this.call('Unshare', 'sa{sv}', [nic, options]);
  }

  async property(name: string): Promise<t.Variant> {
    const [value] = await this.bus.call({
      destination: BUS_NAME, path: OBJECT_PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get',
      signature: 'ss', body: [INTERFACE_NAME, name],
    });
    return t.variant.decode(value);
  }

  async shared(): Promise<Map<string, string>> {
    return t.fromVariant(t.dict(t.string), await this.property('Shared'));
  }

  async confirm(nic: string): Promise<void> {
    await this.call('Confirm', 's', [nic]);
  }

  async rollback(nic: string): Promise<void> {
    await this.call('Rollback', 's', [nic]);
  }

  /** NIC → [operation, bridge, deadline in CLOCK_REALTIME µs]. */
  async pending(): Promise<Map<string, [string, string, number]>> {
    return t.fromVariant(t.dict(t.struct<[string, string, number]>(t.string, t.string, t.uint64)), await this.property('Pending'));
  }

  /** Collects every Progress signal from now on, as [interface, step, message]. */
  async progress(): Promise<Array<[string, string, string]>> {
    const seen: Array<[string, string, string]> = [];
    await this.bus.subscribe({ sender: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Progress' }, (msg) => {
      seen.push(t.struct<[string, string, string]>(t.string, t.string, t.string).decode(msg.body, 'Progress'));
    });
    return seen;
  }
}

/**
 * What the daemon says about the host that a spoofed signal could change: Backend, Shared and
 * each interface's name, MAC, type and shareability (not its addresses: IPv6 ones come and go
 * on their own while the test runs).
 */
export async function daemonView(client: ServiceClient): Promise<unknown> {
  const backend = t.fromVariant(t.string, await client.property('Backend'));
  const interfaces = (await client.listInterfaces()).map(({ name, bridge, mac, type, shareable, reason }) => ({ name, bridge, mac, type, shareable, reason }));
  return { backend, interfaces, shared: [...await client.shared()] };
}

/** Runs `body` with a fresh lab, our daemon in it, and a client; tears it all down afterwards. */
export async function withLabService(options: LabOptions, body: (lab: Lab, client: ServiceClient, daemon: LabProcess) => Promise<void>): Promise<void> {
  const lab = await Lab.start(options);
  const bus = await lab.connect();
  try {
    const daemon = await lab.startDaemon();
    await body(lab, new ServiceClient(bus), daemon);
  } finally {
    bus.close();
    await lab.stop();
  }
}

/** The D-Bus error a call ended with ({ name: 'succeeded' } when it did not fail); anything else is rethrown. */
export async function callError(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BusCallError) return { name: err.errorName, message: err.message };
    throw err;
  }
  return { name: 'succeeded', message: '' };
}
