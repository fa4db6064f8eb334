// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing through the daemon, in the sealed lab with the real NetworkManager and the data
// plane's agent (started directly: the lab's PID 1 is no systemd): Share(eth0, {mode: routed})
// leaves eth0 and its profile as they are, adds the guests' bridge and verifies with a probe
// guest's lease before it returns; a guest on the bridge gets a lease from the LAN's dnsmasq on the
// LAN's subnet and the LAN reaches it; NetworkManager restarted keeps it so; Unshare leaves the
// host as before (profiles, sysctls, routes, processes); a Share whose probe gets no lease (the
// LAN's DHCP server stopped) is rolled back, leaving nothing.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor } from './lab';
import { installIntoLab } from './lab-install';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from './lab-guests';
import { globalAddresses, keyfiles, links, networkState, parseKeyfile, pings, settledTo } from './nm-state';
import { callError, ServiceClient, withLabService } from './service-client';

const ROUTED = { mode: makeVariant('s', 'routed') };

/** What routed sharing may change and must put back: forwarding, proxy ARP, every IPv4 route, the agent and its relay. */
async function hostState(lab: Lab): Promise<{ sysctls: string; routes: string; processes: string[] }> {
  const sysctls = await lab.sh("sysctl -a 2>/dev/null | grep -E '^net\\.ipv4\\.(ip_forward|conf\\.(all|default|eth0)\\.(proxy_arp|forwarding|rp_filter|send_redirects))' | sort");
  const routes = await lab.sh('ip -4 route show table all | grep -v "^local\\|^broadcast" | sort');
  // The LAN's own dnsmasq runs throughout; a relay or an agent left behind is a second process.
  const processes = (await lab.sh('ps -eo args= | grep -E "shared-interface-routed|dnsmasq" | grep -v grep | sort || true')).split('\n').filter((l) => l !== '' && !l.endsWith('<defunct>'));
  return { sysctls, routes, processes };
}

test.serial('Share routed: eth0 untouched, the guests\' bridge verified by a probe\'s lease; a guest gets a LAN lease and the LAN reaches it; NM restarted keeps it; Unshare leaves the host as before', async (t) => {
  await withLabService({}, async (lab, client) => {
    const before = await networkState(lab);
    const host = await hostState(lab);
    const eth0Before = (await links(lab)).get('eth0');
    const progress = await client.progress();

    t.is(await client.share('eth0', ROUTED), 'br-eth0');

    const after = await links(lab);
    t.is(after.get('eth0')?.master, undefined, 'eth0 is no port');
    t.deepEqual(globalAddresses(after.get('eth0')), globalAddresses(eth0Before), 'eth0 keeps its addresses');
    t.true(after.has('br-eth0'));
    t.true(await pings(lab, '192.0.2.1', 'eth0'));
    const steps = progress.filter(([nic]) => nic === 'eth0').map(([, step]) => step);
    for (const step of ['checkpoint', 'profiles-added', 'routing', 'probe-leased', 'bridge-up', 'committed']) t.true(steps.includes(step), `Progress ${step}`);
    t.regex(progress.find(([, step]) => step === 'probe-leased')?.[2] ?? '', /got 192\.0\.2\.\d+ from the LAN's DHCP server through eth0/);
    // One profile on disk, the guests' bridge; eth0's own keyfile exactly as before.
    const files = keyfiles(lab);
    t.is(files.get('Wired eth0.nmconnection'), before.keyfiles.get('Wired eth0.nmconnection'));
    t.is(files.size, before.keyfiles.size + 1);
    const bridgeFile = parseKeyfile(files.get('br-eth0 (routed guests of eth0).nmconnection') ?? '');
    t.like(bridgeFile, { connection: { type: 'bridge', 'interface-name': 'br-eth0' }, ipv4: { method: 'disabled' }, ipv6: { method: 'disabled' } });
    t.is(bridgeFile['user']?.['org.fedoraproject.shared-interface.role'], 'routed');
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    t.like((await client.listInterfaces()).find((i) => i.name === 'eth0'), { bridge: 'br-eth0', mode: 'routed' });
    // Shared already, routed: a no-op; asked bridged, AlreadyShared.
    t.is(await client.share('eth0', ROUTED), 'br-eth0');
    t.is((await callError(client.share('eth0'))).name, 'org.fedoraproject.SharedInterface.Error.AlreadyShared');

    // A guest on the bridge is on the LAN: the LAN's own DHCP server leases it an address of the
    // LAN's subnet, and the LAN reaches it at that address, through the host.
    const guest = await addGuestNamespace(lab, 'guest1', 'br-eth0', '02:00:00:00:00:11');
    const leased = await guestDhcp(lab, guest);
    t.regex(leased, /^192\.0\.2\.\d+$/);
    const lanPings = () => lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-c', '1', '-W', '2', leased], { allowFailure: true }).then((r) => (r.code === 0 ? true : undefined));
    await waitFor(`the LAN to reach the guest at ${leased}`, lanPings, 20_000);
    t.pass('the LAN reaches the guest');

    // NetworkManager restarted: the bridge is assumed again, the routing goes on.
    await lab.restartNetworkManager();
    await waitFor(`the LAN to reach the guest at ${leased} after NetworkManager's restart`, lanPings, 30_000);
    // The service reads NetworkManager's world again after its restart: shared once it has.
    const sharedNow = new Map([['eth0', 'br-eth0']]);
    t.deepEqual(await settledTo(() => client.shared(), sharedNow), sharedNow);

    // Unshare: refused while the guest is attached, then forced.
    t.is((await callError(client.unshare('eth0'))).name, 'org.fedoraproject.SharedInterface.Error.Busy');
    await client.unshare('eth0', { force: makeVariant('b', true) });
    await removeGuestNamespace(lab, guest);
    t.deepEqual(await settledTo(() => networkState(lab), before), before, 'profiles, active profiles, eth0\'s addresses and the links as before');
    t.deepEqual(await settledTo(() => hostState(lab), host), host, 'sysctls, routes and processes as before');
    t.deepEqual(await client.shared(), new Map());
  });
});

test.serial('Share routed whose probe gets no lease (the LAN\'s DHCP server stopped) is rolled back: no profile, no bridge, no agent', async (t) => {
  await withLabService({}, async (lab, client) => {
    const before = await networkState(lab);
    const host = await hostState(lab);
    await lab.sh(`kill "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const hostWithoutLanServer = await hostState(lab);
    const failed = await callError(client.share('eth0', ROUTED));
    t.is(failed.name, 'org.fedoraproject.SharedInterface.Error.RolledBack');
    t.regex(failed.message, /probe guest on br-eth0 got no DHCP lease through eth0/);
    t.deepEqual(await settledTo(() => networkState(lab), before), before);
    t.deepEqual(await settledTo(() => hostState(lab), hostWithoutLanServer), hostWithoutLanServer);
    t.not(host.processes.length, hostWithoutLanServer.processes.length, 'the LAN\'s server was stopped');
    t.deepEqual(await client.shared(), new Map());
  });
});

test.serial('Share routed with confirm-timeout awaits Confirm under its checkpoint; Rollback undoes all of it, data plane included', async (t) => {
  await withLabService({}, async (lab, client) => {
    const before = await networkState(lab);
    const host = await hostState(lab);
    t.is(await client.share('eth0', { ...ROUTED, 'confirm-timeout': makeVariant('u', 60) }), 'br-eth0');
    t.like((await client.pending()).get('eth0'), { operation: 'share', bridge: 'br-eth0' });
    t.true((await hostState(lab)).processes.some((p) => p.includes('shared-interface-routed')), 'the agent runs meanwhile');
    await client.rollback('eth0');
    t.deepEqual(await settledTo(() => networkState(lab), before), before);
    t.deepEqual(await settledTo(() => hostState(lab), host), host, 'sysctls, routes and processes as before');
    t.deepEqual(await client.shared(), new Map());
  });
});

test.serial('the CLI: share --routed says so, list shows the mode, --mode=nat is a usage error before any bus, unshare puts it back', async (t) => {
  await withLabService({}, async (lab) => {
    const cli = (args: string[]) => lab.exec([join(REPO_ROOT, 'bin', 'shared-interface'), ...args], { allowFailure: true, timeoutMs: 180_000 });
    const shared = await cli(['share', 'eth0', '--routed']);
    t.is(shared.code, 0, shared.stderr);
    t.regex(shared.stdout, /^eth0 is shared routed through bridge br-eth0; attach guests to br-eth0/);
    t.regex((await cli(['-g', 'interface,mode,bridge', 'list'])).stdout, /^eth0:routed:br-eth0$/m);
    const bad = await cli(['share', 'eth0', '--mode=nat']);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--mode must be one of bridge, routed, auto, not 'nat'/);
    t.is((await cli(['unshare', 'eth0'])).code, 0);
  });
});

test.serial('Share routed asks for what it can do: an unknown mode is InvalidArgs and changes nothing', async (t) => {
  await withLabService({}, async (lab, client) => {
    const before = await networkState(lab);
    const bad = await callError(client.share('eth0', { mode: makeVariant('s', 'nat') }));
    t.is(bad.name, 'org.freedesktop.DBus.Error.InvalidArgs');
    t.is(bad.message, "option 'mode' must be one of bridge, routed, auto, not 'nat'");
    t.deepEqual(await networkState(lab), before);
  });
});

test.serial('after a reboot without our daemon, the installed dispatcher script starts the data plane when NetworkManager brings the guests\' bridge up, and stops it when it goes down', async (t) => {
  const lab = await Lab.start({ overlay: true });
  const bus = await lab.connect();
  try {
    await installIntoLab(lab);
    // The daemon's records where the installed hook looks for them (a change in progress is the daemon's own).
    const daemonArgs = ['--state-dir=/var/lib/shared-interface'];
    let daemon = await lab.startDaemon(daemonArgs);
    const client = new ServiceClient(bus);
    const before = await networkState(lab);
    const host = await hostState(lab);
    t.is(await client.share('eth0', ROUTED), 'br-eth0');
    // The dispatcher ran the hook as the bridge came up: once it is done, one agent runs, the daemon's.
    await waitFor('the dispatcher\'s hook to finish', async () => ((await hostState(lab)).processes.some((p) => p.includes('shared-interface-routed-hook')) ? undefined : true), 30_000);
    t.is((await hostState(lab)).processes.filter((p) => p.includes('shared-interface-routed --uplink')).length, 1, 'one agent: the hook left the Share to the daemon');
    // The reboot: the daemon gone, and the agent with it (in the lab it is the daemon's child; the
    // kernel's state it set goes with it, as at a reboot), NetworkManager gone, the bridge gone.
    daemon.kill();
    await daemon.waitForExit();
    await lab.sh('while [ -e /run/shared-interface/routed/eth0.json ]; do sleep 0.1; done');
    await lab.stopNetworkManager();
    await lab.sh('ip link del br-eth0');
    t.deepEqual((await hostState(lab)).processes, host.processes);
    await lab.startNetworkManager();
    const agentRuns = async () => ((await hostState(lab)).processes.some((p) => p.includes('shared-interface-routed --uplink')) ? true : undefined);
    await waitFor('the dispatcher script to start the agent with the bridge', agentRuns, 60_000);
    const guest = await addGuestNamespace(lab, 'guest2', 'br-eth0', '02:00:00:00:00:12');
    const leased = await waitFor('a lease for the guest through the relay', () => guestDhcp(lab, guest).catch(() => undefined), 60_000);
    t.regex(leased, /^192\.0\.2\.\d+$/);
    await removeGuestNamespace(lab, guest);

    // The bridge goes down (nmcli, still without our daemon): its routing goes with it; up again, it is back.
    await lab.sh("nmcli --wait 30 connection down 'br-eth0 (routed guests of eth0)' >/dev/null");
    await waitFor('the dispatcher script to stop the agent', async () => ((await agentRuns()) === undefined ? true : undefined), 60_000);
    t.is((await hostState(lab)).sysctls, host.sysctls, 'the agent put the sysctls back');
    await lab.sh("nmcli --wait 30 connection up 'br-eth0 (routed guests of eth0)' >/dev/null");
    await waitFor('the dispatcher script to start the agent again', agentRuns, 60_000);

    daemon = await lab.startDaemon(daemonArgs);
    await waitFor('the daemon to see eth0 shared', async () => ((await client.shared()).has('eth0') ? true : undefined), 30_000);
    await client.unshare('eth0');
    t.deepEqual(await settledTo(() => networkState(lab), before), before);
    t.deepEqual(await settledTo(() => hostState(lab), host), host, 'sysctls, routes and processes as before');
  } finally {
    bus.close();
    await lab.stop();
  }
});
