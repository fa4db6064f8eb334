// SPDX-License-Identifier: GPL-2.0-or-later
// The point of sharing: a real QEMU guest on the shared interface is on the host's LAN, like any physical
// machine, while the host keeps its identity; Unshare brings the host's own profile back.
import test from 'ava';
import { join } from 'node:path';
import { GuestError } from '../guest/guest';
import { bootGuestOnBridge, checkGuestOnLan, checkHostRestored, HOST_MAC, HOST_NIC, hostIdentity, type GuestOnBridge } from '../guest/guest-on-lan';
import { Lab } from './lab';
import { ServiceClient } from './service-client';

// Lower than the host's 52:54:00:12:34:56: a bridge whose MAC were not pinned would take it.
const GUEST_MAC = '52:54:00:00:00:0a';

test('a QEMU guest on a tap on the shared bridge gets its lease from the LAN and is reached from it; the host keeps its address and MAC; unshare restores it', async (t) => {
  const lab = await Lab.start();
  const bus = await lab.connect();
  let guest: GuestOnBridge | undefined;
  try {
    await lab.startDaemon();
    const client = new ServiceClient(bus);
    const before = await hostIdentity(lab, HOST_NIC);
    t.is(before.mac, HOST_MAC);
    const address = before.address;
    if (address === undefined) throw new Error(`${HOST_NIC} has no DHCP address before sharing`);

    const bridge = await client.share(HOST_NIC);
    t.is((await hostIdentity(lab, HOST_NIC)).master, bridge);

    guest = await bootGuestOnBridge(lab, { bridge, tap: 'vnet0', mac: GUEST_MAC, logPath: join(lab.dir, 'guest.log') });
    t.log(`guest ${guest.mac} (${guest.accel}) leased ${guest.lease.address} after ${String(guest.leaseAfterMs)} ms`);
    t.is(guest.lease.mac, GUEST_MAC);
    t.is(guest.lease.router, '192.0.2.1', 'the LAN router, not a NAT gateway on the host');
    const check = await checkGuestOnLan(lab, { mac: GUEST_MAC, address: guest.lease.address }, { bridge, address, mac: HOST_MAC });
    t.deepEqual(check.problems, []);
    t.is(check.lease?.hostname, 'si-guest');
    t.is(check.lanSeesMac, GUEST_MAC);

    await guest.stop();
    guest = undefined;
    // The guest gone, Unshare needs no force: nothing else is attached to the bridge.
    await client.unshare(HOST_NIC);
    const restored = await checkHostRestored(lab, { address, bridge });
    t.deepEqual(restored.problems, []);
  } finally {
    await guest?.stop();
    bus.close();
    await lab.stop();
  }
});

test('the checks catch a guest cut off from the LAN and a host that lost its address or MAC', async (t) => {
  // No NetworkManager: the lab's network is set by hand, so nothing repairs what the test breaks.
  const lab = await Lab.start({ networkManager: false });
  try {
    await lab.sh(`
      ip link add br0 address ${HOST_MAC} type bridge stp_state 0 forward_delay 0
      ip link set ${HOST_NIC} master br0
      ip addr add 192.0.2.10/24 dev br0
      ip link set br0 up
      ip link add lonely0 type bridge stp_state 0 forward_delay 0
      ip link set lonely0 up
    `);
    const host = { bridge: 'br0', address: '192.0.2.10', mac: HOST_MAC };

    // A guest on a bridge that does not reach the LAN: no lease, and it says so.
    const cutOff = await t.throwsAsync(bootGuestOnBridge(lab, { bridge: 'lonely0', tap: 'vnet1', mac: GUEST_MAC, dhcpTries: 2 }), { instanceOf: GuestError });
    t.is(cutOff?.code, 'NoLease');

    // A guest that is not there: no lease at the LAN, no answer.
    const absent = await checkGuestOnLan(lab, { mac: GUEST_MAC, address: '192.0.2.150' }, host);
    t.deepEqual(absent.problems, [
      `the LAN's DHCP server has no lease for the guest's MAC ${GUEST_MAC}`,
      'the LAN cannot reach the guest: ping 192.0.2.150 from the LAN failed',
    ]);

    // The host loses its MAC, then its address.
    await lab.sh('ip link set br0 address 52:54:00:00:00:01');
    t.true((await checkGuestOnLan(lab, { mac: GUEST_MAC, address: '192.0.2.150' }, host)).problems
      .includes(`the bridge br0 changed its MAC to 52:54:00:00:00:01, not the host's ${HOST_MAC}`));
    await lab.sh('ip addr flush dev br0');
    t.true((await checkGuestOnLan(lab, { mac: GUEST_MAC, address: '192.0.2.150' }, host)).problems
      .includes('the host lost its address: br0 has no IPv4 address, not 192.0.2.10'));
  } finally {
    await lab.stop();
  }
});
