// SPDX-License-Identifier: GPL-2.0-or-later
// The Ansible collection against a fleet: Debian's ansible-core on a controller runs the README's
// playbook over SSH against three lab hosts on one LAN, each with NetworkManager and our daemon.
// One fleet for all its tests (three NetworkManagers are slow to start on a small machine).
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { waitFor } from '../lab/lab';
import { LabFleet, type FleetHost } from '../lab/lab-fleet';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from '../lab/lab-guests';
import { ipv4, links, networkState, settledTo } from '../lab/nm-state';
import { AnsibleController, COLLECTION, COLLECTION_DIR, type AnsibleRun, type HostVars } from './ansible-controller';

const PLAYBOOK = join(COLLECTION_DIR, 'playbooks', 'share-uplinks.yml');
const NO_SUCH_INTERFACE = 'org.fedoraproject.SharedInterface.Error.NoSuchInterface';
const SERVICE = 'org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface';

function uplinks(overrides: Record<string, string> = {}): HostVars {
  return Object.fromEntries(['host1', 'host2', 'host3'].map((h) => [h, { uplink: overrides[h] ?? 'eth0' }]));
}

function recapOf(run: AnsibleRun, host: string): string {
  const r = run.recap.get(host);
  return r === undefined ? 'missing' : `changed=${r.changed} failed=${r.failed} unreachable=${r.unreachable}`;
}

function explain(run: AnsibleRun): string {
  return `ansible-playbook exited ${run.code}:\n${run.stdout}\n${run.stderr}`;
}

// Each group of assertions is a test of its own; they share the fleet and run in order, each
// first bringing the fleet to the state it starts from (idempotently), so the first failure hides
// none of the others.
let fleet: LabFleet | undefined;
let ansible: AnsibleController | undefined;
/** Each host's NetworkManager state before anything was shared. */
let original = new Map<string, Awaited<ReturnType<typeof networkState>>>();

test.before(async () => {
  fleet = await LabFleet.start({ hosts: 3 });
  await Promise.all(fleet.hosts.map((h) => h.lab.startDaemon()));
  ansible = await AnsibleController.start(fleet);
  original = new Map(await Promise.all(fleet.hosts.map(async (h) => [h.name, await networkState(h.lab)] as const)));
});

test.after.always(async () => {
  await fleet?.stop();
});

function theFleet(): { fleet: LabFleet; ansible: AnsibleController } {
  if (fleet === undefined || ansible === undefined) throw new Error('the fleet did not start');
  return { fleet, ansible };
}

/** Every host's eth0 shared through br-eth0, whatever an earlier test left. */
async function ensureShared(t: ExecutionContext): Promise<void> {
  const { fleet, ansible } = theFleet();
  ansible.writeInventory(uplinks());
  // Named: a NIC shared through another bridge is shared already, as far as a nameless request goes.
  const run = await ansible.playbook(PLAYBOOK, ['-e', 'uplink_bridge=br-eth0']);
  if (run.code !== 0) throw new Error(`could not share eth0 everywhere first: ${explain(run)}`);
  for (const host of fleet.hosts) await assertShared(t, host);
}

/** Every host as it was before anything was shared. */
async function ensureUnshared(): Promise<void> {
  const { fleet, ansible } = theFleet();
  ansible.writeInventory(uplinks());
  const run = await ansible.playbook(PLAYBOOK, ['-e', 'uplink_state=unshared']);
  if (run.code !== 0) throw new Error(`could not unshare eth0 everywhere first: ${explain(run)}`);
  for (const host of fleet.hosts) {
    const expected = original.get(host.name);
    await settledTo(() => networkState(host.lab), expected);
  }
}

test.serial('a playbook shares eth0 on three hosts over SSH; --diff shows the address moving to the bridge', async (t) => {
  const { fleet, ansible } = theFleet();
  ansible.writeInventory(uplinks());
  // Shared everywhere; each bridge has the host's MAC and its leased address.
  const share = await ansible.playbook(PLAYBOOK, ['--diff']);
  t.is(share.code, 0, explain(share));
  for (const host of fleet.hosts) {
    t.is(recapOf(share, host.name), 'changed=1 failed=0 unreachable=0', explain(share));
    await assertShared(t, host);
  }
  // --diff: before, the address is on eth0; after, on the bridge with eth0 as its port.
  t.regex(share.stdout, /-\s+"bridge": "",/);
  t.regex(share.stdout, /\+\s+"bridge": "br-eth0",/);
  t.regex(share.stdout, new RegExp(`\\+\\s+"br-eth0": \\[\\s*\\n\\s+"${fleet.host('host1').address.replace(/\./g, '\\.')}/24"`));
});

test.serial('a guest on a shared bridge is on the LAN: the fleet\'s one DHCP server leases it an address', async (t) => {
  const { fleet } = theFleet();
  await ensureShared(t);
  const guest = await addGuestNamespace(fleet.host('host1').lab, 'guest1', 'br-eth0', '02:00:00:00:00:01');
  try {
    const leased = await guestDhcp(fleet.host('host1').lab, guest);
    t.regex(leased, /^192\.0\.2\.1\d\d$/);
    t.regex(fleet.leases(), new RegExp(`02:00:00:00:00:01 ${leased.replace(/\./g, '\\.')} `));
  } finally {
    await removeGuestNamespace(fleet.host('host1').lab, guest);
  }
});

test.serial('the info module gives ListInterfaces and the properties as data', async (t) => {
  const { fleet, ansible } = theFleet();
  await ensureShared(t);
  const info = await ansible.run(['ansible', 'hypervisors', '-o', '-m', `${COLLECTION}.shared_interface_info`]);
  t.is(info.code, 0, info.stdout + info.stderr);
  for (const host of fleet.hosts) {
    const line = info.stdout.split('\n').find((l) => l.startsWith(`${host.name} | SUCCESS => `)) ?? '';
    const facts = JSON.parse(line.slice(line.indexOf('=> ') + 3) || '{}') as { shared?: unknown; backend?: unknown; interfaces?: Array<{ name: string; bridge: string; mac: string }> };
    t.deepEqual(facts.shared, { eth0: 'br-eth0' }, line);
    t.is(facts.backend, 'NetworkManager');
    t.like(facts.interfaces?.find((i) => i.name === 'eth0'), { bridge: 'br-eth0', mac: host.mac });
  }
});

test.serial('the same playbook again changes nothing', async (t) => {
  const { fleet, ansible } = theFleet();
  await ensureShared(t);
  const again = await ansible.playbook(PLAYBOOK);
  t.is(again.code, 0, explain(again));
  for (const host of fleet.hosts) t.is(recapOf(again, host.name), 'changed=0 failed=0 unreachable=0', explain(again));
});

test.serial('check mode with another bridge name reports the changes and changes nothing', async (t) => {
  const { fleet, ansible } = theFleet();
  await ensureShared(t);
  const shared = new Map(await Promise.all(fleet.hosts.map(async (h) => [h.name, await networkState(h.lab)] as const)));
  const check = await ansible.playbook(PLAYBOOK, ['--check', '--diff', '-e', 'uplink_bridge=br-lan']);
  t.is(check.code, 0, explain(check));
  for (const host of fleet.hosts) {
    t.is(recapOf(check, host.name), 'changed=1 failed=0 unreachable=0', explain(check));
    t.deepEqual(await networkState(host.lab), shared.get(host.name), `${host.name} changed in check mode`);
  }
  t.regex(check.stdout, /-\s+"bridge": "br-eth0",/);
  t.regex(check.stdout, /\+\s+"bridge": "br-lan",/);
});

test.serial('a host whose inventory names a NIC it does not have fails alone, with the service\'s error name; unsharing that NIC is ok', async (t) => {
  const { fleet, ansible } = theFleet();
  await ensureShared(t);
  ansible.writeInventory(uplinks({ host3: 'eth9' }));
  const missing = await ansible.playbook(PLAYBOOK);
  t.not(missing.code, 0);
  t.is(recapOf(missing, 'host1'), 'changed=0 failed=0 unreachable=0', explain(missing));
  t.is(recapOf(missing, 'host2'), 'changed=0 failed=0 unreachable=0', explain(missing));
  t.is(recapOf(missing, 'host3'), 'changed=0 failed=1 unreachable=0', explain(missing));
  const fatal = missing.stdout.split('\n').find((l) => l.startsWith('fatal: [host3]')) ?? '';
  t.true(fatal.includes(`"error_name": "${NO_SUCH_INTERFACE}"`), explain(missing));
  t.true(fatal.includes(`"msg": "${NO_SUCH_INTERFACE}: there is no network interface named eth9"`), explain(missing));
  t.false(missing.stdout.includes('fatal: [host1]') || missing.stdout.includes('fatal: [host2]'), explain(missing));
  await assertShared(t, fleet.host('host3'));
  // Asked to be unshared, the NIC host3 does not have is ok: already as unshared as it gets.
  const absent = await ansible.playbook(PLAYBOOK, ['--limit', 'host3', '-e', 'uplink_state=unshared']);
  t.is(absent.code, 0, explain(absent));
  t.is(recapOf(absent, 'host3'), 'changed=0 failed=0 unreachable=0', explain(absent));
  await assertShared(t, fleet.host('host3'));
});

test.serial('the module moves a shared NIC to another bridge with STP and the shortest forward delay; asked again, nothing changes', async (t) => {
  const { fleet, ansible } = theFleet();
  await ensureShared(t);
  // The port listens and learns for twice the delay before it forwards: 2 s is the shortest.
  const reshareArgs = ['host1', '-o', '-m', `${COLLECTION}.shared_interface`, '-a', 'name=eth0 bridge=br-lan stp=true forward_delay=2'];
  const reshare = await ansible.run(['ansible', ...reshareArgs]);
  t.true(reshare.stdout.startsWith('host1 | CHANGED => '), reshare.stdout + reshare.stderr);
  t.like(JSON.parse(reshare.stdout.slice(reshare.stdout.indexOf('=> ') + 3)), { actions: ['unshare', 'share'], bridge: 'br-lan' });
  const relinked = await links(fleet.host('host1').lab);
  t.is(relinked.get('eth0')?.master, 'br-lan');
  t.is(ipv4(relinked.get('br-lan')), fleet.host('host1').address);
  t.false(relinked.has('br-eth0'));
  // The kernel's bridge has those settings: nothing to change.
  const reshareAgain = await ansible.run(['ansible', ...reshareArgs]);
  t.true(reshareAgain.stdout.startsWith('host1 | SUCCESS => '), reshareAgain.stdout + reshareAgain.stderr);
});

test.serial('state unshared, each change confirmed through a new SSH connection, puts every host back exactly as it was', async (t) => {
  const { fleet, ansible } = theFleet();
  await ensureShared(t);
  const unshare = await ansible.playbook(PLAYBOOK, ['-v', '-e', 'uplink_state=unshared', '-e', 'uplink_confirm_timeout=120']);
  t.is(unshare.code, 0, explain(unshare));
  t.is(unshare.stdout.match(/"confirmed": true/g)?.length, 3, explain(unshare));
  for (const host of fleet.hosts) {
    t.is(recapOf(unshare, host.name), 'changed=1 failed=0 unreachable=0', explain(unshare));
    // Profiles on disk, active profile, addresses; nothing awaits confirmation.
    const expected = original.get(host.name);
    t.deepEqual(await settledTo(() => networkState(host.lab), expected), expected, `${host.name} is not as it was`);
    t.is(ipv4((await links(host.lab)).get('eth0')), host.address);
    t.is((await host.lab.sh(`busctl get-property ${SERVICE} Pending`)).trim(), 'a{s(sst)} 0');
  }
});

// Last: host1 accepts no SSH connection after it.
test.serial('a change the controller cannot confirm (the host accepts no new SSH connection after it) is rolled back by the service by itself', async (t) => {
  const { fleet, ansible } = theFleet();
  await ensureUnshared();
  const host1 = fleet.host('host1');
  const cut = await ansible.playbook(join(__dirname, '..', '..', '..', 'test', 'ansible', 'confirm-unreachable.yml'),
    ['-e', `sshd_pid_file=${ansible.sshd.get('host1')?.pidFile ?? ''}`]);
  t.is(recapOf(cut, 'host1'), 'changed=1 failed=0 unreachable=1', explain(cut));
  t.regex(cut.stdout, /eth0 was changed, but the host cannot be reached again to confirm it/, explain(cut));
  await waitFor('host1 rolled back by itself', async () => {
    return isDeepStrictEqual(await networkState(host1.lab), original.get('host1')) ? true : undefined;
  }, 120_000);
  t.is((await host1.lab.sh(`busctl get-property ${SERVICE} Pending`)).trim(), 'a{s(sst)} 0');
});

async function assertShared(t: ExecutionContext, host: FleetHost): Promise<void> {
  const now = await links(host.lab);
  t.is(now.get('eth0')?.master, 'br-eth0', `${host.name}: eth0 is not a port of br-eth0`);
  t.is(now.get('br-eth0')?.address, host.mac, `${host.name}: the bridge lost the host's MAC`);
  t.is(ipv4(now.get('br-eth0')), host.address, `${host.name}: the bridge lost the host's address`);
}
