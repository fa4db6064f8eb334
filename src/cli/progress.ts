// SPDX-License-Identifier: GPL-2.0-or-later
// Progress lines while a change runs: the service's Progress signals for one interface, each on
// a line with the seconds since the command started. Only on a terminal, never with --json.
import type { BusConnection } from '../dbus-wire/bus-connection';
import * as t from '../dbus-wire/bus-value';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../service/shared-interface-spec';

const progressArgs = t.struct<[string, string, string]>(t.string, t.string, t.string);

/** Prints the Progress of `iface` with `write` until the returned function is called. */
export async function showProgress(bus: BusConnection, iface: string, write: (line: string) => void, started = Date.now()): Promise<() => Promise<void>> {
  return bus.subscribe({ sender: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Progress', arg0: iface }, (msg) => {
    const [nic, step, message] = progressArgs.decode(msg.body, 'Progress');
    if (nic !== iface) return;
    write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${step}: ${message}`);
  });
}
