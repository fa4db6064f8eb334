// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing end to end, as a user gets it: on a LAN that drops every frame not from the
// host's MAC (lab-routed.ts's model of a Wi-Fi access point or a locked switch port),
// Share(eth0, {mode: routed}) through the daemon, then a real QEMU guest on the guests' bridge
// gets a lease from the LAN's dnsmasq on the LAN's subnet, and the LAN reaches it at the host's
// MAC; NetworkManager restarted keeps it so; Unshare leaves the host as before (profiles, sysctls,
// addresses, routes, proxy entries, processes).
import test from 'ava';
import { join } from 'node:path';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { bootGuestOnBridge, HOST_MAC, HOST_NIC, lanLease, type GuestOnBridge } from '../guest/guest-on-lan';
import { Lab, waitFor } from './lab';
import { addLanHost, lockedLanDrops, lockLanToMac, routedHostSnapshot } from './lab-routed';
import { networkState, settledTo } from './nm-state';
import { ServiceClient } from './service-client';

const LAN_HOST = { name: 'lanhost', address: '192.0.2.20', mac: '52:54:00:aa:00:20' };
const GUEST_MAC = '52:54:00:00:00:1a';

test('Share routed through the daemon on a MAC-locked LAN: a QEMU guest leased by the LAN\'s server, reached from the LAN, also after NetworkManager restarts; Unshare leaves the host as before', async (t) => {
  const lab = await Lab.start();
  const bus = await lab.connect();
  let guest: GuestOnBridge | undefined;
  try {
    await lockLanToMac(lab, HOST_MAC);
    await addLanHost(lab, LAN_HOST);
    await lab.startDaemon();
    const client = new ServiceClient(bus);
    const links = { uplink: HOST_NIC, bridge: 'br-eth0' };
    const before = { network: await networkState(lab), host: await routedHostSnapshot(lab, links) };

    const started = Date.now();
    t.is(await client.share(HOST_NIC, { mode: makeVariant('s', 'routed') }), links.bridge);
    t.log(`Share routed replied after ${String(Date.now() - started)} ms`);

    guest = await bootGuestOnBridge(lab, { bridge: links.bridge, tap: 'vnet0', mac: GUEST_MAC, pingAddress: LAN_HOST.address, logPath: join(lab.dir, 'guest.log') });
    t.log(`guest (${guest.accel}) leased ${guest.lease.address} after ${String(guest.leaseAfterMs)} ms`);
    t.regex(guest.lease.address, /^192\.0\.2\.1\d\d$/, "an address of the LAN's own DHCP range");
    t.is(guest.lease.router, '192.0.2.1', "the LAN's router, not the host");
    t.is(lanLease(lab, GUEST_MAC)?.address, guest.lease.address, "the LAN's DHCP server leased it to the guest's MAC");
    t.true(await guest.handle.waitForPing(60_000), `the guest reaches the LAN host ${LAN_HOST.address}`);
    const drops = await lockedLanDrops(lab);
    const address = guest.lease.address;
    const lanReaches = async () => (await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-n', '-c', '1', '-W', '2', address], { allowFailure: true, timeoutMs: 10_000 })).code === 0 ? true : undefined;
    await waitFor(`the LAN to reach the guest at ${address}`, lanReaches, 20_000);
    const seen = JSON.parse(await lab.sh(`ip -j -n lan neigh show to ${address}`)) as Array<{ lladdr?: string }>;
    t.is(seen[0]?.lladdr, HOST_MAC, "the LAN holds the host's MAC for the guest");
    t.is(await lockedLanDrops(lab), drops, 'no frame of another MAC reached the LAN meanwhile');

    await lab.restartNetworkManager();
    await waitFor(`the LAN to reach the guest at ${address} after NetworkManager restarted`, lanReaches, 30_000);
    // The service reads NetworkManager's world again after its restart: shared once it has.
    const sharedNow = new Map([[HOST_NIC, links.bridge]]);
    t.deepEqual(await settledTo(() => client.shared(), sharedNow), sharedNow);

    await guest.stop();
    guest = undefined;
    await client.unshare(HOST_NIC);
    t.deepEqual(await settledTo(() => networkState(lab), before.network), before.network, 'profiles, active profiles, eth0\'s addresses and links as before');
    const after = await settledTo(() => routedHostSnapshot(lab, links), before.host);
    t.deepEqual({ gone: before.host.filter((l) => !after.includes(l)), added: after.filter((l) => !before.host.includes(l)) }, { gone: [], added: [] },
      'sysctls, addresses, routes, proxy entries and processes as before');
  } finally {
    await guest?.stop();
    bus.close();
    await lab.stop();
  }
});
