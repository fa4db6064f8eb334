// SPDX-License-Identifier: GPL-2.0-or-later
// The ifcfg fallback in a sealed lab without NetworkManager: Share and Unshare through initscripts'
// files, checked against the files on disk (golden fixtures, bash) and the kernel's real state.
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { parseShvar, shvarEntries } from '../../src/settings/ifcfg/ifcfg-shvar';
import { FIXTURE_DIR } from '../fixtures/ifcfg/golden';
import { Lab, waitFor, type LabProcess } from './lab';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from './lab-guests';
import { globalAddresses, ipv4, links, pings, routes } from './nm-state';
import { expectBusError, ServiceClient } from './service-client';

const NIC_MAC = '52:54:00:12:34:56';

interface IfcfgLab {
  readonly lab: Lab;
  readonly client: ServiceClient;
  /** The daemon's ifcfg directory and state directory, inside the lab's directory. */
  readonly ifcfgDir: string;
  readonly stateDir: string;
  daemon: LabProcess;
  startDaemon(): Promise<LabProcess>;
}

async function withIfcfgLab(t: ExecutionContext, setup: (lab: Lab, ifcfgDir: string) => Promise<void>, body: (l: IfcfgLab) => Promise<void>): Promise<void> {
  const lab = await Lab.start({ networkManager: false });
  const bus = await lab.connect();
  const ifcfgDir = join(lab.dir, 'network-scripts');
  const stateDir = join(lab.dir, 'state');
  mkdirSync(ifcfgDir);
  try {
    await setup(lab, ifcfgDir);
    const startDaemon = () => lab.startDaemon(['--ifcfg-dir', ifcfgDir, '--state-dir', stateDir]);
    const l: IfcfgLab = { lab, client: new ServiceClient(bus), ifcfgDir, stateDir, daemon: await startDaemon(), startDaemon };
    try {
      await body(l);
    } finally {
      t.log(l.daemon.output.split('\n').filter((line) => /ifcfg|shar|restor|DHCP|udhcpc|fail|error/i.test(line)).slice(-40).join('\n'));
    }
  } finally {
    bus.close();
    await lab.stop();
  }
}

const NIC_SLAAC = '2001:db8::5054:ff:fe12:3456/64';

/** The LAN's router advertisements give eth0 an EUI-64 address: sharing must keep it (on the bridge). */
async function slaac(lab: Lab, device: string): Promise<true> {
  return waitFor(`${NIC_SLAAC} on ${device}`, async () => (globalAddresses((await links(lab)).get(device)).includes(NIC_SLAAC) ? true : undefined), 30_000);
}

/** eth0 configured by hand as the ifcfg file says: 192.0.2.10/24, default via the router, one more route. */
async function staticNic(lab: Lab, ifcfgDir: string): Promise<void> {
  writeFileSync(join(ifcfgDir, 'ifcfg-eth0'), readFileSync(join(FIXTURE_DIR, 'lab-static.input')), { mode: 0o644 });
  await lab.sh(`
    ip addr add 192.0.2.10/24 dev eth0
    ip route add default via 192.0.2.1 dev eth0
    ip route add 198.51.100.0/24 via 192.0.2.254 dev eth0
  `);
  await slaac(lab, 'eth0');
}

// A DHCP client on eth0 that is not ours: the daemon must find it and stop it.
const NIC_UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
deconfig) ip -4 addr flush dev "$interface" scope global ;;
bound|renew) ip addr replace "$ip/$mask" dev "$interface"; for r in $router; do ip route replace default via "$r" dev "$interface"; break; done ;;
esac
`;

async function dhcpNic(lab: Lab, ifcfgDir: string): Promise<void> {
  writeFileSync(join(ifcfgDir, 'ifcfg-eth0'), readFileSync(join(FIXTURE_DIR, 'lab-dhcp.input')), { mode: 0o644 });
  writeFileSync(join(lab.dir, 'nic-udhcpc.sh'), NIC_UDHCPC_SCRIPT, { mode: 0o755 });
  await lab.sh(`busybox udhcpc -i eth0 -s ${lab.dir}/nic-udhcpc.sh -p ${lab.dir}/nic-udhcpc.pid -b -t 10 -T 1`, { timeoutMs: 60_000 });
  await waitFor('a lease on eth0', async () => ipv4((await links(lab)).get('eth0')));
  await slaac(lab, 'eth0');
}

/** Every file in the ifcfg directory, name → bytes. */
function files(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name))]));
}

function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURE_DIR, name));
}

/**
 * Sources `file` the way ifup does (bash, as root) in a clean environment and an empty directory,
 * inside the lab, with xtrace on: every traced command must be an assignment (nothing runs), and
 * the variables set must be exactly those our parser reads. The directory is removed after: the
 * lab shares the host's /tmp.
 */
async function checkSourcedByBash(t: ExecutionContext, lab: Lab, file: string): Promise<void> {
  const traced = await lab.exec(['bash', '-c', `d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT && cd "$d" && env -i bash --noprofile --norc -c 'set -x; . "$1"' bash "$1"`, 'bash', file]);
  const commands = traced.stderr.split('\n').filter((l) => l !== '' && !/^\++ [A-Za-z_][A-Za-z0-9_]*=/.test(l) && l !== `+ . ${file}`);
  t.deepEqual(commands, [], `sourcing ${file} ran commands`);
  const out = await lab.sh(`
    d=$(mktemp -d); trap 'rm -rf "$d"' EXIT; cd "$d"
    env -i bash --noprofile --norc -c 'set -a; . "$1"; env -0' bash ${file} | tr '\\0' '\\n'
    echo "---"; env -i bash --noprofile --norc -c 'env -0' | tr '\\0' '\\n'
    echo "---"; ls -A "$d" | wc -l
  `);
  const [after = '', base = '', left = ''] = out.split('---\n');
  const baseVars = new Set(base.split('\n'));
  const vars = new Map(after.split('\n').filter((l) => l !== '' && !baseVars.has(l) && !l.startsWith('_=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const expected = shvarEntries(parseShvar(readFileSync(file, 'utf8')));
  t.deepEqual(new Map([...vars].sort()), new Map([...expected].sort()), `bash reads ${file} as our parser does`);
  t.is(left.trim(), '0', 'sourcing created files');
}

async function dhcpClientsOf(lab: Lab, device: string): Promise<string[]> {
  const out = await lab.sh(`pgrep -a -f 'udhcpc|dhclient' || true`);
  return out.split('\n').filter((l) => new RegExp(`(-i |\\s)${device.replace(/[-.]/g, '\\$&')}(\\s|$)`).test(l));
}

/** A DHCP NIC put back after an undone share: files byte for byte, no bridge, its own DHCP client and lease. */
async function expectDhcpNicRestored(t: ExecutionContext, l: IfcfgLab, original: Map<string, Buffer>, lease: string): Promise<void> {
  const { lab, client, ifcfgDir, stateDir } = l;
  const restored = files(ifcfgDir);
  t.deepEqual([...restored.keys()], [...original.keys()]);
  for (const [name, bytes] of original) t.true(restored.get(name)?.equals(bytes), `${name} is back byte for byte`);
  t.false(readdirSync(stateDir).includes('transaction'), 'no snapshot left');
  const back = await links(lab);
  t.false(back.has('br-eth0'), 'the bridge is gone');
  t.is(back.get('eth0')?.master, undefined);
  t.deepEqual(await dhcpClientsOf(lab, 'br-eth0'), []);
  t.is((await dhcpClientsOf(lab, 'eth0')).length, 1, 'the NIC has a DHCP client again');
  t.deepEqual(await client.shared(), new Map());
  // The DHCP server answers again: the NIC gets its lease back.
  await lab.sh(`kill -CONT "$(cat ${lab.dir}/dnsmasq.pid)"`);
  t.is(await waitFor('the lease back on eth0', async () => ipv4((await links(lab)).get('eth0')), 60_000), lease);
}

test('a static NIC is shared through ifcfg files and unshared back, byte for byte', async (t) => {
  await withIfcfgLab(t, staticNic, async ({ lab, client, ifcfgDir, stateDir }) => {
    t.is((await client.property('Backend')).value, 'ifcfg');
    const original = files(ifcfgDir);
    t.true(await pings(lab, '192.0.2.1', 'eth0'));
    t.log(`eth0 before: ${globalAddresses((await links(lab)).get('eth0')).join(' ')}`);

    const started = Date.now();
    t.is(await client.share('eth0'), 'br-eth0');
    t.log(`Share took ${Date.now() - started} ms`);

    // Exactly the expected files, mode 0644, nothing else in the directory.
    const shared = files(ifcfgDir);
    t.deepEqual([...shared.keys()], ['ifcfg-br-eth0', 'ifcfg-eth0']);
    t.is(shared.get('ifcfg-br-eth0')?.toString(), fixture('lab-static.bridge.expected').toString());
    t.is(shared.get('ifcfg-eth0')?.toString(), fixture('lab-static.nic.expected').toString());
    for (const name of shared.keys()) t.is(statSync(join(ifcfgDir, name)).mode & 0o777, 0o644, name);
    for (const name of shared.keys()) await checkSourcedByBash(t, lab, join(ifcfgDir, name));
    t.deepEqual(readdirSync(stateDir).sort(), ['shared'], 'the snapshot is gone after the commit');

    // The live state: NIC enslaved, the bridge has the NIC's MAC, addresses and routes moved.
    const after = await links(lab);
    t.is(after.get('eth0')?.master, 'br-eth0');
    t.is(after.get('br-eth0')?.address, NIC_MAC);
    t.log(`br-eth0 after: ${globalAddresses(after.get('br-eth0')).join(' ')}`);
    t.true(globalAddresses(after.get('br-eth0')).includes('192.0.2.10/24'));
    // IPv6 is not required (no IPV6_FAILURE_FATAL): the call did not wait for the router's advertisement.
    await waitFor('the autoconfigured IPv6 address on br-eth0', async () => (globalAddresses((await links(lab)).get('br-eth0')).includes(NIC_SLAAC) ? true : undefined));
    t.deepEqual(globalAddresses(after.get('eth0')), []);
    const r4 = await routes(lab);
    t.true(r4.some((r) => r.dst === 'default' && r.gateway === '192.0.2.1' && r.dev === 'br-eth0'), JSON.stringify(r4));
    t.true(r4.some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254' && r.dev === 'br-eth0'), JSON.stringify(r4));
    t.false(r4.some((r) => r.dev === 'eth0'));
    t.true(await pings(lab, '192.0.2.1', 'br-eth0'));
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    const listed = (await client.listInterfaces()).find((i) => i.name === 'eth0');
    t.like(listed, { bridge: 'br-eth0', shareable: false });

    // A guest on the bridge reaches the LAN.
    const guest = await addGuestNamespace(lab, 'guest1', 'br-eth0', '52:54:00:00:00:51');
    await lab.sh('ip -n guest1 addr add 192.0.2.51/24 dev eth0');
    t.is((await lab.exec(['ip', 'netns', 'exec', 'guest1', 'ping', '-c', '2', '-W', '2', '192.0.2.1'], { allowFailure: true })).code, 0, 'the guest reaches the router');
    await removeGuestNamespace(lab, guest);

    const unsharing = Date.now();
    await client.unshare('eth0');
    t.log(`Unshare took ${Date.now() - unsharing} ms`);
    const restored = files(ifcfgDir);
    t.deepEqual([...restored.keys()], [...original.keys()]);
    for (const [name, bytes] of original) t.true(restored.get(name)?.equals(bytes), `${name} is back byte for byte`);
    t.deepEqual(readdirSync(join(stateDir, 'shared')), [], 'the kept original is forgotten');
    const back = await links(lab);
    t.false(back.has('br-eth0'));
    t.is(back.get('eth0')?.master, undefined);
    t.true(globalAddresses(back.get('eth0')).includes('192.0.2.10/24'));
    await waitFor('the autoconfigured IPv6 address back on eth0', async () => (globalAddresses((await links(lab)).get('eth0')).includes(NIC_SLAAC) ? true : undefined));
    const r4back = await routes(lab);
    t.true(r4back.some((r) => r.dst === 'default' && r.gateway === '192.0.2.1' && r.dev === 'eth0'));
    t.true(r4back.some((r) => r.dst === '198.51.100.0/24' && r.gateway === '192.0.2.254' && r.dev === 'eth0'));
    t.true(await pings(lab, '192.0.2.1', 'eth0'));
    t.deepEqual(await client.shared(), new Map());
  });
});

test('a DHCP NIC is shared: its DHCP client moves to the bridge, same lease; unshare brings it back', async (t) => {
  await withIfcfgLab(t, dhcpNic, async ({ lab, client, ifcfgDir }) => {
    const original = files(ifcfgDir);
    const lease = ipv4((await links(lab)).get('eth0'));
    t.regex(lease ?? '', /^192\.0\.2\.1[0-9][0-9]$/);
    t.is((await dhcpClientsOf(lab, 'eth0')).length, 1);

    const started = Date.now();
    t.is(await client.share('eth0'), 'br-eth0');
    t.log(`Share took ${Date.now() - started} ms`);

    const shared = files(ifcfgDir);
    t.deepEqual([...shared.keys()], ['ifcfg-br-eth0', 'ifcfg-eth0']);
    t.is(shared.get('ifcfg-br-eth0')?.toString(), fixture('lab-dhcp.bridge.expected').toString());
    t.is(shared.get('ifcfg-eth0')?.toString(), fixture('lab-dhcp.nic.expected').toString());
    for (const name of shared.keys()) await checkSourcedByBash(t, lab, join(ifcfgDir, name));

    const after = await links(lab);
    t.is(after.get('eth0')?.master, 'br-eth0');
    t.is(after.get('br-eth0')?.address, NIC_MAC);
    t.is(ipv4(after.get('br-eth0')), lease, 'the bridge got the same lease');
    t.deepEqual(globalAddresses(after.get('eth0')), []);
    t.true((await routes(lab)).some((r) => r.dst === 'default' && r.gateway === '192.0.2.1' && r.dev === 'br-eth0'));
    t.deepEqual(await dhcpClientsOf(lab, 'eth0'), [], "the NIC's own DHCP client is stopped");
    t.is((await dhcpClientsOf(lab, 'br-eth0')).length, 1, 'a DHCP client runs on the bridge');

    const guest = await addGuestNamespace(lab, 'guest2', 'br-eth0', '52:54:00:00:00:52');
    const guestLease = await guestDhcp(lab, guest);
    t.regex(guestLease, /^192\.0\.2\.1[0-9][0-9]$/);
    t.not(guestLease, lease);
    t.is((await lab.exec(['ip', 'netns', 'exec', 'guest2', 'ping', '-c', '2', '-W', '2', '192.0.2.1'], { allowFailure: true })).code, 0, 'the guest reaches the router');

    // A guest still attached: refused without force, cut off with it.
    await expectBusError(t, client.unshare('eth0'), 'org.fedoraproject.SharedInterface.Error.Busy', /guest2|vguest2/);
    await client.unshare('eth0', { force: makeVariant('b', true) });
    await removeGuestNamespace(lab, guest);

    const restored = files(ifcfgDir);
    t.deepEqual([...restored.keys()], [...original.keys()]);
    for (const [name, bytes] of original) t.true(restored.get(name)?.equals(bytes), `${name} is back byte for byte`);
    const back = await links(lab);
    t.false(back.has('br-eth0'));
    t.is(back.get('eth0')?.master, undefined);
    t.is(ipv4(back.get('eth0')), lease, 'the NIC has its lease back');
    t.true((await routes(lab)).some((r) => r.dst === 'default' && r.gateway === '192.0.2.1' && r.dev === 'eth0'));
    t.is((await dhcpClientsOf(lab, 'eth0')).length, 1, 'a DHCP client runs on the NIC again');
    t.deepEqual(await dhcpClientsOf(lab, 'br-eth0'), []);
  });
});

test('hostile input is refused with InvalidArgs and no file is written', async (t) => {
  await withIfcfgLab(t, staticNic, async ({ lab, client, ifcfgDir, stateDir }) => {
    const bridge = (name: string) => ({ bridge: makeVariant('s', name) });
    const untouched = async (what: string) => {
      const now = files(ifcfgDir);
      t.deepEqual([...now.keys()], ['ifcfg-eth0'], what);
      t.true(now.get('ifcfg-eth0')?.equals(fixture('lab-static.input')) ?? false, what);
      t.deepEqual(existsSync(stateDir) ? readdirSync(stateDir).filter((n) => n !== 'shared') : [], [], `${what}: no snapshot left`);
      t.is((await lab.exec(['test', '-e', '/tmp/p'], { allowFailure: true })).code, 1, `${what}: nothing ran`);
      t.false((await links(lab)).has('br-eth0'));
    };
    const invalid = 'org.freedesktop.DBus.Error.InvalidArgs';
    await expectBusError(t, client.share('eth0', bridge('x$(touch /tmp/p)')), invalid);
    await untouched('x$(touch /tmp/p)');
    await expectBusError(t, client.share('eth0', bridge('x$(id>/tmp/p)')), invalid, /characters not allowed/);
    await untouched('x$(id>/tmp/p)');
    await expectBusError(t, client.share('eth0', bridge('x`id`;id')), invalid, /characters not allowed/);
    await untouched('x`id`;id');
    await expectBusError(t, client.share('eth0', bridge('../x')), invalid);
    await untouched('../x');
    await expectBusError(t, client.share('eth0', bridge('a'.repeat(16))), invalid, /16 bytes/);
    await untouched('16 bytes');
    // Names the kernel takes but initscripts would not: skipped as a backup file, or read as an option.
    await expectBusError(t, client.share('eth0', bridge('br0.bak')), invalid, /br0\.bak/);
    await untouched('br0.bak');
    await expectBusError(t, client.share('eth0', bridge('-br0')), invalid);
    await untouched('-br0');

    // Values in the NIC's own file that cannot move safely into a file root sources.
    const hostileFiles: Array<[string, string]> = [
      ['a value with a newline', "DOMAIN=$'lab.example\\ntouch /tmp/p'\n"],
      ['a command substitution', 'DOMAIN=$(touch /tmp/p)\n'],
      ['a quoted substitution in a host name', "DHCP_HOSTNAME='$(touch /tmp/p)'\n"],
      ['a backtick in double quotes', 'DOMAIN="`touch /tmp/p`"\n'],
    ];
    for (const [what, line] of hostileFiles) {
      const hostile = Buffer.concat([fixture('lab-static.input'), Buffer.from(line)]);
      writeFileSync(join(ifcfgDir, 'ifcfg-eth0'), hostile);
      await expectBusError(t, client.share('eth0'), invalid);
      const now = files(ifcfgDir);
      t.deepEqual([...now.keys()], ['ifcfg-eth0'], what);
      t.true(now.get('ifcfg-eth0')?.equals(hostile), `${what}: the NIC's file is untouched`);
      t.is((await lab.exec(['test', '-e', '/tmp/p'], { allowFailure: true })).code, 1, `${what}: nothing ran`);
    }
    writeFileSync(join(ifcfgDir, 'ifcfg-eth0'), fixture('lab-static.input'));
    await untouched('after the hostile files');
    // Not hostile, but not possible with files either.
    await expectBusError(t, client.share('eth0', { persist: makeVariant('b', false) }), 'org.fedoraproject.SharedInterface.Error.NotSupported');
    await untouched('persist false');
    // And the service still works.
    t.is(await client.share('eth0'), 'br-eth0');
  });
});

test('a share that cannot be verified is rolled back: RolledBack, files byte for byte, the NIC as it was', async (t) => {
  await withIfcfgLab(t, dhcpNic, async (l) => {
    const { lab, client, ifcfgDir, stateDir } = l;
    const original = files(ifcfgDir);
    const lease = ipv4((await links(lab)).get('eth0')) ?? 'no lease';
    // The DHCP server stops answering: the bridge never gets the NIC's lease, so verification fails.
    await lab.sh(`kill -STOP "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const started = Date.now();
    await expectBusError(t, client.share('eth0'), 'org.fedoraproject.SharedInterface.Error.RolledBack', /br-eth0 lacks the address/);
    t.log(`Share until RolledBack took ${Date.now() - started} ms`);
    t.deepEqual(readdirSync(stateDir).filter((n) => n !== 'shared' && !n.endsWith('.script') && !n.endsWith('.pid')), [], 'no snapshot left');
    t.deepEqual(readdirSync(join(stateDir, 'shared')), [], 'no record of a share');
    await expectDhcpNicRestored(t, l, original, lease);
  });
});

test('a daemon killed between writing and verifying leaves a snapshot that the next start restores', async (t) => {
  await withIfcfgLab(t, dhcpNic, async (l) => {
    const { lab, client, ifcfgDir, stateDir } = l;
    const original = files(ifcfgDir);
    const lease = ipv4((await links(lab)).get('eth0')) ?? 'no lease';
    // A real condition that keeps verification waiting: the DHCP server stops answering, so the
    // bridge gets no lease while the files are written and the bridge is up.
    await lab.sh(`kill -STOP "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const sharing = client.share('eth0', { 'rollback-timeout': makeVariant('u', 300) }).catch((err: unknown) => err);
    await waitFor('the change written and applied, not yet verified', async () => {
      const written = readdirSync(ifcfgDir).includes('ifcfg-br-eth0') && readdirSync(stateDir).includes('transaction');
      return written && (await links(lab)).get('eth0')?.master === 'br-eth0' ? true : undefined;
    }, 60_000);
    // The bridge's DHCP client has given up waiting in the foreground and gone to the background
    // (reparented to the lab's init): the daemon is verifying now, and the client will outlive it.
    await waitFor('the bridge DHCP client in the background', async () => {
      const out = await lab.sh(`for p in $(pgrep -f 'udhcpc.*br-eth0'); do ps -o ppid= -p "$p"; done`);
      return out.split('\n').some((ppid) => ppid.trim() === '1') ? true : undefined;
    }, 60_000);
    l.daemon.kill('SIGKILL');
    await l.daemon.waitForExit();
    t.true(await sharing instanceof Error, 'the Share call got no answer');

    // What the killed daemon left: its files, its bridge, and the snapshot to undo them.
    t.deepEqual([...files(ifcfgDir).keys()], ['ifcfg-br-eth0', 'ifcfg-eth0']);
    t.true(readdirSync(join(stateDir, 'transaction')).includes('manifest.json'));
    t.true((await links(lab)).has('br-eth0'));

    const restarting = Date.now();
    l.daemon = await l.startDaemon();
    t.log(`restart with restore took ${Date.now() - restarting} ms`);
    t.regex(l.daemon.output, /restoring it/);
    await expectDhcpNicRestored(t, l, original, lease);
  });
});

test('NetworkManager appearing switches Backend to NetworkManager, and its leaving back to ifcfg', async (t) => {
  await withIfcfgLab(t, async () => {}, async ({ lab, client }) => {
    t.is((await client.property('Backend')).value, 'ifcfg');
    await lab.startNetworkManager();
    await waitFor('Backend NetworkManager', async () => ((await client.property('Backend')).value === 'NetworkManager' ? true : undefined));
    await lab.stopNetworkManager();
    await waitFor('Backend ifcfg', async () => ((await client.property('Backend')).value === 'ifcfg' ? true : undefined));
    t.pass();
  });
});

test('confirm-timeout with ifcfg files: unconfirmed, rolled back, killed (restored at the next start), confirmed', async (t) => {
  await withIfcfgLab(t, staticNic, async (l) => {
    const { lab, client, ifcfgDir, stateDir } = l;
    const original = files(ifcfgDir);
    const progress = await client.progress();
    const asBefore = async (): Promise<true | undefined> => {
      const now = files(ifcfgDir);
      const same = [...now.keys()].join() === [...original.keys()].join() && [...original].every(([name, bytes]) => now.get(name)?.equals(bytes));
      const live = await links(lab);
      const back = same && !live.has('br-eth0') && live.get('eth0')?.master === undefined && globalAddresses(live.get('eth0')).includes('192.0.2.10/24');
      return back && !readdirSync(stateDir).includes('transaction') && (await client.pending()).size === 0 ? true : undefined;
    };
    const pendingShare = async (seconds: number) => {
      t.is(await client.share('eth0', { 'confirm-timeout': makeVariant('u', seconds) }), 'br-eth0');
      t.like((await client.pending()).get('eth0'), { operation: 'share', bridge: 'br-eth0' });
      t.true(readdirSync(stateDir).includes('transaction'), 'the snapshot stays while the change awaits confirmation');
      t.is((await links(lab)).get('eth0')?.master, 'br-eth0');
    };

    // Nobody confirms: the daemon's timer restores the snapshot.
    await pendingShare(5);
    await waitFor('the unconfirmed share rolled back', () => (progress.at(-1)?.[1] === 'rolled-back' ? true : undefined), 60_000);
    await waitFor('the unconfirmed share undone', asBefore, 60_000);
    t.regex(l.daemon.output, /share eth0: not confirmed within 5 s; rolling back/);

    // Rollback: at once.
    await pendingShare(120);
    await client.rollback('eth0');
    t.true(await asBefore(), 'files, bridge and address as before when Rollback returns');

    // The daemon dies while the change awaits confirmation: the next start restores the snapshot.
    await pendingShare(120);
    l.daemon.kill('SIGKILL');
    await l.daemon.waitForExit();
    l.daemon = await l.startDaemon();
    t.regex(l.daemon.output, /restoring it/);
    await waitFor('the snapshot restored at start', asBefore, 60_000);

    // Confirm commits: the snapshot goes, the files stay; unshare and confirm bring the original back.
    await pendingShare(120);
    await client.confirm('eth0');
    t.false(readdirSync(stateDir).includes('transaction'));
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    await client.unshare('eth0', { 'confirm-timeout': makeVariant('u', 120) });
    t.like((await client.pending()).get('eth0'), { operation: 'unshare', bridge: 'br-eth0' });
    await client.confirm('eth0');
    await waitFor('the original files after a confirmed unshare', asBefore, 30_000);
  });
});
