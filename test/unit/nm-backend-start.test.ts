// SPDX-License-Identifier: GPL-2.0-or-later
// A NetworkManager backend whose start fails (NetworkManager left between NameOwnerChanged and
// GetManagedObjects) takes back every signal subscription and match rule it made, so
// backends started again and again as NetworkManager comes and goes leak nothing.
import test from 'ava';
import { BusConnection } from '../../src/dbus-wire/bus-connection';
import { MESSAGE_TYPE_ERROR } from '../../src/dbus-wire/bus-marshal';
import { NmBackend } from '../../src/settings/nm/nm-backend';
import { NmChangeRecords } from '../../src/settings/nm/nm-change-record';
import { CLIENT_NAME, FakeBus, PEER_NAME } from './fake-bus';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

test('a backend start that fails removes the match rules it added', async (t) => {
  const fake = await FakeBus.start();
  const bus = await BusConnection.connect({ address: fake.address, log: quiet });
  try {
    // NetworkManager (PEER_NAME owns its name, says the fake driver) is gone by GetManagedObjects.
    fake.onCall = (msg) => {
      fake.send({ type: MESSAGE_TYPE_ERROR, replySerial: msg.serial, destination: CLIENT_NAME, sender: PEER_NAME, errorName: 'org.freedesktop.DBus.Error.ServiceUnknown', signature: 's', body: ['NetworkManager left'] });
    };
    await t.throwsAsync(NmBackend.start(bus, quiet, new NmChangeRecords('/nonexistent/nm-changes', quiet)));
    const rules = (member: string) => fake.received.filter((m) => m.member === member).map((m) => String(m.body?.[0])).sort();
    // The watch on NetworkManager's owner lasts as long as the connection; every other rule went.
    const added = rules('AddMatch').filter((r) => !r.includes("member='NameOwnerChanged'"));
    t.true(added.length >= 4, added.join('\n'));
    t.deepEqual(rules('RemoveMatch'), added);
  } finally {
    bus.close();
    await fake.stop();
  }
});
