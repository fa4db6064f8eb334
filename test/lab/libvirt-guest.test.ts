// SPDX-License-Identifier: GPL-2.0-or-later
// A guest on the shared NIC the way virt-manager puts it there: libvirt's own daemon in the lab starts the guest with
// `virsh create` and <interface type='bridge'><source bridge='…'/><model type='virtio'/></interface>
// on the bridge Share made, bridged, and routed on a LAN that accepts only the host's MAC (lab-routed.ts).
// libvirt must be installed (test/guest/ensure-libvirt.sh, which
// test/run-tests.sh runs): without it this test fails, it never skips.
import test, { type ExecutionContext } from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { buildGuest, probeAccel, type Accel, type GuestImage } from '../guest/guest';
import { checkGuestOnLan, checkHostRestored, HOST_MAC, HOST_NIC, hostIdentity, lanLease } from '../guest/guest-on-lan';
import { Lab, waitFor } from './lab';
import { lockedLanDrops, lockLanToMac, routedHostSnapshot, snapshotChanges } from './lab-routed';
import { LabLibvirt, type LibvirtGuest } from './libvirt-lab';
import { links, networkState, settledTo } from './nm-state';
import { ServiceClient } from './service-client';

// Lower than the host's MAC, like the direct QEMU guest's (real-guest.test.ts).
const GUEST_MAC = '52:54:00:00:00:0b';

interface GuestLab {
  readonly lab: Lab;
  readonly client: ServiceClient;
  readonly image: GuestImage;
  readonly accel: Accel;
  /** Guests a test started: those still running are destroyed at the end. */
  readonly guests: LibvirtGuest[];
}

/** A lab (prepared by `setup` before the daemon starts) with the daemon and the lab guest's image. */
async function withGuestLab(t: ExecutionContext, setup: (lab: Lab) => Promise<void>, body: (run: GuestLab) => Promise<void>): Promise<void> {
  const image = await buildGuest();
  const accel = await probeAccel(image);
  const lab = await Lab.start();
  const bus = await lab.connect();
  const guests: LibvirtGuest[] = [];
  try {
    await setup(lab);
    await lab.startDaemon();
    await body({ lab, client: new ServiceClient(bus), image, accel, guests });
  } finally {
    for (const guest of guests) {
      if (await guest.listed().catch(() => false)) await guest.destroy().catch((error: unknown) => t.log(`virsh destroy: ${String(error)}`));
    }
    bus.close();
    await lab.stop();
  }
}

test('a guest started by libvirt (virsh create, <interface type="bridge">) on the shared bridge is on the LAN; the host keeps its identity; unshare restores it', async (t) => {
  await withGuestLab(t, async () => undefined, async ({ lab, client, image, accel, guests }) => {
    const before = await hostIdentity(lab, HOST_NIC);
    const address = before.address;
    if (address === undefined) throw new Error(`${HOST_NIC} has no DHCP address before sharing`);
    const bridge = await client.share(HOST_NIC);

    const libvirt = await LabLibvirt.start(lab);
    t.log(`libvirtd answered after ${String(libvirt.startedInMs)} ms`);
    const guest = await libvirt.createGuest({ name: 'si-guest', image, accel, bridge, mac: GUEST_MAC, behaviour: { uptimeSeconds: 600, dhcpTries: 20, dhcpTimeoutSeconds: 1 } });
    guests.push(guest);
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
    await client.unshare(HOST_NIC);
    t.deepEqual((await checkHostRestored(lab, { address, bridge })).problems, []);
  });
});

test('a libvirt guest (virsh create, <interface type="bridge">) on the guests\' bridge of a routed share, on a LAN that accepts only the host\'s MAC: leased by the LAN, reached from it at the host\'s MAC; unshare leaves the host as before', async (t) => {
  await withGuestLab(t, (lab) => lockLanToMac(lab, HOST_MAC), async ({ lab, client, image, accel, guests }) => {
    const routedLinks = { uplink: HOST_NIC, bridge: 'br-eth0' };
    const before = { network: await networkState(lab), host: await routedHostSnapshot(lab, routedLinks) };
    t.is(await client.share(HOST_NIC, { mode: makeVariant('s', 'routed') }), routedLinks.bridge);

    const libvirt = await LabLibvirt.start(lab);
    const mac = '52:54:00:00:00:0c';
    const guest = await libvirt.createGuest({ name: 'si-routed-guest', image, accel, bridge: routedLinks.bridge, mac, behaviour: { uptimeSeconds: 600, dhcpTries: 20, dhcpTimeoutSeconds: 1 } });
    guests.push(guest);
    const tap = await guest.tap();
    t.is((await links(lab)).get(tap)?.master, routedLinks.bridge, `libvirt attached its tap ${tap} to the guests' bridge`);
    t.is((await links(lab)).get(HOST_NIC)?.master, undefined, `${HOST_NIC} is no port`);

    const lease = await guest.waitForLease(180_000);
    t.log(`libvirt guest ${mac} (${accel}) leased ${lease.address} after ${String(lease.afterMs)} ms through the relay`);
    t.regex(lease.address, /^192\.0\.2\.1\d\d$/, "an address of the LAN's own DHCP range");
    t.is(lease.router, '192.0.2.1', "the LAN's router, not the host");
    t.is(lanLease(lab, mac)?.address, lease.address, "the LAN's DHCP server leased it to the guest's MAC");
    const drops = await lockedLanDrops(lab);
    await waitFor(`the LAN to reach the guest at ${lease.address}`, async () => ((await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-n', '-c', '1', '-W', '2', lease.address], { allowFailure: true, timeoutMs: 10_000 })).code === 0 ? true : undefined), 30_000);
    const seen = JSON.parse(await lab.sh(`ip -j -n lan neigh show to ${lease.address}`)) as Array<{ lladdr?: string }>;
    t.is(seen[0]?.lladdr, HOST_MAC, "the LAN holds the host's MAC for the guest");
    t.is(await lockedLanDrops(lab), drops, 'no frame of another MAC reached the LAN meanwhile');

    await guest.destroy();
    await waitFor(`libvirt to remove ${tap}`, async () => ((await links(lab)).has(tap) ? undefined : true), 10_000);
    await client.unshare(HOST_NIC);
    t.deepEqual(await settledTo(() => networkState(lab), before.network), before.network, 'profiles, active profiles, eth0\'s addresses and links as before');
    t.deepEqual(snapshotChanges(before.host, await settledTo(() => routedHostSnapshot(lab, routedLinks), before.host)), { gone: [], added: [] },
      'sysctls, addresses, routes, proxy entries and processes as before');
  });
});
