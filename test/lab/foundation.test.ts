// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon on a private system bus next to a real NetworkManager, in a sealed lab.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { Lab, REPO_ROOT } from './lab';
import { expectBusError, withLabService } from './service-client';

interface IpLink { ifname: string; address: string }

test('ListInterfaces shows the lab NIC as shareable ethernet with its real MAC; lo only with all, as not shareable', async (t) => {
  await withLabService({}, async (lab, client) => {
    const links = (await lab.ipJson('link show dev eth0')) as IpLink[];
    const interfaces = await client.listInterfaces();
    const eth0 = interfaces.find((i) => i.name === 'eth0');
    t.like(eth0, { type: 'ethernet', mac: links[0]?.address, carrier: true, shareable: true, reason: '', bridge: '' });
    t.true(eth0?.addresses.some((a) => a.startsWith('192.0.2.')), `eth0 has its DHCP address: ${String(eth0?.addresses)}`);
    t.is(interfaces.find((i) => i.name === 'lo'), undefined, 'a person\'s listing leaves the loopback out');
    const lo = (await client.listInterfaces(true)).find((i) => i.name === 'lo');
    t.like(lo, { type: 'loopback', shareable: false });
    t.regex(lo?.reason ?? '', /loopback/);
    t.deepEqual(await client.shared(), new Map());
    t.is((await client.property('Backend')).value, 'NetworkManager');
  });
});

test('busctl introspect in the lab shows the interface exactly as the committed XML says', async (t) => {
  await withLabService({ nicProfile: 'none' }, async (lab) => {
    const committed = readFileSync(join(REPO_ROOT, 'introspection', 'org.fedoraproject.SharedInterface.xml'), 'utf8');
    const answered = await lab.sh('busctl --json=short call org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.freedesktop.DBus.Introspectable Introspect');
    t.is((JSON.parse(answered) as { data: string[] }).data[0], committed);
    // And busctl's own reading of it lists each member with the signature the XML gives.
    const table = await lab.sh('busctl introspect --no-legend org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface');
    t.regex(table, /^\.ListInterfaces\s+method\s+-\s+a\(ssa\{sv\}\)/m);
    t.regex(table, /^\.Share\s+method\s+sa\{sv\}\s+s\s/m);
    t.regex(table, /^\.Unshare\s+method\s+sa\{sv\}\s+-\s/m);
    t.regex(table, /^\.Shared\s+property\s+a\{ss\}/m);
    t.regex(table, /^\.Version\s+property\s+s\s+"0\.1\.0"\s+const/m);
  });
});

test('bad input gets typed D-Bus errors', async (t) => {
  await withLabService({ nicProfile: 'none' }, async (_lab, client) => {
    const bus = client.bus;
    const expectError = (promise: Promise<unknown>, name: string, message?: RegExp) => expectBusError(t, promise, name, message);
    await expectError(client.share('et/h0'), 'org.freedesktop.DBus.Error.InvalidArgs', /et\/h0/);
    await expectError(client.share('x'.repeat(16)), 'org.freedesktop.DBus.Error.InvalidArgs', /16 bytes/);
    await expectError(client.share('eth0', { colour: makeVariant('s', 'red') }), 'org.freedesktop.DBus.Error.InvalidArgs', /colour/);
    await expectError(client.share('eth0', { stp: makeVariant('s', 'yes') }), 'org.freedesktop.DBus.Error.InvalidArgs');
    await expectError(client.share('nosuch0'), 'org.fedoraproject.SharedInterface.Error.NoSuchInterface');
    await expectError(client.unshare('eth0'), 'org.fedoraproject.SharedInterface.Error.NotShared');
    await expectError(client.call('Share', 's', ['eth0']), 'org.freedesktop.DBus.Error.InvalidArgs', /sa\{sv\}/);
    await expectError(client.call('Frobnicate'), 'org.freedesktop.DBus.Error.UnknownMethod');
    // The bus policy already refuses Properties.Set; the dispatcher would answer PropertyReadOnly.
    await expectError(bus.call({ destination: 'org.fedoraproject.SharedInterface', path: '/org/fedoraproject/SharedInterface', interface: 'org.freedesktop.DBus.Properties', member: 'Set', signature: 'ssv', body: ['org.fedoraproject.SharedInterface', 'Backend', makeVariant('s', 'ifcfg')] }),
      'org.freedesktop.DBus.Error.AccessDenied');
    t.is((await client.property('Backend')).value, 'NetworkManager');
  });
});

test('the daemon exits non-zero when its bus goes away, so its service manager restarts it', async (t) => {
  const lab = await Lab.start({ nicProfile: 'none' });
  try {
    const daemon = await lab.startDaemon();
    await lab.sh('pkill -x dbus-daemon');
    t.is(await daemon.waitForExit(), 1);
    t.regex(daemon.output, /lost the system bus/);
  } finally {
    await lab.stop();
  }
});
