// SPDX-License-Identifier: GPL-2.0-or-later
// Odd host states and hostile profiles, tried as a new user or an attacker would, with
// the real NetworkManager, dbus-daemon and polkitd of a sealed lab; the daemon runs as root.
import test from 'ava';
import { BusCallError } from '../../src/dbus-wire/bus-connection';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { TAG_BRIDGE, TAG_NIC, TAG_ORIGINAL, TAG_ROLE } from '../../src/settings/nm/nm-settings';
import { Lab, waitFor } from './lab';
import { callAs, NOBODY } from './lab-install';
import { activeProfiles, ipv4, keyfiles, links, networkState } from './nm-state';
import { callError, ServiceClient } from './service-client';

const RUN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';


/**
 * Adds a private profile for eth0 (what a user with settings.modify.own can make) through NM's own
 * AddConnection2, with busctl inside the lab (NM asks the caller's uid by its pid), tagged as given.
 */
async function addPrivateProfile(lab: Lab, id: string, uuid: string, tags: ReadonlyArray<readonly [string, string]>): Promise<void> {
  const connection = ['connection', '6', 'id', 's', id, 'uuid', 's', uuid, 'type', 's', '802-3-ethernet', 'interface-name', 's', 'eth0',
    'autoconnect', 'b', 'false', 'permissions', 'as', '1', 'user:nobody:'];
  const ip = ['ipv4', '1', 'method', 's', 'disabled', 'ipv6', '1', 'method', 's', 'disabled'];
  const user = tags.length === 0 ? [] : ['user', '1', 'data', 'a{ss}', String(tags.length), ...tags.flat()];
  await lab.exec(['busctl', 'call', 'org.freedesktop.NetworkManager', '/org/freedesktop/NetworkManager/Settings', 'org.freedesktop.NetworkManager.Settings',
    'AddConnection2', 'a{sa{sv}}ua{sv}', String(tags.length === 0 ? 3 : 4), ...connection, ...ip, ...user, '1', '0']);
}

test('kernel ports, forged tags, no-op Share, nothing spawned before polkit: one lab, in turn', async (t) => {
  const lab = await Lab.start();
  const bus = await lab.connect();
  try {
    // `ip` in the daemon's PATH logs each run: what runs before authorization is visible.
    await lab.sh(`mkdir -p /run/si-bin; printf '#!/bin/sh\\necho "$*" >>/run/si-ip.log\\nexec /usr/sbin/ip "$@"\\n' >/run/si-bin/ip; chmod +x /run/si-bin/ip; : >/run/si-ip.log`);
    await lab.startDaemon([], { PATH: `/run/si-bin:${RUN_PATH}` });
    const client = new ServiceClient(bus);

    // 1. A veth port of a kernel bridge NetworkManager doesn't manage: NotShareable at once, naming brx.
    // As a new user would: nothing up, so NetworkManager leaves brx unmanaged and vx0 looks free.
    await lab.sh('ip link add brx type bridge; ip link add vx0 type veth peer name vx0p; ip link set vx0 master brx');
    const vx0 = await waitFor('vx0 listed', async () => (await client.listInterfaces()).find((i) => i.name === 'vx0'));
    t.false(vx0.shareable);
    t.regex(vx0.reason, /already a port of brx/);
    const refused = await callError(client.bus.call({
      destination: 'org.fedoraproject.SharedInterface', path: '/org/fedoraproject/SharedInterface', interface: 'org.fedoraproject.SharedInterface',
      member: 'Share', signature: 'sa{sv}', body: ['vx0', {}], timeoutMs: 10_000,
    }));
    t.is(refused.name, 'org.fedoraproject.SharedInterface.Error.NotShareable');
    t.regex(refused.message, /brx/);
    t.false((await links(lab)).has('br-vx0'), 'nothing made');
    await lab.sh('ip link del vx0; ip link del brx');

    // 2. Private profiles tagged as ours (a port of eth0, and the "original" it names): ignored.
    const evilOriginal = 'e0000000-0000-4000-8000-000000000001';
    await addPrivateProfile(lab, 'evil original', evilOriginal, []);
    await addPrivateProfile(lab, 'evil port', 'e0000000-0000-4000-8000-000000000002',
      [[TAG_ROLE, 'port'], [TAG_NIC, 'eth0'], [TAG_BRIDGE, 'br-evil'], [TAG_ORIGINAL, evilOriginal]]);
    await waitFor('the forged profiles seen', () => (keyfiles(lab).size >= 3 ? true : undefined));
    const before = await networkState(lab);
    const eth0 = (await client.listInterfaces()).find((i) => i.name === 'eth0');
    t.is(eth0?.bridge, '', 'eth0 does not look shared');
    t.true(eth0?.shareable);
    t.deepEqual(await client.shared(), new Map());
    t.is((await callError(client.unshare('eth0'))).name, 'org.fedoraproject.SharedInterface.Error.NotShared');
    t.deepEqual(await networkState(lab), before, 'Unshare activated nothing');
    t.is(await client.share('eth0'), 'br-eth0', 'not AlreadyShared');
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));

    // 3. Share again, as a user polkit would not allow to change anything: the answer, at once.
    const again = await callAs(lab, NOBODY, 'Share', 'sa{sv}', ['eth0', '0'], { interactive: false });
    t.is(again.errorName, undefined, again.errorMessage);
    t.deepEqual(again.reply?.data, ['br-eth0']);
    const other = await callAs(lab, NOBODY, 'Share', 'sa{sv}', ['eth0', '1', 'bridge', 's', 'br9'], { interactive: false });
    t.is(other.errorName, 'org.fedoraproject.SharedInterface.Error.AlreadyShared');

    // 4. Unshare by a user who is refused: no process ran for them before polkit said no.
    await lab.sh(': >/run/si-ip.log');
    const denied = await callAs(lab, NOBODY, 'Unshare', 'sa{sv}', ['eth0', '0'], { interactive: false });
    t.regex(denied.errorName ?? '', /AccessDenied|InteractiveAuthorizationRequired/);
    t.is(await lab.sh('cat /run/si-ip.log'), '', 'ip ran before authorization');

    // Unshare by root brings back "Wired eth0", never the forged original; the forged profiles stay.
    await client.unshare('eth0');
    t.deepEqual(await activeProfiles(lab), ['Wired eth0:eth0']);
    t.truthy(ipv4((await links(lab)).get('eth0')));
    t.deepEqual([...keyfiles(lab).keys()], [...before.keyfiles.keys()]);
  } finally {
    bus.close();
    await lab.stop();
  }
});

test('two Shares asking for one bridge name: one wins, the other gets an error and changes nothing', async (t) => {
  const lab = await Lab.start();
  const bus = await lab.connect();
  try {
    await lab.startDaemon();
    const client = new ServiceClient(bus);
    await lab.sh(`
      ip link add eth1 address 52:54:00:12:34:57 type veth peer name lan1 netns lan
      ip -n lan link set lan1 master lanbr up
      nmcli connection add type ethernet ifname eth1 con-name 'Wired eth1' ipv4.method auto ipv6.method auto ipv6.addr-gen-mode eui64 >/dev/null
      nmcli --wait 30 connection up 'Wired eth1' >/dev/null`);
    await waitFor('eth1 to get a lease', async () => ipv4((await links(lab)).get('eth1')), 20_000);
    const before = await networkState(lab);
    const br0 = { bridge: makeVariant('s', 'br0') };
    const results = await Promise.allSettled([client.share('eth0', br0), client.share('eth1', br0)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.is(won.length, 1, JSON.stringify(results));
    t.is(lost.length, 1);
    const loser = lost[0]?.reason;
    t.true(loser instanceof BusCallError && /\.Error\.(Busy|InvalidArgs)$/.test(loser.errorName), String(loser));
    const winner = results[0]?.status === 'fulfilled' ? 'eth0' : 'eth1';
    const other = winner === 'eth0' ? 'eth1' : 'eth0';
    const now = await links(lab);
    t.is(now.get(winner)?.master, 'br0');
    t.is(now.get(other)?.master, undefined, 'the loser is not a port of anything');
    t.deepEqual(await client.shared(), new Map([[winner, 'br0']]));
    // The loser's NIC and profiles are as they were.
    t.deepEqual((await activeProfiles(lab)).filter((p) => p.endsWith(`:${other}`)), before.active.filter((p) => p.endsWith(`:${other}`)));
    t.deepEqual([...keyfiles(lab).keys()].filter((k) => k.includes(other) && !k.startsWith('Wired')), [], `no profile for ${other}`);
  } finally {
    bus.close();
    await lab.stop();
  }
});
