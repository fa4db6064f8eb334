// SPDX-License-Identifier: GPL-2.0-or-later
// Confirm-or-rollback through NetworkManager, in the sealed lab: a change made with
// confirm-timeout stays under its checkpoint until Confirm; Rollback, our deadline, or (with our
// daemon killed) NetworkManager's own checkpoint timer undo it. Each check has a lab of its own, so
// the first failure hides none of the others.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { PROGRESS_STEPS } from '../../src/bridge/progress';
import { Lab, waitFor } from './lab';
import { callAs, NOBODY } from './lab-install';
import { ipv4, links, networkState, nmCheckpoints, sameNetworkState } from './nm-state';
import { callError, ServiceClient } from './service-client';

const NIC_MAC = '52:54:00:12:34:56';
const ERROR = 'org.fedoraproject.SharedInterface.Error';

type NetworkState = Awaited<ReturnType<typeof networkState>>;

/** The lab is as it was before any change: profiles, what is active, addresses, links, no checkpoint. */
async function original(lab: Lab, before: NetworkState): Promise<true | undefined> {
  const now = await networkState(lab);
  return sameNetworkState(now, before) && await nmCheckpoints(lab) === 'ao 0' ? true : undefined;
}

/** The steps seen for `nic`, each once, in the order they came. */
function steps(seen: ReadonlyArray<[string, string, string]>, nic = 'eth0'): string[] {
  return seen.filter(([i]) => i === nic).map(([, step]) => step);
}

function inOrder(list: readonly string[]): boolean {
  const index = list.map((s) => PROGRESS_STEPS.indexOf(s as (typeof PROGRESS_STEPS)[number]));
  return index.every((i, n) => i >= 0 && (n === 0 || i > (index[n - 1] ?? -1)));
}

/** A lab with NetworkManager, its state before any change, and a client of the daemon the test starts. */
async function withConfirmLab(body: (lab: Lab, client: ServiceClient, before: NetworkState) => Promise<void>): Promise<void> {
  const lab = await Lab.start();
  const bus = await lab.connect();
  try {
    const before = await networkState(lab);
    await body(lab, new ServiceClient(bus), before);
  } finally {
    bus.close();
    await lab.stop();
  }
}

test('unconfirmed, a share is rolled back at its deadline by the daemon, which stays for it; Pending, Progress and PropertiesChanged say so', async (t) => {
  await withConfirmLab(async (lab, client, before) => {
    t.is((await links(lab)).get('eth0')?.address, NIC_MAC);
    // A short idle timeout: a pending change must keep the daemon alive, or its deadline is not kept.
    const daemon = await lab.startDaemon(['--idle-timeout', '1']);
    const progress = await client.progress();
    const pendingChanges: number[] = [];
    await client.bus.subscribe({ sender: 'org.fedoraproject.SharedInterface', path: '/org/fedoraproject/SharedInterface', interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged' }, (msg) => {
      const changed = msg.body[1] as Record<string, unknown> | undefined;
      if (changed !== undefined && 'Pending' in changed) pendingChanges.push(Date.now());
    });

    const asked = Date.now();
    t.is(await client.share('eth0', { 'confirm-timeout': makeVariant('u', 10) }), 'br-eth0');
    const pending = await client.pending();
    t.deepEqual([...pending.keys()], ['eth0']);
    const { operation, bridge, deadline } = pending.get('eth0') ?? { operation: '', bridge: '', deadline: 0 };
    t.is(operation, 'share');
    t.is(bridge, 'br-eth0');
    // On the bus in µs since the epoch; the client's decoder gives ms.
    t.true(deadline > asked && deadline <= Date.now() + 10_000, `deadline ${deadline}`);
    t.is((await links(lab)).get('eth0')?.master, 'br-eth0');
    // Progress, in order, ending with the question.
    const shareSteps = steps(progress);
    t.true(inOrder(shareSteps), shareSteps.join(' '));
    for (const step of ['authorizing', 'checkpoint', 'profiles-added', 'bridge-up', 'gateway-answers', 'awaiting-confirmation']) t.true(shareSteps.includes(step), `${step} in ${shareSteps.join(' ')}`);
    t.is(shareSteps.at(-1), 'awaiting-confirmation');

    await waitFor('the unconfirmed share rolled back', () => (steps(progress).at(-1) === 'rolled-back' ? true : undefined), 60_000);
    // The daemon itself kept the deadline: the idle timeout did not end it while the change was pending.
    t.regex(daemon.output, /share eth0: not confirmed within 10 s; rolling back/);
    t.regex(progress.at(-1)?.[2] ?? '', /not confirmed within 10 s/);
    await waitFor('the original state', () => original(lab, before), 30_000);
    t.is((await links(lab)).get('eth0')?.address, NIC_MAC);
    t.false((await links(lab)).has('br-eth0'));
    t.true(pendingChanges.length >= 2, 'PropertiesChanged told of Pending twice');
    // Nothing pending any more: now the idle timeout ends it.
    t.is(await daemon.waitForExit(), 0);
  });
});

test('while a share awaits confirmation, a user polkit refuses may neither confirm nor roll it back, and another change of the NIC is Busy', async (t) => {
  await withConfirmLab(async (lab, client) => {
    await lab.startDaemon();
    t.is(await client.share('eth0', { 'confirm-timeout': makeVariant('u', 120) }), 'br-eth0');
    const denied = await callAs(lab, NOBODY, 'Confirm', 's', ['eth0']);
    t.is(denied.errorName, 'org.freedesktop.DBus.Error.AccessDenied', denied.errorMessage);
    const deniedRollback = await callAs(lab, NOBODY, 'Rollback', 's', ['eth0']);
    t.is(deniedRollback.errorName, 'org.freedesktop.DBus.Error.AccessDenied', deniedRollback.errorMessage);
    t.deepEqual([...(await client.pending()).keys()], ['eth0']);
    t.is((await links(lab)).get('eth0')?.master, 'br-eth0');
    // Transactions take turns: a change awaiting its answer holds the checkpoint.
    t.is((await callError(client.unshare('eth0'))).name, `${ERROR}.Busy`);
    t.deepEqual([...(await client.pending()).keys()], ['eth0']);
  });
});

test('Rollback undoes a pending share at once, without waiting for the deadline; then nothing is pending', async (t) => {
  await withConfirmLab(async (lab, client, before) => {
    await lab.startDaemon();
    const progress = await client.progress();
    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 120) });
    progress.length = 0;
    await client.rollback('eth0');
    t.deepEqual(await client.pending(), new Map());
    t.deepEqual(steps(progress), ['authorizing', 'rolled-back']);
    await waitFor('the original state after Rollback', () => original(lab, before), 30_000);
    t.is((await callError(client.confirm('eth0'))).name, `${ERROR}.NotPending`);
    t.is((await callError(client.rollback('eth0'))).name, `${ERROR}.NotPending`);
  });
});

test('Confirm commits a share: nothing is left that could undo it, neither our deadline nor a checkpoint', async (t) => {
  await withConfirmLab(async (lab, client) => {
    await lab.startDaemon();
    const progress = await client.progress();
    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 30) });
    progress.length = 0;
    await client.confirm('eth0');
    t.deepEqual(steps(progress), ['authorizing', 'committed']);
    t.deepEqual(await client.pending(), new Map());
    t.is(await nmCheckpoints(lab), 'ao 0');
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
  });
});

test('an unconfirmed unshare undone by Rollback shares the NIC again; a confirmed one leaves the lab as it was before the share', async (t) => {
  await withConfirmLab(async (lab, client, before) => {
    await lab.startDaemon();
    await client.share('eth0');
    // Rolled back: the NIC is shared again, the bridge carries the host's address again, and the
    // rollback says it restored everything (no RolledBack).
    const sharedAddress = ipv4((await links(lab)).get('br-eth0'));
    await client.unshare('eth0', { 'confirm-timeout': makeVariant('u', 60) });
    t.false((await links(lab)).has('br-eth0'));
    await client.rollback('eth0');
    await waitFor('the bridge back with the address after a rolled-back unshare', async () => {
      const now = await links(lab);
      return now.get('eth0')?.master === 'br-eth0' && ipv4(now.get('br-eth0')) === sharedAddress ? true : undefined;
    }, 30_000);
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    // Confirmed: our profiles are gone.
    await client.unshare('eth0', { 'confirm-timeout': makeVariant('u', 60) });
    t.like((await client.pending()).get('eth0'), { operation: 'unshare', bridge: 'br-eth0' });
    await client.confirm('eth0');
    await waitFor('the original state after a confirmed unshare', () => original(lab, before), 30_000);
  });
});

test('the daemon SIGKILLed while a change awaits confirmation: NetworkManager\'s checkpoint timer, set when the change was verified, rolls it back', async (t) => {
  await withConfirmLab(async (lab, client, before) => {
    const daemon = await lab.startDaemon();
    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 5) });
    t.is((await links(lab)).get('eth0')?.master, 'br-eth0');
    daemon.kill('SIGKILL');
    await daemon.waitForExit();
    t.notRegex(daemon.output, /not confirmed within 5 s/, 'our daemon did not roll it back itself');
    await waitFor('NetworkManager rolled the checkpoint back', () => original(lab, before), 90_000);
    t.is((await links(lab)).get('eth0')?.address, NIC_MAC);
  });
});
