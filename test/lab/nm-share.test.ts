// SPDX-License-Identifier: GPL-2.0-or-later
// Share and Unshare through NetworkManager, in the sealed lab, checked against the real state.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { BusCallError } from '../../src/dbus-wire/bus-connection';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { minRollbackTimeout } from '../../src/bridge/share-request';
import { REPO_ROOT, waitFor } from './lab';
import { addGuestNamespace, guestDhcp } from './lab-guests';
import { activeProfiles, globalAddresses, ipv4, keyfiles, links, networkState, parseKeyfile, pings, routes } from './nm-state';
import { callError, withLabService } from './service-client';

const NIC_MAC = '52:54:00:12:34:56';
/** The LAN advertises 2001:db8::/64: eth0's EUI-64 address. */
const EUI64_ADDRESS = '2001:db8::5054:ff:fe12:3456/64';


test('a DHCP NIC is shared: same IP and MAC, NIC enslaved, profiles on disk, guests get LAN leases; unshare restores it', async (t) => {
  await withLabService({}, async (lab, client, daemon) => {
    const before = await networkState(lab);
    const address = ipv4((await links(lab)).get('eth0'));
    t.truthy(address);
    const changes: unknown[] = [];
    await client.bus.subscribe({ sender: 'org.fedoraproject.SharedInterface', path: '/org/fedoraproject/SharedInterface', interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' }, (msg) => changes.push(msg.body[1]));

    t.is(await client.share('eth0'), 'br-eth0');

    const after = await links(lab);
    t.is(after.get('eth0')?.master, 'br-eth0');
    t.is(after.get('br-eth0')?.address, NIC_MAC);
    t.is(ipv4(after.get('br-eth0')), address, 'the bridge got the same lease');
    t.deepEqual(globalAddresses(after.get('eth0')), []);
    t.true((await routes(lab)).some((r) => r.dst === 'default' && r.dev === 'br-eth0'));
    t.true(await pings(lab, '192.0.2.1', 'br-eth0'));
    // ipv6.may-fail is yes (the default): like NetworkManager's activation, the call did not wait
    // for the router's advertisement; the daemon follows the EUI-64 address after it.
    await daemon.waitForOutput(/br-eth0 has its autoconfigured IPv6 address 2001:db8::5054:ff:fe12:3456\/64 again, \d+ ms after the change/, 30_000);
    t.true(globalAddresses((await links(lab)).get('br-eth0')).includes(EUI64_ADDRESS));
    // Profiles on disk, tagged as ours; the user's own keyfile is untouched.
    const files = keyfiles(lab);
    t.is(files.get('Wired eth0.nmconnection'), before.keyfiles.get('Wired eth0.nmconnection'));
    const bridgeFile = parseKeyfile(files.get('br-eth0 (shares eth0).nmconnection') ?? '');
    t.like(bridgeFile, { connection: { type: 'bridge', 'interface-name': 'br-eth0' }, bridge: { stp: false }, ethernet: { 'cloned-mac-address': NIC_MAC.toUpperCase() }, ipv4: { method: 'auto' } });
    const portFile = parseKeyfile(files.get('eth0 (port of br-eth0).nmconnection') ?? '');
    t.like(portFile, { connection: { 'slave-type': 'bridge', 'autoconnect-priority': '1' } });
    t.is(portFile['connection']?.['master'], bridgeFile['connection']?.['uuid']);
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    await waitFor('PropertiesChanged with Shared', () => (changes.length > 0 ? true : undefined), 5000);

    // A guest on the bridge is on the LAN: the LAN's DHCP server leases it an address. Its MAC
    // is lower than the NIC's: an unpinned bridge would take it; ours keeps the host's.
    const guest = await addGuestNamespace(lab, 'guest1', 'br-eth0', '02:00:00:00:00:01');
    const leased = await guestDhcp(lab, guest);
    t.regex(leased, /^192\.0\.2\.1\d\d$/);
    t.regex(readFileSync(join(lab.dir, 'dnsmasq.leases'), 'utf8'), /02:00:00:00:00:01/);
    t.is((await links(lab)).get('br-eth0')?.address, NIC_MAC);
    t.true((await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-c', '1', '-W', '2', leased], { allowFailure: true })).code === 0, 'the LAN reaches the guest');

    // Unshare refuses while a guest is attached, naming it; force cuts it off.
    const busy = await callError(client.unshare('eth0'));
    t.is(busy.name, 'org.fedoraproject.SharedInterface.Error.Busy');
    t.regex(busy.message, /vguest1/);
    await client.unshare('eth0', { force: makeVariant('b', true) });

    // eth0's EUI-64 address comes back with the next router advertisement, after the call.
    const restored = await waitFor('eth0 as it was, its IPv6 address back', async () => {
      const state = await networkState(lab);
      return isDeepStrictEqual(state.eth0, before.eth0) ? state : undefined;
    });
    t.deepEqual(restored.keyfiles, before.keyfiles, 'the profiles on disk are exactly as before');
    t.deepEqual(restored.active, before.active);
    t.false((await links(lab)).has('br-eth0'));
    t.deepEqual(await client.shared(), new Map());
  });
});

test('a static NIC is shared with its extra route, DNS and IPv6 address moved to the bridge', async (t) => {
  await withLabService({ nicProfile: 'static' }, async (lab, client) => {
    t.is(await client.share('eth0', { bridge: makeVariant('s', 'br0') }), 'br0');
    const br0 = (await links(lab)).get('br0');
    t.deepEqual(globalAddresses(br0), ['192.0.2.10/24', '2001:db8::10/64']);
    const v4 = await routes(lab);
    t.true(v4.some((r) => r.dst === 'default' && r.gateway === '192.0.2.1' && r.dev === 'br0'));
    t.true(v4.some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254' && r.dev === 'br0'));
    const dns = await lab.sh("nmcli -g ipv4.dns,ipv4.dns-search,ipv6.addresses connection show 'br0 (shares eth0)'");
    t.is(dns.trim(), '192.0.2.53\nlab.example\n2001\\:db8\\:\\:10/64');
    t.true(await pings(lab, '192.0.2.1', 'br0'));
    await client.unshare('eth0');
    t.deepEqual(globalAddresses((await links(lab)).get('eth0')), ['192.0.2.10/24', '2001:db8::10/64']);
    t.true((await routes(lab)).some((r) => r.dst === '198.51.100.0/24' && r.dev === 'eth0'));
  });
});

test('after a NetworkManager restart the bridge comes back by itself, a LAN link flap heals, and a bridge taken down by hand is still unshared', async (t) => {
  await withLabService({}, async (lab, client) => {
    await client.share('eth0');
    const address = ipv4((await links(lab)).get('br-eth0'));
    await lab.restartNetworkManager();
    await waitFor('the bridge back with its address', async () => {
      const now = await links(lab);
      return now.get('eth0')?.master === 'br-eth0' && ipv4(now.get('br-eth0')) === address ? true : undefined;
    }, 30_000);
    t.deepEqual(await activeProfiles(lab), ['br-eth0 (shares eth0):br-eth0', 'eth0 (port of br-eth0):eth0']);
    await waitFor('the daemon to follow NetworkManager back', async () => ((await client.shared()).get('eth0') === 'br-eth0' ? true : undefined), 10_000);

    await lab.sh('ip -n lan link set lan0 down; sleep 3; ip -n lan link set lan0 up');
    await waitFor('the gateway to answer again', async () => ((await pings(lab, '192.0.2.1', 'br-eth0')) ? true : undefined), 30_000);
    t.is(ipv4((await links(lab)).get('br-eth0')), address);
    t.is((await links(lab)).get('eth0')?.master, 'br-eth0');

    // The bridge taken down by hand (NM then has it only as an unrealized device): Unshare still
    // brings the NIC's own profile back.
    await lab.sh("nmcli connection down 'br-eth0 (shares eth0)' >/dev/null");
    await waitFor('br-eth0 gone', async () => ((await links(lab)).has('br-eth0') ? undefined : true), 20_000);
    // As a user would: once the service lists it no more (NM says "unrealized" a moment after the kernel).
    await waitFor('the service to see br-eth0 gone', async () => ((await client.listInterfaces()).some((i) => i.name === 'br-eth0') ? undefined : true), 10_000);
    await client.unshare('eth0');
    t.deepEqual(await activeProfiles(lab), ['Wired eth0:eth0']);
    t.is(ipv4((await links(lab)).get('eth0')), address);
  });
});

test('with no DHCP server the bridge gets no lease: RolledBack with that reason, nothing left, then the exact previous state', async (t) => {
  await withLabService({}, async (lab, client) => {
    const before = await networkState(lab);
    // A rollback timer shorter than verification needs would undo a good change: refused up front.
    const tooShort = await callError(client.share('eth0', {
      stp: makeVariant('b', true), 'forward-delay': makeVariant('u', 30), 'rollback-timeout': makeVariant('u', 15),
    }));
    t.is(tooShort.name, 'org.freedesktop.DBus.Error.InvalidArgs');
    t.regex(tooShort.message, /'rollback-timeout' must be at least \d+ seconds with STP/);
    t.deepEqual(await networkState(lab), before);

    // The LAN's DHCP server stops answering: the bridge never gets the NIC's lease. With default
    // options the call ends (its deadline is the domain's, proven in test/unit/sharing.test.ts).
    await lab.sh(`kill -STOP "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const started = Date.now();
    const failure = await callError(client.share('eth0'));
    t.log(`Share until RolledBack took ${Date.now() - started} ms`);
    t.is(failure.name, 'org.fedoraproject.SharedInterface.Error.RolledBack');
    t.regex(failure.message, /could not be verified: .*br-eth0 lacks the address 192\.0\.2\.\d+\/24/);
    t.regex(failure.message, /everything was put back/);
    // Nothing left: no bridge, no profile of ours, the user's profile active again.
    await waitFor('br-eth0 gone', async () => ((await links(lab)).has('br-eth0') ? undefined : true), 20_000);
    t.deepEqual(keyfiles(lab), before.keyfiles);
    t.deepEqual(await client.shared(), new Map());
    await waitFor('"Wired eth0" active again', async () => ((await activeProfiles(lab)).includes('Wired eth0:eth0') ? true : undefined), 20_000);
    // The server answers again: the NIC gets its lease back, as it was.
    await lab.sh(`kill -CONT "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const after = await waitFor('eth0 to have all its addresses back', async () => {
      const now = await networkState(lab);
      return now.eth0.length === before.eth0.length ? now : undefined;
    }, 90_000);
    t.deepEqual(after, before);
  });
});

test('every refusal returns its typed error and changes nothing', async (t) => {
  await withLabService({}, async (lab, client) => {
    // More NICs: eth1 a port of an NM bridge br9, eth2 not managed by NM.
    await lab.sh(`
      ip link add eth1 type veth peer name eth1-peer
      ip link add eth2 type veth peer name eth2-peer
      ip link set eth1-peer up; ip link set eth2-peer up
      nmcli connection add type bridge ifname br9 con-name br9 bridge.stp no ipv4.method disabled ipv6.method disabled >/dev/null
      nmcli connection add type ethernet ifname eth1 con-name br9-port master br9 slave-type bridge >/dev/null
      nmcli --wait 20 connection up br9-port >/dev/null
      nmcli device set eth2 managed no
      nmcli connection add type bridge ifname br5 con-name br5-unused connection.autoconnect no ipv4.method disabled ipv6.method disabled >/dev/null
    `);
    await waitFor('br9 to have eth1', async () => ((await links(lab)).get('eth1')?.master === 'br9' ? true : undefined));
    const before = await networkState(lab);
    const expect = async (nic: string, options: Record<string, ReturnType<typeof makeVariant>>, name: string, message: RegExp) => {
      const err = await callError(client.share(nic, options));
      t.is(err.name, name, `${nic}: ${err.message}`);
      t.regex(err.message, message);
    };
    await expect('lo', {}, 'org.fedoraproject.SharedInterface.Error.NotShareable', /loopback/);
    await expect('br9', {}, 'org.fedoraproject.SharedInterface.Error.NotShareable', /is a bridge itself/);
    await expect('eth1', {}, 'org.fedoraproject.SharedInterface.Error.NotShareable', /already a port of br9/);
    await expect('eth2', {}, 'org.fedoraproject.SharedInterface.Error.NotShareable', /does not manage it[\s\S]*nmcli device set eth2 managed yes/);
    await expect('nosuch0', {}, 'org.fedoraproject.SharedInterface.Error.NoSuchInterface', /nosuch0/);
    await expect('eth0', { bridge: makeVariant('s', 'br9') }, 'org.freedesktop.DBus.Error.InvalidArgs', /br9 already exists/);
    await expect('eth0', { bridge: makeVariant('s', 'br5') }, 'org.freedesktop.DBus.Error.InvalidArgs', /br5 already exists/);
    await expect('eth0', { bridge: makeVariant('s', 'x$(touch /p)') }, 'org.freedesktop.DBus.Error.InvalidArgs', /not allowed/);
    await expect('eth0', { 'forward-delay': makeVariant('u', 99) }, 'org.freedesktop.DBus.Error.InvalidArgs', /forward-delay/);
    t.deepEqual(await networkState(lab), before);

    // Two calls for the same NIC at once: one shares, the other is Busy. Then sharing again through
    // the same bridge is a no-op that answers with it; through another, AlreadyShared.
    const results = await Promise.allSettled([client.share('eth0'), client.share('eth0')]);
    t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.is((rejected?.reason as BusCallError | undefined)?.errorName, 'org.fedoraproject.SharedInterface.Error.Busy');
    t.is(await client.share('eth0'), 'br-eth0');
    await expect('eth0', { bridge: makeVariant('s', 'br7') }, 'org.fedoraproject.SharedInterface.Error.AlreadyShared', /already shared through bridge br-eth0/);
  });
});

test('persist=false keeps the profiles in memory only', async (t) => {
  await withLabService({ nicProfile: 'none' }, async (lab, client) => {
    t.is(await client.share('eth0', { persist: makeVariant('b', false) }), 'br-eth0');
    t.deepEqual([...keyfiles(lab).keys()], []);
    t.true([...keyfiles(lab, '/run/NetworkManager/system-connections').keys()].some((name) => name.includes('br-eth0')));
    // A NIC without a profile got DHCP on the bridge, and gets a DHCP profile back on unshare.
    // The NIC had nothing to compare with: Share waited for the bridge's DHCP lease itself.
    t.truthy(ipv4((await links(lab)).get('br-eth0')));
    await client.unshare('eth0');
    await waitFor('eth0 to get its DHCP address', async () => ipv4((await links(lab)).get('eth0')), 20_000);
  });
});

test('a profile with stable-privacy IPv6 addresses: ListInterfaces and the CLI say they will change', async (t) => {
  await withLabService({}, async (lab, client) => {
    t.deepEqual((await client.listInterfaces()).find((i) => i.name === 'eth0')?.notes, []);
    await lab.sh(`nmcli connection modify 'Wired eth0' ipv6.addr-gen-mode stable-privacy && nmcli --wait 20 connection up 'Wired eth0' >/dev/null`);
    const notes = await waitFor('the note', async () => {
      const n = (await client.listInterfaces()).find((i) => i.name === 'eth0')?.notes ?? [];
      return n.length > 0 ? n : undefined;
    }, 10_000);
    t.regex(notes[0] ?? '', /IPv6 addresses will change/);
    const shared = await lab.exec([`${REPO_ROOT}/bin/shared-interface`, 'share', 'eth0']);
    t.regex(shared.stderr, /note: eth0: its autoconfigured IPv6 addresses will change/);
    t.regex(shared.stdout, /eth0 is shared through bridge br-eth0/);
  });
});

test('a profile with ipv6.may-fail=no: the call waits for the EUI-64 address, as NetworkManager\'s activation does', async (t) => {
  await withLabService({}, async (lab, client) => {
    await lab.sh(`nmcli connection modify 'Wired eth0' ipv6.may-fail no && nmcli --wait 20 connection up 'Wired eth0' >/dev/null`);
    await waitFor('eth0\'s EUI-64 address', async () => (globalAddresses((await links(lab)).get('eth0')).includes(EUI64_ADDRESS) ? true : undefined));
    t.is(await client.share('eth0'), 'br-eth0');
    t.true(globalAddresses((await links(lab)).get('br-eth0')).includes(EUI64_ADDRESS), 'there when the call returns');
    t.like(parseKeyfile(keyfiles(lab).get('br-eth0 (shares eth0).nmconnection') ?? ''), { ipv6: { 'may-fail': false } });
  });
});

test('if the daemon dies mid-way, NetworkManager\'s checkpoint rolls everything back by itself', async (t) => {
  await withLabService({}, async (lab, client, daemon) => {
    const before = await networkState(lab);
    // No DHCP answer keeps verification waiting; the daemon is killed while it waits, with the
    // shortest rollback timer allowed.
    await lab.sh(`kill -STOP "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const sharing = client.share('eth0', { 'rollback-timeout': makeVariant('u', minRollbackTimeout()) });
    sharing.catch(() => undefined);
    await waitFor('the bridge to exist', async () => ((await links(lab)).has('br-eth0') ? true : undefined), 10_000);
    daemon.kill('SIGKILL');
    await lab.sh(`kill -CONT "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const after = await waitFor('NetworkManager to roll back', async () => {
      const now = await networkState(lab);
      return now.eth0.length === before.eth0.length && !now.links.includes('br-eth0') ? now : undefined;
    }, 60_000);
    t.deepEqual(after, before);
  });
});

test('two NICs are shared at once; changes made with nmcli behind our back show up at once', async (t) => {
  await withLabService({}, async (lab, client) => {
    await lab.sh(`
      ip link add eth1 address 52:54:00:12:34:57 type veth peer name lan1 netns lan
      ip -n lan link set lan1 master lanbr up
      nmcli connection add type ethernet ifname eth1 con-name 'Wired eth1' ipv4.method auto ipv6.method auto ipv6.addr-gen-mode eui64 >/dev/null
      nmcli --wait 30 connection up 'Wired eth1' >/dev/null
    `);
    await waitFor('eth1 to get a lease', async () => ipv4((await links(lab)).get('eth1')), 20_000);
    const [a, b] = await Promise.all([client.share('eth0'), client.share('eth1')]);
    t.deepEqual([a, b], ['br-eth0', 'br-eth1']);
    const now = await links(lab);
    t.is(now.get('eth0')?.master, 'br-eth0');
    t.is(now.get('eth1')?.master, 'br-eth1');
    t.deepEqual([...(await client.shared())].sort(), [['eth0', 'br-eth0'], ['eth1', 'br-eth1']]);

    // Someone deletes our profiles for eth1 with nmcli: the service sees it without being asked.
    await lab.sh(`nmcli connection delete 'eth1 (port of br-eth1)' 'br-eth1 (shares eth1)' >/dev/null`);
    await waitFor('Shared to drop eth1', async () => ((await client.shared()).has('eth1') ? undefined : true), 5000);
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    await lab.sh('nmcli connection add type bridge ifname br7 con-name br7 ipv4.method disabled ipv6.method disabled >/dev/null && nmcli --wait 10 connection up br7 >/dev/null');
    await waitFor('ListInterfaces to show br7', async () => ((await client.listInterfaces()).some((i) => i.name === 'br7') ? true : undefined), 5000);
    t.pass();
  });
});
