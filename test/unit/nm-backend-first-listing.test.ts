// SPDX-License-Identifier: GPL-2.0-or-later
// The NetworkManager backend's start at thousands of links: it is ready to list what a person's
// listing shows once the kernel's candidates, every profile and what our profiles name are read,
// and reads every other device after (`complete`). A fake NetworkManager holds its answers about
// the other devices, so the test sees the two steps apart.
import test from 'ava';
import { BusConnection } from '../../src/dbus-wire/bus-connection';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { MESSAGE_TYPE_ERROR } from '../../src/dbus-wire/bus-marshal';
import { listedByDefault } from '../../src/bridge/host-network';
import { NmBackend } from '../../src/settings/nm/nm-backend';
import { NmChangeRecords } from '../../src/settings/nm/nm-change-record';
import { TAG_BRIDGE, TAG_NIC, TAG_ROLE } from '../../src/settings/nm/nm-settings';
import { CLIENT_NAME, FakeBus, PEER_NAME, type LibraryMessage } from './fake-bus';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const NM = 'org.freedesktop.NetworkManager';
const NM_PATH = '/org/freedesktop/NetworkManager';
const DEVICES = `${NM_PATH}/Devices`;

interface FakeDevice { readonly name: string; readonly type: number; readonly managed: boolean }

/** eth0 (listed), br-eth1 (ours, as the profile's tag says) with eth1 its port, and 50 unmanaged veths. */
const devices = new Map<string, FakeDevice>([
  [`${DEVICES}/1`, { name: 'eth0', type: 1, managed: true }],
  [`${DEVICES}/2`, { name: 'eth1', type: 1, managed: true }],
  [`${DEVICES}/3`, { name: 'br-eth1', type: 13, managed: true }],
  ...Array.from({ length: 50 }, (_, i) => [`${DEVICES}/${i + 10}`, { name: `vb${i}`, type: 20, managed: false }] as const),
]);
const byName = new Map([...devices].map(([path, d]) => [d.name, path]));
const v = makeVariant;

function deviceProps(path: string, d: FakeDevice): Map<string, unknown> {
  return new Map(Object.entries({
    Interface: v('s', d.name), DeviceType: v('u', d.type), HwAddress: v('s', '52:54:00:00:00:01'), Managed: v('b', d.managed), State: v('u', 100),
    InterfaceFlags: v('u', 0x10000), Ports: v('ao', d.name === 'br-eth1' ? [byName.get('eth1') ?? ''] : []), ActiveConnection: v('o', '/'),
    Ip4Config: v('o', '/'), Ip6Config: v('o', '/'), Real: v('b', true), Path: v('s', path),
  }));
}

const tagged = (role: string) => new Map(Object.entries({
  connection: new Map(Object.entries({ id: v('s', `ours ${role}`), uuid: v('s', `0000000${role.length}-0000-4000-8000-000000000000`), type: v('s', 'ethernet') })),
  user: new Map([['data', v('a{ss}', { [TAG_ROLE]: role, [TAG_NIC]: 'eth1', [TAG_BRIDGE]: 'br-eth1' })]]),
}));
const profiles = new Map([[`${NM_PATH}/Settings/1`, tagged('port')], [`${NM_PATH}/Settings/2`, tagged('bridge')]]);

function answer(fake: FakeBus, msg: LibraryMessage): void {
  const error = (name: string) => fake.send({ type: MESSAGE_TYPE_ERROR, replySerial: msg.serial, destination: CLIENT_NAME, sender: PEER_NAME, errorName: name, signature: 's', body: ['no'] });
  const path = msg.path ?? '';
  const arg = String(msg.body?.[0]);
  if (msg.member === 'GetAll' && path === NM_PATH) fake.reply(msg, 'a{sv}', [new Map([['AllDevices', v('ao', [...devices.keys()])], ['ActiveConnections', v('ao', [])]])]);
  else if (msg.member === 'GetAll' && path.endsWith('/Settings')) fake.reply(msg, 'a{sv}', [new Map([['Connections', v('ao', [...profiles.keys()])]])]);
  else if (msg.member === 'GetAll' && arg === `${NM}.Device`) {
    const d = devices.get(path);
    if (d === undefined) error('org.freedesktop.DBus.Error.UnknownObject');
    else fake.reply(msg, 'a{sv}', [deviceProps(path, d)]);
  } else if (msg.member === 'GetAll') fake.reply(msg, 'a{sv}', [new Map([['Flags', v('u', 0)]])]);
  else if (msg.member === 'GetDeviceByIpIface') {
    const found = byName.get(arg);
    if (found === undefined) error(`${NM}.UnknownDevice`);
    else fake.reply(msg, 'o', [found]);
  } else if (msg.member === 'GetSettings') fake.reply(msg, 'a{sa{sv}}', [profiles.get(path)]);
  else error('org.freedesktop.DBus.Error.UnknownMethod');
}

test('the backend lists the kernel\'s candidates and our shared NIC before it has read every device', async (t) => {
  const fake = await FakeBus.start();
  const bus = await BusConnection.connect({ address: fake.address, log: quiet });
  const held: LibraryMessage[] = [];
  let holding = true;
  fake.onCall = (msg) => {
    // The devices nobody named: their answers wait until the test lets them go.
    const d = devices.get(msg.path ?? '');
    if (holding && msg.member === 'GetAll' && d !== undefined && d.name.startsWith('vb')) held.push(msg);
    else answer(fake, msg);
  };
  let backend: NmBackend | undefined;
  try {
    // The kernel's candidates: eth1 is a port (its controller is the kernel's word), the veths' peers are here.
    backend = await NmBackend.start(bus, quiet, new NmChangeRecords('/nonexistent/nm-changes', quiet), undefined, undefined, async () => ['eth0', 'br-eth1']);
    let complete = false;
    void backend.complete.then(() => { complete = true; });
    const listed = backend.snapshot().interfaces.filter(listedByDefault).map((i) => i.name).sort();
    t.deepEqual(listed, ['br-eth1', 'eth0', 'eth1']);
    t.is(backend.snapshot().shared.get('eth1'), 'br-eth1');
    const asked = fake.received.filter((m) => m.member === 'GetAll' && String(m.path).startsWith(DEVICES)).length;
    t.true(asked <= 3 + 64, `${asked} devices asked for before the first listing`);
    t.false(complete);

    holding = false;
    for (const msg of held.splice(0)) answer(fake, msg);
    await backend.complete;
    t.is(backend.snapshot().interfaces.length, devices.size);
    t.deepEqual(backend.snapshot().interfaces.filter(listedByDefault).map((i) => i.name).sort(), listed);
  } finally {
    await backend?.close();
    bus.close();
    await fake.stop();
  }
});
