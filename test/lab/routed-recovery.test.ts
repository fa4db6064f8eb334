// SPDX-License-Identifier: GPL-2.0-or-later
// Faults in the confirm window of a routed change, in the sealed lab with the real NetworkManager
// and the data plane's agent: our daemon SIGKILLed while a routed Share awaits Confirm (the next
// daemon stops the agent and rolls the rest back), or while a routed Unshare does (the next one
// brings the routed share back, its agent included); NetworkManager restarted while a routed Share
// awaits Confirm; a reboot in the confirm window. Each ends with the host exactly as before (or as
// the share was), compared with routedHostSnapshot: sysctls, addresses, routes, proxy entries,
// processes.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { type Lab, type LabProcess, waitFor } from './lab';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from './lab-guests';
import { routedHostSnapshot } from './lab-routed';
import { networkState, settledTo } from './nm-state';
import { ourProfiles } from './recovery-lab';
import { withLabService } from './service-client';

const ROUTED = { mode: makeVariant('s', 'routed') };
const LINKS = { uplink: 'eth0', bridge: 'br-eth0' };
const STATE = '/run/shared-interface/routed';

const snapshot = (lab: Lab) => routedHostSnapshot(lab, LINKS);

async function agentRuns(lab: Lab): Promise<boolean> {
  return (await snapshot(lab)).some((line) => line.startsWith('process ') && line.includes('shared-interface-routed --uplink=eth0'));
}

/** The daemon alone dies, as in a crash: LabProcess.kill would take the agent it started too. */
async function crash(daemon: LabProcess): Promise<void> {
  process.kill(daemon.pid(), 'SIGKILL');
  await daemon.waitForExit();
}

test.serial('daemon SIGKILLed while a routed Share awaits Confirm: the next daemon stops its agent and rolls it back', async (t) => {
  await withLabService({}, async (lab, client, daemon) => {
    const before = await networkState(lab);
    const host = await snapshot(lab);
    t.is(await client.share('eth0', { ...ROUTED, 'confirm-timeout': makeVariant('u', 60) }), 'br-eth0');
    await crash(daemon);
    t.true(await agentRuns(lab), 'the agent outlives the daemon');
    const started = Date.now();
    const next = await lab.startDaemon();
    t.truthy(await next.waitForOutput(/audit: recovery share eth0 routed through br-eth0: rolled back and verified in \d+ ms/, 40_000));
    t.log(`daemon started → routed share rolled back: ${Date.now() - started} ms`);
    t.deepEqual(await settledTo(() => networkState(lab), before), before, 'profiles, active profiles, eth0\'s addresses and the links as before');
    t.deepEqual(await settledTo(() => snapshot(lab), host), host, 'sysctls, addresses, routes, proxy entries and processes as before');
    t.deepEqual(await client.shared(), new Map());
    t.deepEqual(await client.pending(), new Map());
  });
});

test.serial('daemon SIGKILLed while a routed Unshare awaits Confirm: the next daemon brings the routed share back, its agent included', async (t) => {
  await withLabService({}, async (lab, client, daemon) => {
    const before = await networkState(lab);
    const host = await snapshot(lab);
    t.is(await client.share('eth0', ROUTED), 'br-eth0');
    const shared = await networkState(lab);
    await client.unshare('eth0', { 'confirm-timeout': makeVariant('u', 60) });
    t.false(await agentRuns(lab), 'the Unshare stopped the agent');
    await crash(daemon);
    const started = Date.now();
    const next = await lab.startDaemon();
    t.truthy(await next.waitForOutput(/audit: recovery unshare eth0 routed from br-eth0: rolled back and verified in \d+ ms/, 40_000));
    t.log(`daemon started → routed share back: ${Date.now() - started} ms`);
    t.true(await agentRuns(lab), 'the agent runs again');
    t.deepEqual(await settledTo(() => networkState(lab), shared), shared, 'the guests\' bridge up on its profile, eth0 as it was');
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    t.deepEqual(await client.pending(), new Map());
    // The share works: a guest gets a lease from the LAN's server through the relay, and the LAN reaches it.
    const guest = await addGuestNamespace(lab, 'guest1', 'br-eth0', '02:00:00:00:00:21');
    const leased = await guestDhcp(lab, guest);
    t.regex(leased, /^192\.0\.2\.\d+$/);
    await waitFor(`the LAN to reach the guest at ${leased}`, () => lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-c', '1', '-W', '2', leased], { allowFailure: true }).then((r) => (r.code === 0 ? true : undefined)), 20_000);
    await removeGuestNamespace(lab, guest);
    // And it can be unshared for good.
    await client.unshare('eth0');
    t.deepEqual(await settledTo(() => networkState(lab), before), before);
    t.deepEqual(await settledTo(() => snapshot(lab), host), host);
  });
});

test.serial('NetworkManager restarted while a routed Share awaits Confirm: rolled back at the deadline, its agent stopped', async (t) => {
  await withLabService({}, async (lab, client, daemon) => {
    const before = await networkState(lab);
    const host = await snapshot(lab);
    t.is(await client.share('eth0', { ...ROUTED, 'confirm-timeout': makeVariant('u', 15) }), 'br-eth0');
    await lab.restartNetworkManager();
    t.deepEqual([...(await client.pending()).keys()], ['eth0']);
    t.true(await agentRuns(lab));
    t.truthy(await daemon.waitForOutput(/share eth0 routed: not confirmed within 15 s; rolling back/, 40_000));
    t.truthy(await daemon.waitForOutput(/audit: recovery share eth0: rolled back and verified/, 40_000));
    t.deepEqual(await settledTo(() => networkState(lab), before), before);
    t.deepEqual(await settledTo(() => snapshot(lab), host), host, 'sysctls, addresses, routes, proxy entries and processes as before');
    t.deepEqual(await client.pending(), new Map());
    t.deepEqual(await client.shared(), new Map());
  });
});

test.serial('a reboot in a routed Share\'s confirm window: neither the bridge nor the agent comes back, the record is finished at start', async (t) => {
  await withLabService({}, async (lab, client, daemon) => {
    const before = await networkState(lab);
    const host = await snapshot(lab);
    t.is(await client.share('eth0', { ...ROUTED, 'confirm-timeout': makeVariant('u', 120) }), 'br-eth0');
    // The machine goes down: every process, /run and the kernel's state are lost (the sysctls go
    // back to their boot values, which are the ones the agent saved).
    await crash(daemon);
    await lab.sh(`
      state=${STATE}/eth0.json
      kill -9 "$(jq -r .pid "$state")" "$(cat ${STATE}/eth0.relay.pid)"
      jq -r '.sysctls[] | "/proc/sys/\\(.path | join("/")) \\(.original)"' "$state" | while read -r file value; do
        [ -e "$file" ] && echo "$value" >"$file"
      done
      ip neigh show proxy dev eth0 | while read -r address _; do ip neigh del proxy "$address" dev eth0; done
    `);
    await lab.stopNetworkManager();
    await lab.sh(`ip link del br-eth0; ip addr flush dev eth0; ip link set eth0 down; rm -rf /run/NetworkManager/* ${STATE}`);
    const booted = Date.now();
    await lab.startNetworkManager();
    // The unconfirmed profile was in memory: gone, so no bridge and no dispatcher start of the agent.
    t.deepEqual(await ourProfiles(lab), []);
    const next = await lab.startDaemon();
    t.truthy(await next.waitForOutput(/audit: recovery share eth0 routed through br-eth0: rolled back and verified/, 40_000));
    t.log(`boot (NetworkManager started) → record finished: ${Date.now() - booted} ms`);
    t.deepEqual(await settledTo(() => networkState(lab), before), before);
    t.deepEqual(await settledTo(() => snapshot(lab), host), host);
    t.deepEqual(await client.shared(), new Map());
    t.deepEqual(await client.pending(), new Map());
  });
});
