// SPDX-License-Identifier: GPL-2.0-or-later
// Faults in the middle of a change, in the sealed lab: NetworkManager restarting during a Share,
// while a change awaits Confirm, during an Unshare; our daemon SIGKILLed with NetworkManager
// restarted; a reboot in the confirm window; and a profile of ours deleted with nmcli. Each ends
// with the host as before (or as confirmed), nothing of ours left, and Shared and Pending true.
// The recovery times are logged (t.log), not asserted: the bench part `recovery` measures them.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { Lab, type LabProcess, waitFor } from './lab';
import { globalAddresses, ipv4, keyfiles, links, networkState } from './nm-state';
import { ourProfiles, pauseDhcp, restartNetworkManagerMidChange, restored, resumeDhcp } from './recovery-lab';
import { callError, ServiceClient, withLabService } from './service-client';

const ERROR = 'org.fedoraproject.SharedInterface.Error';

/** A lab with NetworkManager and our daemon (lab.stop() ends a LAN server a check left stopped, too). */
const withLab = (run: (lab: Lab, client: ServiceClient, daemon: LabProcess) => Promise<void>) => withLabService({}, run);

test.serial('NetworkManager restarted during a Share: RolledBack from the record, eth0 back on its profile', async (t) => {
  await withLab(async (lab, client, daemon) => {
    const address = ipv4((await links(lab)).get('eth0'));
    t.truthy(address);
    const inMemory = keyfiles(lab, '/run/NetworkManager/system-connections');
    // No lease for the bridge: verification waits, and NetworkManager goes away meanwhile.
    await pauseDhcp(lab);
    const started = Date.now();
    const sharing = callError(client.share('eth0'));
    await waitFor('br-eth0 up with eth0 as its port', async () => ((await links(lab)).get('eth0')?.master === 'br-eth0' ? true : undefined), 20_000);
    await restartNetworkManagerMidChange(lab);
    const restartedAt = Date.now();
    await resumeDhcp(lab);
    const err = await sharing;
    t.is(err.name, `${ERROR}.RolledBack`, err.message);
    t.regex(err.message, /NetworkManager restarted during the change of eth0/);
    await waitFor('eth0 restored', () => restored(lab, address), 30_000);
    t.log(`Share → NetworkManager restarted → eth0 restored: ${Date.now() - restartedAt} ms after NetworkManager was back (call ${Date.now() - started} ms)`);
    t.deepEqual(await client.shared(), new Map());
    t.deepEqual(await client.pending(), new Map());
    t.truthy(await daemon.waitForOutput(/audit: recovery share eth0: rolled back and verified in \d+ ms/, 35_000));
    t.deepEqual(keyfiles(lab, '/run/NetworkManager/system-connections'), inMemory);
  });
});

test.serial('NetworkManager restarted while a Share awaits Confirm: rolled back at the deadline from the record', async (t) => {
  await withLab(async (lab, client, daemon) => {
    const address = ipv4((await links(lab)).get('eth0'));
    const before = keyfiles(lab);
    t.is(await client.share('eth0', { 'confirm-timeout': makeVariant('u', 15) }), 'br-eth0');
    t.deepEqual([...(await client.pending()).keys()], ['eth0']);
    // Unconfirmed profiles live in memory only (NetworkManager keeps them in /run across its restarts).
    t.deepEqual(keyfiles(lab), before);
    await lab.restartNetworkManager();
    // Still pending, with its deadline: our timer and the record keep it now.
    t.deepEqual([...(await client.pending()).keys()], ['eth0']);
    const deadline = (await client.pending()).get('eth0')?.deadline ?? 0;
    await waitFor('eth0 restored', () => restored(lab, address), 60_000);
    t.log(`restored ${Date.now() - deadline} ms after the deadline`);
    t.regex(daemon.output, /share eth0: not confirmed within 15 s; rolling back/);
    t.truthy(await daemon.waitForOutput(/audit: recovery share eth0: rolled back and verified/, 35_000));
    t.deepEqual(await client.pending(), new Map());
    t.deepEqual(await client.shared(), new Map());
    t.deepEqual(keyfiles(lab), before);
  });
});

test.serial('NetworkManager restarted during an Unshare: rolled back to the committed share', async (t) => {
  await withLab(async (lab, client, daemon) => {
    t.is(await client.share('eth0'), 'br-eth0');
    const sharedKeyfiles = keyfiles(lab);
    const bridgeAddress = ipv4((await links(lab)).get('br-eth0'));
    t.truthy(bridgeAddress);
    // eth0 gets no lease of its own: the Unshare's verification waits.
    await pauseDhcp(lab);
    const unsharing = callError(client.unshare('eth0'));
    await waitFor('eth0 off the bridge', async () => ((await links(lab)).get('eth0')?.master === undefined ? true : undefined), 20_000);
    await restartNetworkManagerMidChange(lab);
    const restartedAt = Date.now();
    await resumeDhcp(lab);
    const err = await unsharing;
    t.is(err.name, `${ERROR}.RolledBack`, err.message);
    await waitFor('the share back with its address', async () => {
      const now = await links(lab);
      return now.get('eth0')?.master === 'br-eth0' && ipv4(now.get('br-eth0')) === bridgeAddress ? true : undefined;
    }, 30_000);
    t.log(`Unshare → NetworkManager restarted → share restored: ${Date.now() - restartedAt} ms after NetworkManager was back`);
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    t.deepEqual(await client.pending(), new Map());
    t.deepEqual(keyfiles(lab), sharedKeyfiles);
    t.truthy(await daemon.waitForOutput(/audit: recovery unshare eth0: rolled back and verified/, 35_000));
    // And it can be unshared for good now.
    await client.unshare('eth0');
    t.deepEqual(await ourProfiles(lab), []);
  });
});

test.serial('daemon SIGKILLed and NetworkManager restarted while a Share awaits Confirm: the next daemon rolls it back', async (t) => {
  await withLab(async (lab, client, daemon) => {
    const address = ipv4((await links(lab)).get('eth0'));
    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 60) });
    daemon.kill('SIGKILL');
    await daemon.waitForExit();
    // NetworkManager's checkpoint, the only other net, goes with its restart.
    await lab.restartNetworkManager();
    t.is((await links(lab)).get('eth0')?.master, 'br-eth0', 'nothing rolled it back yet');
    const started = Date.now();
    const next = await lab.startDaemon();
    await waitFor('eth0 restored', () => restored(lab, address), 40_000);
    t.log(`daemon started → eth0 restored: ${Date.now() - started} ms`);
    t.truthy(await next.waitForOutput(/audit: recovery share eth0 through br-eth0: rolled back and verified in \d+ ms/, 35_000));
    t.deepEqual(await client.shared(), new Map());
    t.deepEqual(await client.pending(), new Map());
  });
});

test.serial('a reboot in the confirm window: the unconfirmed share does not come back, the record is finished at start', async (t) => {
  await withLab(async (lab, client, daemon) => {
    const before = await networkState(lab);
    const address = ipv4((await links(lab)).get('eth0'));
    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 120) });
    // The machine goes down: everything in /run and the kernel's state are lost.
    daemon.kill('SIGKILL');
    await daemon.waitForExit();
    await lab.stopNetworkManager();
    await lab.sh('ip link del br-eth0; ip addr flush dev eth0; ip link set eth0 down; rm -rf /run/NetworkManager/*');
    const booted = Date.now();
    await lab.startNetworkManager();
    // The unconfirmed profiles were in memory: gone, and NetworkManager brings eth0's own back.
    t.deepEqual(await ourProfiles(lab), []);
    const next = await lab.startDaemon();
    await waitFor('eth0 restored', () => restored(lab, address), 40_000);
    t.log(`boot (NetworkManager started) → eth0 restored: ${Date.now() - booted} ms`);
    t.truthy(await next.waitForOutput(/audit: recovery share eth0 through br-eth0: rolled back and verified/, 35_000));
    t.deepEqual(await client.shared(), new Map());
    t.deepEqual(await client.pending(), new Map());
    t.deepEqual(keyfiles(lab), before.keyfiles);
    t.deepEqual(globalAddresses((await links(lab)).get('eth0')).filter((a) => !a.includes(':')), before.eth0.filter((a) => !a.includes(':')));
  });
});

test.serial('the bridge profile deleted with nmcli: not shared any more, the leftover port profile noted with its hint', async (t) => {
  await withLab(async (lab, client) => {
    t.is(await client.share('eth0'), 'br-eth0');
    await lab.sh(`nmcli connection delete "$(nmcli -t -f NAME connection show | grep -x 'br-eth0.*' | head -1)"`);
    await waitFor('Shared without eth0', async () => ((await client.shared()).size === 0 ? true : undefined), 10_000);
    // Listed again once it is no port any more (the listing leaves ports out), with the leftover noted.
    const eth0 = await waitFor('eth0 listed with its leftover profile noted', async () => (await client.listInterfaces())
      .find((i) => i.name === 'eth0' && i.notes.some((n) => n.includes('left over'))), 10_000);
    t.is(eth0.bridge, '');
    const note = eth0.notes.find((n) => n.includes('left over'));
    t.regex(note ?? '', /the profile 'eth0 .*' is left over from sharing it .*remove it with: nmcli connection delete [0-9a-f-]+/);
    const uuid = /nmcli connection delete ([0-9a-f-]+)/.exec(note ?? '')?.[1] ?? '';
    await lab.sh(`nmcli connection delete ${uuid}`);
    await waitFor('no note any more', async () => ((await client.listInterfaces()).find((i) => i.name === 'eth0')?.notes.some((n) => n.includes('left over')) ? undefined : true), 10_000);
    t.deepEqual(await ourProfiles(lab), []);
  });
});
