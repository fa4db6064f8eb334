// SPDX-License-Identifier: GPL-2.0-or-later
// The collection's modules on one lab host, run by Debian's ansible-core with the local
// connection (the fleet test covers SSH): what reaches the task from the real daemon over the real
// system bus. An error's D-Bus name comes from the bus itself (the collection's own D-Bus client);
// `state: unshared` of a NIC that does not exist is ok; persist and firewall reach the daemon; a
// playbook sharing routed on a LAN locked to the host's MAC (ansible-playbook, as a user runs it).
import test from 'ava';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, waitFor, type ExecResult } from '../lab/lab';
import { asUser, NOBODY } from '../lab/lab-install';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from '../lab/lab-guests';
import { lockedLanDrops, lockLanToMac, routedHostSnapshot } from '../lab/lab-routed';
import { keyfiles, links, networkState, settledTo } from '../lab/nm-state';
import { COLLECTION, COLLECTION_DIR, parseRecap, type Recap } from './ansible-controller';

let lab: Lab;
let dir: string;

test.before(async () => {
  lab = await Lab.start();
  await lab.startDaemon();
  dir = join(lab.dir, 'ansible');
  for (const sub of ['home', 'tmp', 'collections/ansible_collections/fedoraproject']) mkdirSync(join(dir, sub), { recursive: true });
  symlinkSync(COLLECTION_DIR, join(dir, 'collections/ansible_collections/fedoraproject/shared_interface'));
  writeFileSync(join(dir, 'ansible.cfg'), [
    '[defaults]',
    `collections_path = ${dir}/collections`,
    `local_tmp = ${dir}/tmp`,
    `remote_tmp = ${dir}/tmp`,
    'interpreter_python = /usr/bin/python3',
    'nocolor = True',
    '',
  ].join('\n'));
});

test.after.always(async () => {
  await lab?.stop();
});

interface TaskResult {
  readonly status: string;
  readonly result: Record<string, unknown>;
}

/** An Ansible command on the lab host, with the lab's configuration. */
function ansible(argv: readonly string[]): Promise<ExecResult> {
  return lab.exec(argv, {
    env: { HOME: join(dir, 'home'), ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), PYTHONDONTWRITEBYTECODE: '1' },
    allowFailure: true, timeoutMs: 300_000,
  });
}

/** One module on the lab host (`ansible localhost -c local -o`): its status and its result. */
async function task(module: string, args: string, extra: readonly string[] = []): Promise<TaskResult> {
  const run = await ansible(['ansible', 'localhost', '-i', 'localhost,', '-c', 'local', '-o', ...extra, '-m', `${COLLECTION}.${module}`, '-a', args]);
  const match = /^localhost \| (\w+)!? => (\{.*\})$/m.exec(run.stdout);
  if (!match?.[1] || !match[2]) throw new Error(`no result from ansible (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  return { status: match[1], result: JSON.parse(match[2]) as Record<string, unknown> };
}

/** The lab's firewall, both iptables backends and nftables. */
async function rules(): Promise<string> {
  return lab.sh('iptables-nft-save -t filter; ip6tables-nft-save -t filter; iptables-legacy-save -t filter 2>/dev/null || true; nft list ruleset');
}

test.serial('an error of the service reaches the task with its D-Bus name, read from the error reply itself', async (t) => {
  const missing = await task('shared_interface', 'name=eth9');
  t.is(missing.status, 'FAILED');
  t.like(missing.result, {
    error_name: 'org.fedoraproject.SharedInterface.Error.NoSuchInterface',
    error_message: 'there is no network interface named eth9',
    msg: 'org.fedoraproject.SharedInterface.Error.NoSuchInterface: there is no network interface named eth9',
  });
  // The service's own check of a value the module passes through unchecked, with the service's hint apart.
  const taken = await task('shared_interface', 'name=eth0 bridge=lo');
  t.is(taken.status, 'FAILED');
  t.like(taken.result, {
    error_name: 'org.freedesktop.DBus.Error.InvalidArgs',
    error_message: 'an interface or profile named lo already exists',
    hint: 'choose another bridge name',
  });

  // Neither root nor allowed by polkit (the lab's nobody), with no one to answer a prompt: polkit's
  // answer, by name, with the hint for Ansible users, and no change.
  const script = [
    'import json',
    'from ansible_collections.fedoraproject.shared_interface.plugins.module_utils.shared_interface_bus import SharedInterfaceClient, SharedInterfaceError',
    'client = SharedInterfaceClient(None)',
    'try:',
    '    client.share("eth0")',
    '    print(json.dumps({}))',
    'except SharedInterfaceError as err:',
    '    print(json.dumps(err.failure()))',
  ].join('\n');
  // The lab's directory is root's alone; the lab's own /tmp is not the host's.
  await lab.sh(`mkdir -p /tmp/nobody/ansible_collections/fedoraproject && ln -sfn ${COLLECTION_DIR} /tmp/nobody/ansible_collections/fedoraproject/shared_interface`);
  const denied = JSON.parse((await lab.exec(asUser(NOBODY, ['python3', '-c', script]),
    { env: { PYTHONPATH: '/tmp/nobody', PYTHONDONTWRITEBYTECODE: '1' } })).stdout) as Record<string, string>;
  t.regex(denied['error_name'] ?? '', /^org\.freedesktop\.DBus\.Error\.(InteractiveAuthorizationRequired|AccessDenied)$/, JSON.stringify(denied));
  t.regex(denied['hint'] ?? '', /^run the task as root \(become: true\)/);
  t.is((await lab.ipJson('link show eth0') as Array<{ master?: string }>)[0]?.master, undefined);
});

test.serial('state: unshared of a NIC that does not exist is ok, in check mode too, and changes nothing', async (t) => {
  const before = await networkState(lab);
  for (const extra of [[], ['--check']]) {
    const absent = await task('shared_interface', 'name=eth9 state=unshared', extra);
    t.is(absent.status, 'SUCCESS', JSON.stringify(absent.result));
    t.like(absent.result, { changed: false, actions: [], bridge: '' });
  }
  t.deepEqual(await networkState(lab), before);
});

test.serial('persist and firewall reach the daemon: profiles in memory only and the firewall left alone, then both by default', async (t) => {
  // A FORWARD chain that drops: the service's default adds a rule for the bridge; firewall=false must not.
  await lab.sh('iptables -P FORWARD DROP; ip6tables -P FORWARD DROP');
  try {
    const bare = await task('shared_interface', 'name=eth0 persist=false firewall=false');
    t.is(bare.status, 'CHANGED', JSON.stringify(bare.result));
    t.false([...keyfiles(lab).keys()].some((name) => name.includes('br-eth0')), 'a bridge profile on disk');
    t.true([...keyfiles(lab, '/run/NetworkManager/system-connections').keys()].some((name) => name.includes('br-eth0')));
    t.notRegex(await rules(), /shared-interface/);
    t.is((await task('shared_interface', 'name=eth0 state=unshared force=true')).status, 'CHANGED');

    const usual = await task('shared_interface', 'name=eth0 persist=true firewall=true');
    t.is(usual.status, 'CHANGED', JSON.stringify(usual.result));
    t.true([...keyfiles(lab).keys()].some((name) => name.includes('br-eth0')), 'no bridge profile on disk');
    t.regex(await rules(), /--comment "shared-interface bridge br-eth0"/);
    t.is((await task('shared_interface', 'name=eth0 state=unshared force=true')).status, 'CHANGED');
    t.notRegex(await rules(), /shared-interface/);
  } finally {
    await lab.sh('iptables -P FORWARD ACCEPT; ip6tables -P FORWARD ACCEPT');
  }
});

test.serial('the info module reads the listing and the properties through the same client', async (t) => {
  const info = await task('shared_interface_info', '');
  t.is(info.status, 'SUCCESS', JSON.stringify(info.result));
  t.like(info.result, { shared: {}, backend: 'NetworkManager' });
  const eth0 = (info.result['interfaces'] as Array<Record<string, unknown>>).find((i) => i['name'] === 'eth0');
  t.like(eth0, { bridge: '', type: 'ethernet', mac: '52:54:00:12:34:56', carrier: true, shareable: true });
  t.true(Array.isArray(eth0?.['addresses']) && (eth0['addresses'] as unknown[]).length > 0);
});

test.serial('a playbook shares eth0 routed on a LAN locked to the host\'s MAC: check mode changes nothing, a guest leases from the LAN, a second run is ok, state: unshared puts the host back', async (t) => {
  const playbook = join(dir, 'share-routed.yml');
  writeFileSync(playbook, [
    '- hosts: localhost',
    '  gather_facts: false',
    '  tasks:',
    `    - ${COLLECTION}.shared_interface:`,
    '        name: eth0',
    '        mode: routed',
    "        state: \"{{ wanted | default('shared') }}\"",
    '',
  ].join('\n'));
  const play = async (extra: readonly string[] = []): Promise<Recap & { output: string }> => {
    const run = await ansible(['ansible-playbook', '-i', 'localhost,', '-c', 'local', playbook, ...extra]);
    const recap = parseRecap(run.stdout).get('localhost');
    if (recap === undefined) throw new Error(`ansible-playbook exited ${run.code} without a recap:\n${run.stdout}\n${run.stderr}`);
    return { ...recap, output: `${run.stdout}\n${run.stderr}` };
  };
  const hostMac = (await links(lab)).get('eth0')?.address ?? '';
  await lockLanToMac(lab, hostMac);
  const routedLinks = { uplink: 'eth0', bridge: 'br-eth0' };
  // After an earlier test's Unshare, eth0's IPv6 address comes back with the LAN's next router advertisement.
  const before = await waitFor('eth0 with its IPv6 address', async () => {
    const state = await networkState(lab);
    return state.eth0.some((address) => address.includes(':')) ? state : undefined;
  }, 60_000);
  const host = await routedHostSnapshot(lab, routedLinks);

  const checked = await play(['--check']);
  t.like(checked, { changed: 1, failed: 0 }, checked.output);
  t.deepEqual(await networkState(lab), before, 'check mode changed nothing');

  const shared = await play();
  t.like(shared, { changed: 1, failed: 0 }, shared.output);
  t.is((await links(lab)).get('eth0')?.master, undefined, 'eth0 is no port');
  t.deepEqual((await networkState(lab)).eth0, before.eth0, 'eth0 keeps its addresses');
  t.like((await task('shared_interface_info', '')).result, { shared: { eth0: 'br-eth0' } });

  // A guest on the bridge: the LAN's dnsmasq leases it an address on the LAN, and the LAN reaches it
  // through the host, whose MAC is the only one the LAN let through.
  const drops = await lockedLanDrops(lab);
  const guest = await addGuestNamespace(lab, 'guest1', 'br-eth0', '52:54:00:aa:00:31');
  const leased = await guestDhcp(lab, guest);
  t.regex(leased, /^192\.0\.2\.\d+$/);
  await waitFor(`the LAN to reach the guest at ${leased}`, async () => ((await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-c', '1', '-W', '2', leased], { allowFailure: true })).code === 0 ? true : undefined), 30_000);
  t.is(await lockedLanDrops(lab), drops, 'no frame with the guest\'s MAC reached the LAN');
  await removeGuestNamespace(lab, guest);

  const again = await play();
  t.like(again, { changed: 0, failed: 0 }, again.output);

  const checkedUnshare = await play(['--check', '-e', 'wanted=unshared']);
  t.like(checkedUnshare, { changed: 1, failed: 0 }, checkedUnshare.output);
  t.true((await links(lab)).has('br-eth0'), 'check mode changed nothing');

  const unshared = await play(['-e', 'wanted=unshared']);
  t.like(unshared, { changed: 1, failed: 0 }, unshared.output);
  t.deepEqual(await settledTo(() => networkState(lab), before), before, 'profiles, active profiles, eth0\'s addresses and the links as before');
  t.deepEqual(await settledTo(() => routedHostSnapshot(lab, routedLinks), host), host, 'sysctls, addresses, routes, proxy entries and processes as before');
  t.like(await play(['-e', 'wanted=unshared']), { changed: 0, failed: 0 });
});
