// SPDX-License-Identifier: GPL-2.0-or-later
// A typed client of our D-Bus API for tests: the CLI's own calls (src/cli/cli-service.ts), as one
// object per connection, plus what only tests ask for (the Progress signals they compare).
import type { ExecutionContext } from 'ava';
import { BusCallError, type BusConnection } from '../../src/dbus-wire/bus-connection';
import { Lab, type LabOptions, type LabProcess } from './lab';
import * as t from '../../src/dbus-wire/bus-value';
import {
  callService, listInterfaces, pendingChanges, serviceProperty, sharedInterfaces, type ListedInterface, type PendingChange,
} from '../../src/cli/cli-service';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';

export type { ListedInterface, PendingChange };

export class ServiceClient {
  constructor(readonly bus: BusConnection) {}

  /** Without interactive authorization, as busctl and gdbus call by default: polkit answers at once. */
  call(member: string, signature = '', body: unknown[] = [], timeoutMs = 180_000): Promise<unknown[]> {
    return callService(this.bus, member, signature, body, timeoutMs, false);
  }

  /** ListInterfaces; with `all`, ListInterfacesFiltered's every interface. */
  listInterfaces(all = false): Promise<ListedInterface[]> {
    return listInterfaces(this.bus, all);
  }

  async share(nic: string, options: Record<string, t.Variant> = {}): Promise<string> {
    const [bridge] = await this.call('Share', 'sa{sv}', [nic, options]);
    return t.string.decode(bridge);
  }

  async unshare(nic: string, options: Record<string, t.Variant> = {}): Promise<void> {
    await this.call('Unshare', 'sa{sv}', [nic, options]);
  }

  property(name: string): Promise<t.Variant> {
    return serviceProperty(this.bus, name);
  }

  shared(): Promise<Map<string, string>> {
    return sharedInterfaces(this.bus);
  }

  async confirm(nic: string): Promise<void> {
    await this.call('Confirm', 's', [nic]);
  }

  async rollback(nic: string): Promise<void> {
    await this.call('Rollback', 's', [nic]);
  }

  /** The Pending property: NIC → operation, bridge and deadline (ms since the epoch). */
  pending(): Promise<Map<string, PendingChange>> {
    return pendingChanges(this.bus);
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

/** Asserts that a call fails with the D-Bus error `name`, its message matching `message` if given. */
export async function expectBusError(t: ExecutionContext, promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  const err = await t.throwsAsync(promise, { instanceOf: BusCallError });
  t.is(err?.errorName, name, err?.message);
  t.log(`${err?.errorName ?? ''}: ${err?.message ?? ''}`);
  if (message) t.regex(err?.message ?? '', message);
}
