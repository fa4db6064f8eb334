// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's data plane with real QEMU guests, on a LAN that drops every frame whose source MAC
// is not the host's (lab-routed.ts's lockLanToMac: what an access point or a locked switch port
// does). Bridged sharing gives a guest no lease there; routed sharing (shared-interface-routed on a
// NetworkManager-managed bridge) gives two guests leases from the LAN's own DHCP server, on the
// LAN's subnet, reachable from the LAN at the host's MAC, reaching another LAN host; stopping it
// leaves the host as it was.
import test from 'ava';
import { join } from 'node:path';
import { GuestError } from '../guest/guest';
import { bootGuestOnBridge, HOST_MAC, HOST_NIC, HOST_PROFILE, lanLease, type GuestOnBridge } from '../guest/guest-on-lan';
import { Lab, waitFor } from './lab';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from './lab-guests';
import { addLanHost, addRoutedBridgeProfile, lockedLanDrops, lockLanToMac, routedAgentsInLab, routedHostSnapshot, snapshotChanges } from './lab-routed';
import { ServiceClient } from './service-client';

const LAN_HOST = { name: 'lanhost', address: '192.0.2.20', mac: '52:54:00:aa:00:20' };
const GUEST_MACS = ['52:54:00:00:00:0a', '52:54:00:00:00:0b'] as const;
const LAN_LEASES = /^192\.0\.2\.1\d\d$/;

test('on a LAN that accepts only the host\'s MAC, a guest on the bridged share gets no lease', async (t) => {
  const lab = await Lab.start();
  const bus = await lab.connect();
  try {
    await lockLanToMac(lab, HOST_MAC);
    await lab.startDaemon();
    // The host itself is fine: its bridge keeps the host's MAC, so Share's own lease check passes.
    const bridge = await new ServiceClient(bus).share(HOST_NIC);
    const before = await lockedLanDrops(lab);
    const error = await t.throwsAsync(bootGuestOnBridge(lab, { bridge, tap: 'vnet0', mac: GUEST_MACS[0], dhcpTries: 3, logPath: join(lab.dir, 'guest.log') }), { instanceOf: GuestError });
    t.is(error?.code, 'NoLease');
    t.true(await lockedLanDrops(lab) > before, "the LAN dropped the guest's frames");
    t.is(lanLease(lab, GUEST_MACS[0]), undefined);
  } finally {
    bus.close();
    await lab.stop();
  }
});

test('routed sharing: two guests leased by the LAN\'s server on its subnet, reached from the LAN at the host\'s MAC, reaching a LAN host; stopped, the host is as before', async (t) => {
  const lab = await Lab.start();
  const guests: GuestOnBridge[] = [];
  try {
    await lockLanToMac(lab, HOST_MAC);
    await addLanHost(lab, LAN_HOST);
    const links = { uplink: HOST_NIC, bridge: 'br-eth0' };
    await addRoutedBridgeProfile(lab, links.bridge);
    const before = await routedHostSnapshot(lab, links);
    const agents = routedAgentsInLab(lab);

    const started = await agents.start(links);
    t.is(started.phase, 'running');
    t.regex(started.uplinkAddress ?? '', /^192\.0\.2\.\d+\/24$/);

    // One after the other: the LAN's dnsmasq answers nothing while it pings an address it is about
    // to offer, and busybox's udhcpc gives up a request after three tries; both then run at once.
    for (const [i, mac] of GUEST_MACS.entries()) {
      guests.push(await bootGuestOnBridge(lab, {
        bridge: links.bridge, tap: `vnet${String(i)}`, mac, pingAddress: LAN_HOST.address, logPath: join(lab.dir, `guest${String(i)}.log`),
      }));
    }
    for (const guest of guests) {
      t.log(`guest ${guest.mac} (${guest.accel}) leased ${guest.lease.address} after ${String(guest.leaseAfterMs)} ms`);
      t.regex(guest.lease.address, LAN_LEASES, "an address from the LAN's own DHCP range");
      t.is(guest.lease.prefixLength, 24);
      t.is(guest.lease.router, '192.0.2.1', "the LAN's router, not the host");
      t.is(lanLease(lab, guest.mac)?.address, guest.lease.address, "the LAN's DHCP server leased it to the guest's MAC");
      t.true(await guest.handle.waitForPing(60_000), `the guest ${guest.mac} reaches the LAN host ${LAN_HOST.address}`);
      const ping = await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-n', '-c', '3', '-i', '0.3', '-W', '2', guest.lease.address], { allowFailure: true, timeoutMs: 30_000 });
      t.is(ping.code, 0, `the LAN reaches the guest ${guest.lease.address}:\n${ping.stdout}${ping.stderr}`);
      const seen = JSON.parse(await lab.sh(`ip -j -n lan neigh show to ${guest.lease.address}`)) as Array<{ lladdr?: string }>;
      t.is(seen[0]?.lladdr, HOST_MAC, "the LAN holds the host's MAC for the guest: every frame on the uplink is the host's");
    }
    const status = await waitFor('both guests in the status', async () => {
      const now = await agents.status(links.uplink);
      return now?.guests.length === 2 ? now : undefined;
    }, 60_000);
    t.deepEqual(status.guests.map((g) => g.mac).sort(), [...GUEST_MACS]);

    for (const guest of guests.splice(0)) await guest.stop();
    // NetworkManager activating the bridge's profile again flushes its addresses: the agent lends it the uplink's again.
    await lab.exec(['nmcli', '--wait', '30', 'connection', 'up', links.bridge]);
    await waitFor('the bridge\'s borrowed address back', async () => {
      const address = started.uplinkAddress?.split('/')[0] ?? '';
      return (await lab.sh(`ip -4 -o addr show dev ${links.bridge}`)).includes(`${address}/32`) ? true : undefined;
    });

    await agents.stop(links.uplink);
    t.is(await agents.status(links.uplink), undefined);
    t.deepEqual(snapshotChanges(before, await routedHostSnapshot(lab, links)), { gone: [], added: [] }, 'sysctls, addresses, routes, proxy entries and processes as before');
  } finally {
    for (const guest of guests) await guest.stop();
    await lab.stop();
  }
});

test('routed sharing survives NetworkManager\'s restart, follows the uplink\'s address (a new lease, another subnet); an agent killed leaves nothing stop() does not undo', async (t) => {
  const lab = await Lab.start();
  try {
    await lockLanToMac(lab, HOST_MAC);
    const links = { uplink: HOST_NIC, bridge: 'br-eth0' };
    await addRoutedBridgeProfile(lab, links.bridge);
    const before = await routedHostSnapshot(lab, links);
    const agents = routedAgentsInLab(lab);
    const started = await agents.start(links);
    const first = await addGuestNamespace(lab, 'g1', links.bridge, GUEST_MACS[0]);
    const firstAddress = await guestDhcp(lab, first);
    t.regex(firstAddress, LAN_LEASES);

    // NetworkManager restarted under the running agent: it takes the bridge over as it is (the
    // borrowed address, the routes, the ports), so the guest stays reachable.
    await lab.restartNetworkManager();
    t.is((await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-n', '-c', '2', '-W', '2', firstAddress], { allowFailure: true })).code, 0, 'the guest is reached after NetworkManager restarted');

    // The uplink's address changes on the same subnet (a lease renewed to another address).
    const uplinkTo = async (method: string[]) => {
      await lab.exec(['nmcli', 'connection', 'modify', HOST_PROFILE, ...method]);
      await lab.exec(['nmcli', '--wait', '30', 'connection', 'up', HOST_PROFILE]);
    };
    await uplinkTo(['ipv4.method', 'manual', 'ipv4.addresses', '192.0.2.50/24', 'ipv4.gateway', '192.0.2.1']);
    const moved = await waitFor('the agent on the new address', async () => {
      const now = await agents.status(links.uplink);
      return now?.uplinkAddress === '192.0.2.50/24' && now.guests.length === 1 ? now : undefined;
    }, 60_000);
    t.regex(moved.message ?? '', /same subnet: guests keep their addresses/);
    t.deepEqual(moved.bridgeAddresses, ['192.0.2.50/32'], 'the bridge borrows the new address, the old one taken back');
    t.is((await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-n', '-c', '2', '-W', '2', firstAddress], { allowFailure: true })).code, 0, 'the first guest is still reached');
    const second = await addGuestNamespace(lab, 'g2', links.bridge, GUEST_MACS[1]);
    t.regex(await guestDhcp(lab, second), LAN_LEASES, 'the relay gives the new address as giaddr');

    // Another subnet (Wi-Fi roaming to another network): the guests cannot follow until they ask again; the agent says so.
    await uplinkTo(['ipv4.addresses', '198.51.100.10/24', 'ipv4.gateway', '198.51.100.1']);
    const roamed = await waitFor('the agent on the other subnet', async () => {
      const now = await agents.status(links.uplink);
      return now?.uplinkAddress === '198.51.100.10/24' ? now : undefined;
    }, 60_000);
    t.regex(roamed.message ?? '', /moved from 192\.0\.2\.0\/24 to 198\.51\.100\.0\/24 .* until they renew their lease/);
    t.deepEqual(roamed.guests, []);
    t.true(roamed.refused.every((r) => /not on the uplink's subnet/.test(r.reason)));

    await uplinkTo(['ipv4.method', 'auto', 'ipv4.addresses', '', 'ipv4.gateway', '']);
    await waitFor('the agent back on the DHCP address', async () => (await agents.status(links.uplink))?.uplinkAddress === started.uplinkAddress ? true : undefined, 60_000);
    for (const guest of [first, second]) await removeGuestNamespace(lab, guest);

    // Killed, it cannot clean up: stop() finds its state file and its relay, and undoes both.
    await lab.sh(`kill -KILL ${String(started.pid)}`);
    await agents.stop(links.uplink);
    t.deepEqual(snapshotChanges(before, await routedHostSnapshot(lab, links)), { gone: [], added: [] });
  } finally {
    await lab.stop();
  }
});
