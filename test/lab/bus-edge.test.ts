// SPDX-License-Identifier: GPL-2.0-or-later
// The bus edge: what any local user may send to our name must not crash, mislead or
// stall the daemon. A raw-socket client (raw-bus-client.ts) sends what no library would, to the
// real daemon on the lab's real dbus-daemon with the real NetworkManager; afterwards the daemon
// still answers and says what NetworkManager says.
import test from 'ava';
import { MESSAGE_TYPE_METHOD_CALL, MESSAGE_TYPE_SIGNAL } from '../../src/dbus-wire/bus-marshal';
import * as t from '../../src/dbus-wire/bus-value';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';
import { join } from 'node:path';
import { daemonView, ServiceClient, withLabService } from './service-client';
import { RawBusClient, rawMessage } from './raw-bus-client';
import { Lab, REPO_ROOT, waitFor } from './lab';
import { asUser, callAs, NOBODY } from './lab-install';

const INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';
const LIMITS_EXCEEDED = 'org.freedesktop.DBus.Error.LimitsExceeded';
const NM = 'org.freedesktop.NetworkManager';

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

/** The daemon's unique name on the lab's bus. */
async function daemonName(client: ServiceClient): Promise<string> {
  const [owner] = await client.bus.call({
    destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus',
    member: 'GetNameOwner', signature: 's', body: [BUS_NAME],
  });
  return t.string.decode(owner);
}

async function ethDevicePath(lab: Lab): Promise<string> {
  const out = await lab.sh(`busctl call ${NM} /org/freedesktop/NetworkManager ${NM} GetDeviceByIpIface s eth0`);
  const path = /"([^"]+)"/.exec(out)?.[1];
  if (path === undefined) throw new Error(`no device path for eth0: ${out}`);
  return path;
}

test('an fd-typed message without fds, a 16 MiB body and spoofed signals change nothing; the daemon answers throughout', async (t2) => {
  await withLabService({}, async (lab, client) => {
    const before = await daemonView(client);
    t2.is((before as { backend: string }).backend, 'NetworkManager');
    const raw = await RawBusClient.connect(lab.busAddress);
    try {
      // 1. Signature 'h' with no fd: Peer.Ping (the library's reader threw outside any catch), and Share.
      for (const [iface, member] of [['org.freedesktop.DBus.Peer', 'Ping'], [INTERFACE_NAME, 'Share']] as const) {
        const serial = raw.nextSerial();
        const reply = await raw.sendRaw(rawMessage({ type: MESSAGE_TYPE_METHOD_CALL, serial, path: OBJECT_PATH, interface: iface, member, destination: BUS_NAME, signature: 'h' }, u32(0)), serial);
        t2.is(reply.errorName, INVALID_ARGS, `${member} with 'h'`);
      }
      t2.deepEqual(await daemonView(client), before, 'after the fd-typed messages');

      // 2. A 16 MiB body (an av: the costliest to decode) is refused unread; the next call is answered (a generous deadline, not a timing).
      const size = 16 * 1024 * 1024;
      const serial = raw.nextSerial();
      const sent = Date.now();
      const huge = raw.sendRaw(rawMessage({ type: MESSAGE_TYPE_METHOD_CALL, serial, path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Share', destination: BUS_NAME, signature: 'av' },
        Buffer.concat([u32(size), Buffer.from([1, 0x79, 0, 0x61]).toString('latin1').repeat(size / 4)].map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b)))), serial, 120_000);
      t2.is((await huge).errorName, LIMITS_EXCEEDED);
      const refused = Date.now();
      const listed = await client.call('ListInterfaces', '', [], 10_000);
      t2.true(Array.isArray(listed[0]));
      // Measured, not asserted (the benchmark's job): before, no answer came within 120 s.
      t2.log(`16 MiB av: refused ${refused - sent} ms after sending, ListInterfaces answered ${Date.now() - refused} ms after that`);

      // 3. Spoofed signals from an ordinary connection, broadcast and addressed to the daemon.
      const daemon = await daemonName(client);
      const device = await ethDevicePath(lab);
      for (const destination of [undefined, daemon]) {
        const to = destination === undefined ? {} : { destination };
        raw.send({ type: MESSAGE_TYPE_SIGNAL, ...to, path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'NameOwnerChanged', signature: 'sss', body: [NM, ':1.1', ''] });
        raw.send({
          type: MESSAGE_TYPE_SIGNAL, ...to, path: '/org/freedesktop', interface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesAdded', signature: 'oa{sa{sv}}',
          body: ['/org/freedesktop/NetworkManager/Devices/999', {
            'org.freedesktop.NetworkManager.Device': {
              Interface: t.makeVariant('s', 'fake0'), DeviceType: t.makeVariant('u', 1), HwAddress: t.makeVariant('s', '52:54:00:66:66:66'),
              Managed: t.makeVariant('b', true), State: t.makeVariant('u', 100), Real: t.makeVariant('b', true),
            },
          }],
        });
        raw.send({
          type: MESSAGE_TYPE_SIGNAL, ...to, path: device, interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', signature: 'sa{sv}as',
          body: ['org.freedesktop.NetworkManager.Device', { HwAddress: t.makeVariant('s', '52:54:00:66:66:66'), Interface: t.makeVariant('s', 'evil0') }, []],
        });
      }
      // A round trip through the daemon after the signals: they have all been read by then.
      await raw.call({ destination: BUS_NAME, path: OBJECT_PATH, interface: 'org.freedesktop.DBus.Peer', member: 'Ping' });
      t2.deepEqual(await daemonView(client), before, 'after the spoofed signals');
    } finally {
      raw.close();
    }
  });
});

test('64 interactive authorizations pending from one caller (a silent agent) delay neither another caller\'s check nor root\'s change; root needs no polkit; each change leaves an audit line', async (t2) => {
  const lab = await Lab.start({});
  const bus = await lab.connect();
  try {
    const daemon = await lab.startDaemon();
    const client = new ServiceClient(bus);
    // An unprivileged user whose agent never answers asks for 64 interactive authorizations.
    const agent = lab.spawn(asUser(NOBODY, ['node', join(REPO_ROOT, 'dist', 'test', 'lab', 'silent-polkit-agent.js'), '64']));
    await agent.waitForOutput(/registered as /, 30_000);
    // polkit asked the agent: a check is pending, and stays so.
    await agent.waitForOutput(/^begin$/m, 60_000);
    // The calls beyond the first are refused at once (one pending authorization per caller).
    await waitFor('63 calls of the agent answered', () => ((agent.output.match(/^reply \d+ /gm) ?? []).length >= 63 ? true : undefined), 60_000);
    t2.regex(agent.output, /^reply \d+ org\.fedoraproject\.SharedInterface\.Error\.Busy$/m);

    // Another user's check is answered (polkit says no: that user has no agent either).
    const other = await callAs(lab, '1:1', 'Share', 'sa{sv}', ['eth0', '0']);
    t2.is(other.errorName, 'org.freedesktop.DBus.Error.AccessDenied', other.errorMessage);

    // Root needs no polkit, and its change (checkpoint, commit) goes through meanwhile.
    t2.is(await client.share('eth0'), 'br-eth0');
    await client.unshare('eth0');
    t2.regex(daemon.output, /<6>audit: uid=0 pid=\d+ Share nic=eth0 bridge=\(default\) mode=bridge: committed \(br-eth0\)/);
    t2.regex(daemon.output, /<6>audit: uid=0 pid=\d+ Unshare nic=eth0 bridge=br-eth0: committed/);
    t2.notRegex(daemon.output, /audit: uid=65534/, 'nothing of the agent\'s was applied');

    // The agent leaves: its pending check is cancelled.
    agent.kill('SIGKILL');
    await daemon.waitForOutput(/left the bus: cancelling its authorization check/, 30_000);
    t2.true(daemon.running);
  } finally {
    bus.close();
    await lab.stop();
  }
});
