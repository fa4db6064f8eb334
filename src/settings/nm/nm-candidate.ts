// SPDX-License-Identifier: GPL-2.0-or-later
// NetworkManager as a settings backend candidate: it applies while it owns its bus name, followed
// through the bus driver's NameOwnerChanged.
import type { BusConnection } from '../../dbus-wire/bus-connection';
import * as t from '../../dbus-wire/bus-value';
import type { Clock } from '../../clock';
import type { GuestRouting } from '../../bridge/guest-routing';
import type { Log } from '../../log';
import type { BackendCandidate } from '../backend-candidate';
import { NmBackend } from './nm-backend';
import type { NmChangeRecords } from './nm-change-record';
import { NM_BUS_NAME } from './nm-object-cache';

const nameOwnerChanged = t.struct<[string, string, string]>(t.string, t.string, t.string);

export function networkManagerCandidate(bus: BusConnection, log: Log, records: NmChangeRecords, clock: Clock, routing?: GuestRouting): BackendCandidate {
  let onBus = false;
  return {
    name: 'NetworkManager',
    notApplicable: () => (onBus ? undefined : `${NM_BUS_NAME} is not on the bus`),
    remedy: 'start NetworkManager',
    start: () => NmBackend.start(bus, log, records, clock, routing),
    follow: async (changed) => {
      // Believed only from the bus driver (BusConnection checks the sender before reading the body).
      const unsubscribe = await bus.subscribe(
        { sender: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameOwnerChanged', arg0: NM_BUS_NAME },
        (msg) => {
          const [, , newOwner] = nameOwnerChanged.decode(msg.body, 'NameOwnerChanged');
          onBus = newOwner !== '';
          changed();
        },
      );
      const [hasOwner] = await bus.call({
        destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus',
        member: 'NameHasOwner', signature: 's', body: [NM_BUS_NAME],
      });
      onBus = hasOwner === true;
      return unsubscribe;
    },
  };
}
