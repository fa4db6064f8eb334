// SPDX-License-Identifier: GPL-2.0-or-later
// A guest on the shared NIC the way virt-manager puts it there: libvirt's own daemon in the lab starts the guest with
// `virsh create` and <interface type='bridge'><source bridge='…'/><model type='virtio'/></interface>
// on the bridge Share made. libvirt must be installed (test/guest/ensure-libvirt.sh, which
// test/run-tests.sh runs): without it this test fails, it never skips.
import test from 'ava';
import { buildGuest, probeAccel } from '../guest/guest';
import { checkGuestOnLan, checkHostRestored, HOST_MAC, HOST_NIC, hostIdentity } from '../guest/guest-on-lan';
import { Lab, waitFor } from './lab';
import { LabLibvirt, type LibvirtGuest } from './libvirt-lab';
import { links } from './nm-state';
import { ServiceClient } from './service-client';

// Lower than the host's MAC, like the direct QEMU guest's (real-guest.test.ts).
const GUEST_MAC = '52:54:00:00:00:0b';

test('a guest started by libvirt (virsh create, <interface type="bridge">) on the shared bridge is on the LAN; the host keeps its identity; unshare restores it', async (t) => {
  const image = await buildGuest();
  const accel = await probeAccel(image);
  const lab = await Lab.start();
  const bus = await lab.connect();
  let guest: LibvirtGuest | undefined;
  try {
    await lab.startDaemon();
    const client = new ServiceClient(bus);
    const before = await hostIdentity(lab, HOST_NIC);
    const address = before.address;
    if (address === undefined) throw new Error(`${HOST_NIC} has no DHCP address before sharing`);
    const bridge = await client.share(HOST_NIC);

    const libvirt = await LabLibvirt.start(lab);
    t.log(`libvirtd answered after ${String(libvirt.startedInMs)} ms`);
    guest = await libvirt.createGuest({ name: 'si-guest', image, accel, bridge, mac: GUEST_MAC, behaviour: { uptimeSeconds: 600, dhcpTries: 20, dhcpTimeoutSeconds: 1 } });
    const tap = await guest.tap();
    t.is((await links(lab)).get(tap)?.master, bridge, `libvirt attached its tap ${tap} to our bridge`);

    const lease = await guest.waitForLease(120_000);
    t.log(`libvirt guest ${GUEST_MAC} (${accel}) leased ${lease.address} after ${String(lease.afterMs)} ms`);
    t.is(lease.mac, GUEST_MAC);
    const check = await checkGuestOnLan(lab, { mac: GUEST_MAC, address: lease.address }, { bridge, address, mac: HOST_MAC });
    t.deepEqual(check.problems, []);

    await guest.destroy();
    t.false(await guest.listed(), 'the transient domain is gone');
    await waitFor(`libvirt to remove ${tap}`, async () => ((await links(lab)).has(tap) ? undefined : true), 10_000);
    guest = undefined;
    await client.unshare(HOST_NIC);
    t.deepEqual((await checkHostRestored(lab, { address, bridge })).problems, []);
  } finally {
    if (guest !== undefined) await guest.destroy().catch((error: unknown) => t.log(`virsh destroy: ${String(error)}`));
    bus.close();
    await lab.stop();
  }
});
