// SPDX-License-Identifier: GPL-2.0-or-later
// The CLI against the real daemon in one lab: output that fits, JSON with a schema, and each exit
// code from the situation that causes it (the rules themselves: test/unit/cli.test.ts).
import test from 'ava';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor } from './lab';
import { addGuestNamespace } from './lab-guests';
import { asUser, NOBODY } from './lab-install';
import { nmCheckpoints } from './nm-state';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { ServiceClient } from './service-client';

const CLI = join(REPO_ROOT, 'bin', 'shared-interface');

test('the CLI against the daemon: list fits COLUMNS, --json, --fields, --terse, --version, and every exit code', async (t) => {
  const lab = await Lab.start({});
  try {
    const daemon = await lab.startDaemon();
    const cli = (args: string[], env: Record<string, string> = {}, who = 'root') => lab.exec(asUser(who, [CLI, ...args]), { env, allowFailure: true, timeoutMs: 180_000 });

    const human = await cli(['list'], { COLUMNS: '64' });
    t.is(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split('\n');
    t.regex(lines[0] ?? '', /^INTERFACE\s+TYPE\s+CARRIER\s+STATE\s+BRIDGE\s+ADDRESSES$/);
    t.regex(human.stdout, /^eth0\s+ethernet\s+yes\s+shareable\s+-\s+192\.0\.2\./m);
    t.notRegex(human.stdout, /^lo\b/m, 'the loopback only with --all');
    const everything = await cli(['list', '--all'], { COLUMNS: '64' });
    t.regex(everything.stdout, /^lo: not shareable: .*loopback/m, 'why lo is not shareable, below the table');
    for (const line of lines) t.true(line.length <= 64, `fits 64 columns: '${line}'`);

    const json = JSON.parse((await cli(['list', '--json'])).stdout) as { schema: number; interfaces: Array<{ name: string; shareable: boolean; notes: string[] }> };
    t.is(json.schema, 1);
    t.true(json.interfaces.some((i) => i.name === 'eth0' && i.shareable && Array.isArray(i.notes)));
    t.regex((await cli(['list', '-f', 'interface,mac'])).stdout, /^eth0 +52:54:00:12:34:56$/m);
    t.is((await cli(['list', '-t', '-f', 'interface,mac'])).stdout.split('\n').find((l) => l.startsWith('eth0')), 'eth0:52\\:54\\:00\\:12\\:34\\:56');
    t.is((await cli(['-g', 'interface,mac', 'list'])).stdout.split('\n').find((l) => l.startsWith('eth0')), 'eth0:52\\:54\\:00\\:12\\:34\\:56');
    t.is((await cli(['--version'])).stdout, 'shared-interface 0.1.0\nservice 0.1.0\n');

    const notFound = await cli(['share', 'nosuch0']);
    t.is(notFound.code, 10);
    t.regex(notFound.stderr, /no network interface named nosuch0/);
    t.is((await cli(['unshare', 'eth0'])).code, 10, 'not shared');

    // No one authorizes uid 65534 (no polkit agent, no rule): access denied, with a hint.
    const denied = await cli(['share', 'eth0'], {}, NOBODY);
    t.is(denied.code, 77, denied.stderr);
    t.regex(denied.stderr, /^hint: /m);

    const shared = await cli(['share', '--bridge=br0', 'eth0', '--json']);
    t.is(shared.code, 0, shared.stderr);
    t.like(JSON.parse(shared.stdout), { schema: 1, interface: 'eth0', bridge: 'br0' });
    t.regex((await cli(['list', '-f', 'interface,state,bridge'])).stdout, /^eth0\s+shared\s+br0$/m);
    t.is((await cli(['share', 'eth0'])).code, 1, 'already shared');

    // A guest on the bridge: unshare is busy (3) until --force.
    await addGuestNamespace(lab, 'guest1', 'br0', '02:00:00:00:00:01');
    const busy = await cli(['unshare', 'eth0']);
    t.is(busy.code, 3, busy.stderr);
    t.regex(busy.stderr, /vguest1/);
    const forced = await cli(['unshare', '--force', 'eth0']);
    t.is(forced.code, 0, forced.stderr);
    t.regex(forced.stdout, /eth0 is no longer shared/);
    await waitFor('eth0 to have its DHCP address again', async () => (/192\.0\.2\./.test(await lab.sh('ip -4 -o addr show dev eth0')) ? true : undefined), 30_000);

    // The LAN's DHCP server stops answering: no lease on the bridge, so the change rolls back (4).
    await lab.sh(`kill -STOP "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const rolledBack = await cli(['share', 'eth0']);
    await lab.sh(`kill -CONT "$(cat ${lab.dir}/dnsmasq.pid)"`);
    t.is(rolledBack.code, 4, rolledBack.stderr);
    t.regex(rolledBack.stderr, /everything was put back/);
    t.regex(daemon.output, /^<4>.*failed, rolling back/m, 'the rollback is logged as a warning');
    t.regex(daemon.output, /^<6>shared-interfaced .* ready on /m);

    // No service on the bus (and no activation file in this lab): unavailable (8), with a hint.
    daemon.kill();
    await waitFor('the daemon to leave the bus', async () => ((await cli(['list'])).code === 8 ? true : undefined), 30_000);
    const gone = await cli(['list']);
    t.regex(gone.stderr, /^hint: is shared-interface installed/m);
    t.regex(gone.stderr, /ServiceUnknown|NameHasNoOwner/);
  } finally {
    await lab.stop();
  }
});

test('pending, confirm and rollback: the CLI against the daemon; list shows a pending change, and the Busy hint names the commands', async (t) => {
  const lab = await Lab.start({});
  const bus = await lab.connect();
  try {
    await lab.startDaemon();
    const client = new ServiceClient(bus);
    // Wide enough that no footnote is wrapped.
    const cli = (args: string[], who = 'root') => lab.exec(asUser(who, [CLI, ...args]), { env: { COLUMNS: '400' }, allowFailure: true, timeoutMs: 180_000 });

    t.is((await cli(['pending'])).stdout, 'No change awaits confirmation.\n');
    t.is((await cli(['pending', '-t'])).stdout, '');

    // A change made with confirm-timeout by any client: the CLI shows it.
    const before = Date.now();
    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 120) });
    const table = await cli(['pending']);
    t.is(table.code, 0, table.stderr);
    const [header, row] = table.stdout.trimEnd().split('\n');
    t.regex(header ?? '', /^INTERFACE\s+OPERATION\s+BRIDGE\s+DEADLINE\s+SECONDS-LEFT$/);
    const [, deadline = '', left = ''] = /^eth0\s+share\s+br-eth0\s+(\S+)\s+(\d+)$/.exec(row ?? '') ?? [];
    const deadlineMs = Date.parse(deadline);
    t.true(deadlineMs >= Math.floor(before / 1000) * 1000 + 119_000 && deadlineMs <= Date.now() + 120_000, `deadline ${deadline}`);
    t.true(Number(left) > 100 && Number(left) <= 120, `seconds left ${left}`);
    t.is((await cli(['pending', '-g', 'interface,operation,bridge'])).stdout, 'eth0:share:br-eth0\n');
    t.is((await cli(['-t', 'pending', '-f', 'deadline'])).stdout, `${deadline.replace(/:/g, '\\:')}\n`);
    t.like(JSON.parse((await cli(['pending', '--json'])).stdout), { schema: 1, pending: { eth0: { operation: 'share', bridge: 'br-eth0', deadline } } });

    const list = await cli(['list']);
    t.regex(list.stdout, new RegExp(`^eth0: the share awaits confirmation until ${deadline} \\(\\d+ s left\\), then it is rolled back: shared-interface confirm eth0 keeps it, shared-interface rollback eth0 undoes it$`, 'm'));
    t.is((await cli(['list', '-g', 'interface,state,pending'])).stdout.split('\n').find((l) => l.startsWith('eth0:')), `eth0:shared:share until ${deadline.replace(/:/g, '\\:')}`);
    const listed = JSON.parse((await cli(['list', '--json'])).stdout) as { interfaces: Array<{ name: string; pending?: { operation: string } }> };
    t.is(listed.interfaces.find((i) => i.name === 'eth0')?.pending?.operation, 'share');
    t.is(listed.interfaces.find((i) => i.name === 'lo')?.pending, undefined);

    // Another change meanwhile is Busy (3), and the hint says what to type.
    const busy = await cli(['unshare', 'eth0']);
    t.is(busy.code, 3, busy.stderr);
    t.regex(busy.stderr, /^hint: confirm it or roll it back first: shared-interface confirm eth0, or shared-interface rollback eth0 /m);

    // Not authorized (no agent, no rule for uid 65534): 77, and the change still awaits confirmation.
    t.is((await cli(['confirm', 'eth0'], NOBODY)).code, 77);
    t.deepEqual([...(await client.pending()).keys()], ['eth0']);

    const rolledBack = await cli(['rollback', 'eth0']);
    t.is(rolledBack.code, 0, rolledBack.stderr);
    t.is(rolledBack.stdout, 'rolled back: eth0 is as it was before the change\n');
    t.deepEqual(await client.pending(), new Map());
    t.deepEqual(await client.shared(), new Map());
    const notPending = await cli(['confirm', 'eth0', '--json']);
    t.is(notPending.code, 10, notPending.stderr);
    t.like(JSON.parse(notPending.stdout), { error: 'org.fedoraproject.SharedInterface.Error.NotPending', exit: 10 });
    await waitFor('eth0 to have its DHCP address again', async () => (/192\.0\.2\./.test(await lab.sh('ip -4 -o addr show dev eth0')) ? true : undefined), 30_000);

    await client.share('eth0', { 'confirm-timeout': makeVariant('u', 120) });
    const confirmed = await cli(['confirm', 'eth0', '--json']);
    t.is(confirmed.code, 0, confirmed.stderr);
    t.deepEqual(JSON.parse(confirmed.stdout), { schema: 1, interface: 'eth0', confirmed: true });
    t.deepEqual(await client.pending(), new Map());
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
    t.is(await nmCheckpoints(lab), 'ao 0');
  } finally {
    bus.close();
    await lab.stop();
  }
});
