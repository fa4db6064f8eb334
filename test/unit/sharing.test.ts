// SPDX-License-Identifier: GPL-2.0-or-later
// The domain's order of work, with a fake backend, a fake kernel and a fake clock: what runs
// before authorization (the prepare step), the locks, the deadlines and the honest rollback.
// The real thing is proven in the lab (test/lab/nm-share.test.ts, nm-hostile.test.ts, confirm.test.ts).
import test from 'ava';
import { ShareError } from '../../src/bridge/share-error';
import { callSeconds, minRollbackTimeout, type ShareOptions } from '../../src/bridge/share-request';
import { DEFAULT_SHARE_OPTIONS, DEFAULT_UNSHARE_OPTIONS } from '../../src/bridge/request-options';
import { Sharing, type ChangeStep } from '../../src/bridge/sharing';
import { servedBy } from '../../src/bridge/settings-backend';
import { ruleComment, type FirewallHost } from '../../src/bridge/firewall';
import { FirewallKeeper } from '../../src/bridge/firewall-keeper';
import { FakeClock } from './fake-clock';
import { parseIptablesSave } from '../../src/settings/firewall/iptables-save';
import { FakeHost, lease, link, nic, RecordingLog } from './fake-host';

function setup(firewall?: FirewallHost) {
  const host = new FakeHost();
  const clock = new FakeClock();
  const log = new RecordingLog();
  /** The Progress steps and pendingChanged events, in order. */
  const events: string[] = [];
  const keeper = firewall === undefined ? undefined : new FirewallKeeper(firewall, log);
  const sharing = new Sharing(servedBy(host), host, log, keeper, clock, {
    progress: (nic, step) => events.push(`${nic} ${step}`),
    pendingChanged: () => events.push('pending changed'),
  });
  return { host, clock, log, sharing, events };
}

/** eth0 shared through br-eth0 already, as the host and the kernel both say. */
function sharedSetup() {
  const s = setup();
  s.host.shared.set('eth0', 'br-eth0');
  s.host.interfaces = [...s.host.interfaces, nic('br-eth0', '52:54:00:00:00:01', { type: 'bridge' })];
  s.host.kernelPorts.set('br-eth0', ['eth0']);
  const links = new Map(s.host.live.links);
  links.set('eth0', link('eth0', '52:54:00:00:00:01', { controller: 'br-eth0' }));
  links.set('br-eth0', link('br-eth0', '52:54:00:00:00:01', { kind: 'bridge', stp: false, addresses: [lease('192.0.2.10/24')] }));
  s.host.live = { ...s.host.live, links };
  return s;
}

const share = (options: Partial<ShareOptions> = {}): ShareOptions => ({ ...DEFAULT_SHARE_OPTIONS, ...options });

async function apply<T>(step: Promise<ChangeStep<T>>): Promise<T> {
  const s = await step;
  if ('noOp' in s) throw new Error('expected a change, got a no-op');
  return s.apply();
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ShareError) return err.code;
    throw err;
  }
  return 'succeeded';
}

test('with default options a Share or Unshare replies within 20 s; a NIC without a lease on the bridge is RolledBack in time', async (t) => {
  t.true(callSeconds(DEFAULT_SHARE_OPTIONS) <= 20, `Share may take ${callSeconds(DEFAULT_SHARE_OPTIONS)} s`);
  t.true(callSeconds() <= 20, `Unshare may take ${callSeconds()} s`);
  t.true(DEFAULT_SHARE_OPTIONS.rollbackTimeout >= minRollbackTimeout(DEFAULT_SHARE_OPTIONS));
  // STP needs its forward delay twice (listening, learning): clients are told how long to wait.
  t.is(callSeconds({ stp: true, forwardDelay: 0 }), callSeconds() + 30);
  t.is(callSeconds({ stp: true, forwardDelay: 4 }), callSeconds() + 8);

  const { host, clock, sharing } = setup();
  host.noLease = true;
  const err = await t.throwsAsync(apply(sharing.prepareShare('eth0', share())), { instanceOf: ShareError });
  t.is(err?.code, 'RolledBack');
  t.regex(err?.message ?? '', /br-eth0 lacks the address 192\.0\.2\.10\/24/);
  t.is(host.rolledBack, 1);
  t.true(clock.ms <= 20_000, `gave up after ${clock.ms} ms`);
});

test('the gateway is pinged through the NIC before and through the bridge after, from the device\'s own IPv4 address', async (t) => {
  const { host, sharing } = setup();
  host.live = { ...host.live, routes: [{ family: 4, dst: 'default', dev: 'eth0', gateway: '192.0.2.1', kernel: false }] };
  await apply(sharing.prepareShare('eth0', share()));
  t.deepEqual(host.pings, ['192.0.2.1 eth0 false 192.0.2.10', '192.0.2.1 br-eth0 true 192.0.2.10']);
});

test('a rollback-timeout shorter than verification needs is InvalidArgs, before anything changes', async (t) => {
  const { host, sharing } = setup();
  t.is(await codeOf(sharing.prepareShare('eth0', share({ rollbackTimeout: minRollbackTimeout() - 1 }))), 'InvalidArgs');
  t.is(await codeOf(sharing.prepareShare('eth0', share({ stp: true, forwardDelay: 30, rollbackTimeout: 60 }))), 'InvalidArgs');
  t.is(await codeOf(sharing.prepareShare('eth0', share({ rollbackTimeout: minRollbackTimeout() }))), 'succeeded');
  host.shared.set('eth0', 'br-eth0');
  t.is(await codeOf(sharing.prepareUnshare('eth0', { ...DEFAULT_UNSHARE_OPTIONS, rollbackTimeout: 5 })), 'InvalidArgs');
  t.deepEqual(host.applied, []);
});

test('a rollback that could not restore a device says so (Failed, not RolledBack), at error level', async (t) => {
  const { host, log, sharing } = setup();
  host.noLease = true;
  host.unrestored = ['NetworkManager could not restore eth0 (restoring it failed)'];
  const err = await t.throwsAsync(apply(sharing.prepareShare('eth0', share())), { instanceOf: ShareError });
  t.is(err?.code, 'Failed');
  t.notRegex(err?.message ?? '', /everything was put back/);
  t.regex(err?.message ?? '', /could not restore everything: NetworkManager could not restore eth0/);
  t.true(log.lines.some((l) => /^error .*could not restore eth0/.test(l)), log.lines.join('\n'));

  // Everything restored: the reassuring message, and a warning, not an error.
  const second = setup();
  second.host.noLease = true;
  const ok = await t.throwsAsync(apply(second.sharing.prepareShare('eth0', share())), { instanceOf: ShareError });
  t.regex(ok?.message ?? '', /everything was put back as it was/);
  t.false(second.log.lines.some((l) => l.startsWith('error ')));
});

test('two authorized Shares asking for one bridge name: one wins, the other is refused and changes nothing', async (t) => {
  const { host, sharing } = setup();
  // Both pass validation (as both would be asked about by polkit) before either applies.
  const first = await sharing.prepareShare('eth0', share({ bridge: 'br0' }));
  const second = await sharing.prepareShare('eth1', share({ bridge: 'br0' }));
  if ('noOp' in first || 'noOp' in second) throw new Error('no-op');
  let open = (): void => undefined;
  host.gate = new Promise((r) => { open = r; });
  const winning = first.apply();
  t.is(await codeOf(second.apply()), 'Busy', 'while the first holds br0');
  open();
  t.is(await winning, 'br0');
  // After it, the name is taken.
  t.is(await codeOf(second.apply()), 'InvalidArgs', 'once br0 exists');
  t.deepEqual(host.applied, ['share eth0 br0']);
});

test('the NIC of a kernel bridge, bond or team the backend does not know is NotShareable, naming it', async (t) => {
  const { host, sharing } = setup();
  host.kernelControllers.set('eth1', 'brx');
  t.is(sharing.list().find((l) => l.iface.name === 'eth1'), undefined, 'a port is left out of a person\'s listing');
  const listed = sharing.list(true).find((l) => l.iface.name === 'eth1');
  t.false(listed?.shareability.shareable);
  t.regex(listed?.shareability.reason ?? '', /already a port of brx/);
  t.true(sharing.list().find((l) => l.iface.name === 'eth0')?.shareability.shareable);
  t.is(await codeOf(sharing.prepareShare('eth1', share())), 'NotShareable');
  t.deepEqual(host.applied, []);
});

test('Share of a NIC shared already through that bridge is a no-op; Unshare of one not shared is NotShared', async (t) => {
  const { host, sharing } = setup();
  host.shared.set('eth0', 'br-eth0');
  host.interfaces = [...host.interfaces, nic('br-eth0', '52:54:00:00:00:01', { type: 'bridge' })];
  t.deepEqual(await sharing.prepareShare('eth0', share()), { noOp: 'br-eth0' });
  t.deepEqual(await sharing.prepareShare('eth0', share({ bridge: 'br-eth0' })), { noOp: 'br-eth0' });
  t.is(await codeOf(sharing.prepareShare('eth0', share({ bridge: 'br9' }))), 'AlreadyShared');
  t.is(await codeOf(sharing.prepareUnshare('eth1', DEFAULT_UNSHARE_OPTIONS)), 'NotShared');
  t.is(host.observed, 0);
});

test('nothing before authorization reads the kernel with a process; the guests are checked again after it', async (t) => {
  const { host, sharing } = setup();
  host.shared.set('eth0', 'br-eth0');
  host.kernelPorts.set('br-eth0', ['eth0']);
  const step = await sharing.prepareUnshare('eth0', DEFAULT_UNSHARE_OPTIONS);
  t.is(host.observed, 0, 'no ip -j before polkit');
  if ('noOp' in step) throw new Error('no-op');
  // A guest joins while polkit asks: the apply refuses, having changed nothing.
  host.kernelPorts.set('br-eth0', ['eth0', 'vnet0']);
  t.is(await codeOf(step.apply()), 'Busy');
  t.deepEqual(host.applied, []);
  // Guests are found before authorization as well, from sysfs.
  t.is(await codeOf(sharing.prepareUnshare('eth0', DEFAULT_UNSHARE_OPTIONS)), 'Busy');
  t.is(host.observed, 0);
});

test('confirm-timeout: verified, the change stays open (the backend\'s own timer 5 s past ours); Confirm commits, Rollback undoes, each once', async (t) => {
  const { host } = setup();
  const steps: string[] = [];
  let pendingChanges = 0;
  const events = { progress: (_nic: string, step: string) => steps.push(step), pendingChanged: () => { pendingChanges++; } };
  const watched = new Sharing(servedBy(host), host, new RecordingLog(), undefined, new FakeClock(), events);
  const before = Date.now();
  t.is(await apply(watched.prepareShare('eth0', share({ confirmTimeout: 30 }))), 'br-eth0');
  t.deepEqual(host.kept, [35]);
  t.is(host.committed, 0);
  const pending = watched.pending().get('eth0');
  t.like(pending, { operation: 'share', bridge: 'br-eth0' });
  t.true((pending?.deadline ?? 0) >= before + 30_000 && (pending?.deadline ?? 0) <= Date.now() + 30_000);
  t.deepEqual(steps, ['checkpoint', 'bridge-up', 'awaiting-confirmation']);
  t.is(pendingChanges, 1);
  // Every other change waits for the answer (transactions take turns): Busy at once, not late.
  t.is(await codeOf(watched.prepareUnshare('eth0', DEFAULT_UNSHARE_OPTIONS)), 'Busy');
  t.is(await codeOf(watched.prepareShare('eth1', share({ bridge: 'br-eth0' }))), 'Busy');
  t.is(await codeOf(watched.prepareShare('eth1', share())), 'Busy');
  t.is(await codeOf(Promise.resolve().then(() => watched.prepareConfirm('eth1'))), 'NotPending');

  await apply(Promise.resolve(watched.prepareConfirm('eth0')));
  t.is(host.committed, 1);
  t.is(host.rolledBack, 0);
  t.deepEqual(watched.pending(), new Map());
  t.is(steps.at(-1), 'committed');
  t.is(await codeOf(Promise.resolve().then(() => watched.prepareConfirm('eth0'))), 'NotPending');
  t.is(await codeOf(Promise.resolve().then(() => watched.prepareRollback('eth0'))), 'NotPending');

  // Rollback undoes it; so does the daemon stopping (rollbackPending).
  await apply(watched.prepareShare('eth1', share({ confirmTimeout: 30 })));
  await apply(Promise.resolve(watched.prepareRollback('eth1')));
  t.is(host.rolledBack, 1);
  t.is(steps.at(-1), 'rolled-back');
  const fresh = setup();
  await apply(fresh.sharing.prepareShare('eth0', share({ confirmTimeout: 30 })));
  await fresh.sharing.rollbackPending('stopping');
  t.is(fresh.host.rolledBack, 1);
  t.is(fresh.sharing.pending().size, 0);
});

test('confirm-timeout on the fake clock: a change not confirmed in time is rolled back at its deadline, and not a moment before', async (t) => {
  const { host, clock, log, sharing, events } = setup();
  t.is(await apply(sharing.prepareShare('eth0', share({ confirmTimeout: 30 }))), 'br-eth0');
  t.is(clock.scheduled, 1, 'the deadline runs on the injected clock');
  clock.advance(29_999);
  await until(() => true);
  t.is(host.rolledBack, 0);
  t.is(sharing.pending().size, 1);
  clock.advance(1);
  await until(() => events.slice(-2).join() === 'eth0 rolled-back,pending changed');
  t.is(host.committed, 0);
  t.deepEqual(host.steps, ['begin', 'apply', 'keep 35', 'rollback']);
  t.is(sharing.pending().size, 0);
  t.true(log.lines.some((l) => /^warn share eth0: not confirmed within 30 s; rolling back/.test(l)), log.lines.join('\n'));
  // Confirm after the deadline finds nothing to confirm.
  t.is(await codeOf(Promise.resolve().then(() => sharing.prepareConfirm('eth0'))), 'NotPending');
});

test('confirm-timeout on the fake clock: a change confirmed in time stays, and its deadline passes without a rollback', async (t) => {
  const { host, clock, sharing } = setup();
  await apply(sharing.prepareShare('eth0', share({ confirmTimeout: 30 })));
  clock.advance(29_000);
  await apply(Promise.resolve(sharing.prepareConfirm('eth0')));
  t.is(clock.scheduled, 0, 'Confirm cancels the deadline');
  clock.advance(60_000);
  await until(() => true);
  t.is(host.committed, 1);
  t.is(host.rolledBack, 0);
  t.deepEqual(host.steps, ['begin', 'apply', 'keep 35', 'commit']);

  // So does an Unshare confirmed in time; a Rollback cancels the deadline as well.
  const shared = sharedSetup();
  await apply(shared.sharing.prepareUnshare('eth0', { ...DEFAULT_UNSHARE_OPTIONS, confirmTimeout: 10 }));
  await apply(Promise.resolve(shared.sharing.prepareRollback('eth0')));
  t.is(shared.clock.scheduled, 0);
  shared.clock.advance(20_000);
  await until(() => true);
  t.is(shared.host.rolledBack, 1, 'rolled back once, on request');
});

test('a Share runs validate, then (after authorization) begin, apply, verify, commit, and reports each step', async (t) => {
  const { host, sharing, events } = setup();
  const step = await sharing.prepareShare('eth0', share());
  t.deepEqual(host.steps, [], 'validation opens nothing');
  if ('noOp' in step) throw new Error('no-op');
  const toCaller: string[] = [];
  step.authorizing?.((nic, s) => toCaller.push(`${nic} ${s}`));
  t.deepEqual(toCaller, ['eth0 authorizing'], 'told to the caller alone');
  t.deepEqual(events, [], 'nothing told to everyone before authorization');
  t.is(await step.apply(), 'br-eth0');
  t.deepEqual(host.steps, ['begin', 'apply', 'commit']);
  t.deepEqual(events, ['eth0 checkpoint', 'eth0 bridge-up', 'eth0 committed']);
  t.is(host.rolledBack, 0);
});

test('verification reads again until the bridge has the lease, then commits', async (t) => {
  const { host, clock, sharing, events } = setup();
  host.leaseAfter = 4;
  t.is(await apply(sharing.prepareShare('eth0', share())), 'br-eth0');
  t.deepEqual(host.steps, ['begin', 'apply', 'commit']);
  t.true(host.observed > 4);
  t.true(clock.ms > 0 && clock.ms < 20_000, `verified after ${clock.ms} ms`);
  t.deepEqual(events, ['eth0 checkpoint', 'eth0 bridge-up', 'eth0 waiting-for-lease', 'eth0 committed']);
});

/** Resolves once `condition` holds, checking between turns of the event loop (at most 10 000 turns). */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn === 10_000) throw new Error(`never came to pass: ${condition.toString()}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** A firewall whose FORWARD chain drops, so Share adds a rule; `insert` is the test's. */
function droppingFirewall(insert: FirewallHost['insert']): FirewallHost & { removed: number } {
  const filter = parseIptablesSave('*filter\n:FORWARD DROP [0:0]\nCOMMIT\n', 'iptables-nft', 4);
  if (filter === undefined) throw new Error('no filter table');
  const host = {
    removed: 0,
    read: async () => ({ bridgeNfCall: { 4: true, 6: true }, tables: [filter] }),
    insert,
    remove: async () => { host.removed++; },
  };
  return host;
}

test('the firewall\'s rules go in while the transaction opens; when they cannot, the NIC is not touched, the transaction is rolled back and the caller gets Failed', async (t) => {
  // The rule goes in only once the transaction has begun: done one after the other, this never ends.
  let s = setup(droppingFirewall(async () => until(() => s.host.steps.includes('begin'))));
  t.is(await apply(s.sharing.prepareShare('eth0', share())), 'br-eth0');
  t.deepEqual(s.host.steps, ['begin', 'apply', 'commit']);

  const refusing = droppingFirewall(async () => { throw new Error('iptables: Permission denied'); });
  s = setup(refusing);
  const err = await t.throwsAsync(apply(s.sharing.prepareShare('eth0', share())), { instanceOf: ShareError });
  t.is(err?.code, 'Failed');
  t.regex(err?.message ?? '', /could not add firewall rules for br-eth0: iptables: Permission denied/);
  t.deepEqual(s.host.steps, ['begin', 'rollback'], 'the NIC untouched; whatever the backend did before is undone');
  t.deepEqual(s.host.applied, []);
  t.is(refusing.removed, 0, 'no rule of ours went in, none to take out');
});

/** An iptables FORWARD chain of policy DROP that keeps the rules inserted into it, as the host's would. */
function keepingFirewall(): FirewallHost & { readonly bridges: Set<string> } {
  const bridges = new Set<string>();
  return {
    bridges,
    read: async () => {
      const rules = [...bridges].map((b) => `-A FORWARD -i ${b} -o ${b} -m comment --comment "${ruleComment(b)}" -j ACCEPT\n`).join('');
      const filter = parseIptablesSave(`*filter\n:FORWARD DROP [0:0]\n${rules}COMMIT\n`, 'iptables-nft', 4);
      if (filter === undefined) throw new Error('no filter table');
      return { bridgeNfCall: { 4: true, 6: true }, tables: [filter] };
    },
    insert: async (rule) => { bridges.add(rule.bridge); },
    remove: async (rule) => { bridges.delete(rule.bridge); },
  };
}

test('our firewall rules live as long as their bridge, however the change ends', async (t) => {
  // A share committed keeps them; its unshare, committed, takes them out.
  let firewall = keepingFirewall();
  let s = setup(firewall);
  await apply(s.sharing.prepareShare('eth0', share()));
  t.deepEqual([...firewall.bridges], ['br-eth0']);
  await apply(s.sharing.prepareUnshare('eth0', DEFAULT_UNSHARE_OPTIONS));
  t.deepEqual([...firewall.bridges], []);

  // A share that fails, one rolled back on request and one left to its confirm deadline take them out.
  firewall = keepingFirewall();
  s = setup(firewall);
  s.host.noLease = true;
  t.is(await codeOf(apply(s.sharing.prepareShare('eth0', share()))), 'RolledBack');
  t.deepEqual([...firewall.bridges], []);
  firewall = keepingFirewall();
  s = setup(firewall);
  await apply(s.sharing.prepareShare('eth0', share({ confirmTimeout: 30 })));
  t.deepEqual([...firewall.bridges], ['br-eth0'], 'in while the share awaits confirmation');
  await apply(Promise.resolve(s.sharing.prepareRollback('eth0')));
  t.deepEqual([...firewall.bridges], []);
  await apply(s.sharing.prepareShare('eth1', share({ confirmTimeout: 30 })));
  t.deepEqual([...firewall.bridges], ['br-eth1']);
  s.clock.advance(30_000);
  await until(() => firewall.bridges.size === 0 && s.sharing.pending().size === 0);

  // An unshare rolled back leaves the bridge, so its rules too.
  firewall = keepingFirewall();
  s = setup(firewall);
  await apply(s.sharing.prepareShare('eth0', share()));
  await apply(s.sharing.prepareUnshare('eth0', { ...DEFAULT_UNSHARE_OPTIONS, confirmTimeout: 30 }));
  await apply(Promise.resolve(s.sharing.prepareRollback('eth0')));
  t.deepEqual([...firewall.bridges], ['br-eth0']);
});

test('IPv6 not required: the call does not wait for autoconfigured IPv6 addresses; the log follows them after it', async (t) => {
  const eui64 = { cidr: '2001:db8::5054:ff:fe00:1/64', family: 6 as const, global: true, dynamic: true };
  const withIpv6 = (s: ReturnType<typeof setup>) => {
    const links = new Map(s.host.live.links);
    links.set('eth0', link('eth0', '52:54:00:00:00:01', { addresses: [lease('192.0.2.10/24'), eui64] }));
    s.host.live = { ...s.host.live, links };
    return s;
  };
  // The router advertises after a while: the call has returned, the log says when they came.
  let s = withIpv6(setup());
  s.host.slaacAfter = 5;
  t.is(await apply(s.sharing.prepareShare('eth0', share())), 'br-eth0');
  t.true(s.host.observed <= 5, 'the call returned before the address came');
  await until(() => s.log.lines.some((l) => /autoconfigured IPv6 address/.test(l)));
  t.true(s.log.lines.some((l) => /^info br-eth0 has its autoconfigured IPv6 address 2001:db8::5054:ff:fe00:1\/64 again/.test(l)));

  // No router advertisement at all: a warning, and the change stays (it was verified over IPv4).
  s = withIpv6(setup());
  s.host.slaacAfter = Number.MAX_SAFE_INTEGER;
  t.is(await apply(s.sharing.prepareShare('eth0', share())), 'br-eth0');
  await until(() => s.log.lines.some((l) => l.startsWith('warn ')));
  t.true(s.log.lines.some((l) => /^warn br-eth0 has not got back 2001:db8::5054:ff:fe00:1\/64 within 30 s/.test(l)));
  t.is(s.host.rolledBack, 0);

  // The NIC's next change ends the following, without a word: that change is verified on its own.
  s = withIpv6(setup());
  s.host.slaacAfter = Number.MAX_SAFE_INTEGER;
  t.is(await apply(s.sharing.prepareShare('eth0', share())), 'br-eth0');
  s.clock.frozen = true;
  await until(() => s.host.watching === 1);
  await apply(s.sharing.prepareUnshare('eth0', DEFAULT_UNSHARE_OPTIONS));
  await until(() => s.host.watching === 0);
  t.false(s.log.lines.some((l) => l.startsWith('warn ')));

  // Required by the profile (ipv6.may-fail=no): the call waits for it, and without it rolls back.
  s = withIpv6(setup());
  s.host.ip = { ipv4Dhcp: true, ipv6Required: true };
  s.host.slaacAfter = Number.MAX_SAFE_INTEGER;
  t.is(await codeOf(apply(s.sharing.prepareShare('eth0', share()))), 'RolledBack');
  t.is(s.host.rolledBack, 1);
});

test('each failure after the transaction opened is rolled back and reported as RolledBack with its reason', async (t) => {
  for (const verb of ['apply', 'commit', 'observe'] as const) {
    const { host, sharing, events } = setup();
    host.failing = new Set([verb]);
    const err = await t.throwsAsync(apply(sharing.prepareShare('eth0', share())), { instanceOf: ShareError });
    t.is(err?.code, 'RolledBack', verb);
    t.regex(err?.message ?? '', new RegExp(`everything was put back as it was\\. Reason: ${verb} failed`), verb);
    t.is(host.rolledBack, 1, verb);
    t.is(host.steps.at(-1), 'rollback', verb);
    t.is(events.at(-1), 'eth0 rolled-back', verb);
  }
});

test('a transaction that cannot be opened fails as it is: nothing applied, nothing to roll back', async (t) => {
  const { host, sharing } = setup();
  host.failing = new Set(['begin']);
  await t.throwsAsync(apply(sharing.prepareShare('eth0', share())), { message: 'begin failed' });
  t.deepEqual(host.applied, []);
  t.is(host.rolledBack, 0);
});

test('a rollback that throws is reported as not restored, at error level', async (t) => {
  const { host, log, sharing } = setup();
  host.failing = new Set(['apply', 'rollback']);
  const err = await t.throwsAsync(apply(sharing.prepareShare('eth0', share())), { instanceOf: ShareError });
  t.is(err?.code, 'Failed');
  t.regex(err?.message ?? '', /the rollback could not restore everything: rollback failed\. Reason: apply failed/);
  t.is(err?.hint, 'check eth0 by hand');
  t.true(log.lines.some((l) => l.startsWith('error ') && l.includes('rollback failed')));
});

test('an Unshare that fails is rolled back; one that verifies commits', async (t) => {
  const failing = sharedSetup();
  failing.host.failing = new Set(['apply']);
  t.is(await codeOf(apply(failing.sharing.prepareUnshare('eth0', DEFAULT_UNSHARE_OPTIONS))), 'RolledBack');
  t.deepEqual(failing.host.steps, ['begin', 'apply', 'rollback']);

  const { host, sharing } = sharedSetup();
  await apply(sharing.prepareUnshare('eth0', DEFAULT_UNSHARE_OPTIONS));
  t.deepEqual(host.steps, ['begin', 'apply', 'commit']);
  t.false(host.shared.has('eth0'));
});

test('a change of a NIC in progress makes a second one Busy until it is done', async (t) => {
  const { host, sharing } = setup();
  let open = (): void => undefined;
  host.gate = new Promise((r) => { open = r; });
  const first = apply(sharing.prepareShare('eth0', share()));
  // Wait for the event, not a time: the first change has reached the backend.
  while (host.applied.length === 0) await new Promise((r) => setImmediate(r));
  t.is(await codeOf(sharing.prepareShare('eth0', share({ bridge: 'br9' }))), 'Busy');
  t.is(await codeOf(sharing.prepareShare('eth1', share({ bridge: 'br-eth0' }))), 'Busy');
  open();
  await first;
  t.deepEqual(await sharing.prepareShare('eth0', share()), { noOp: 'br-eth0' });
});

test('list() gives the same listing while the snapshot, the kernel\'s controllers and the firewall\'s reading stay the same', async (t) => {
  const { host, sharing } = setup(droppingFirewall(async () => undefined));
  const snapshot = host.snapshot();
  host.snapshot = () => snapshot;
  const first = sharing.list();
  t.false(first.some((l) => (l.iface.shareNotes ?? []).length > 0), 'the firewall is being read');
  // The firewall's first reading came in: its note is in a new listing.
  await until(() => sharing.list() !== first);
  const noted = sharing.list();
  t.regex(noted.find((l) => l.iface.name === 'eth0')?.iface.shareNotes?.[0] ?? '', /policy DROP of FORWARD/);
  t.is(sharing.list(), noted);
  // eth1 made a port of a kernel bridge (brctl, ip link): a new listing that says so, with all
  // of them; a person's listing leaves the port out.
  const whole = sharing.list(true);
  host.kernelControllers.set('eth1', 'br9');
  const ported = sharing.list();
  t.not(ported, noted);
  t.is(ported.find((l) => l.iface.name === 'eth1'), undefined);
  t.is(sharing.list(), ported);
  const wholePorted = sharing.list(true);
  t.not(wholePorted, whole);
  t.is(wholePorted.find((l) => l.iface.name === 'eth1')?.shareability.shareable, false);
  t.is(sharing.list(true), wholePorted);
  const changed = { ...snapshot, interfaces: [...snapshot.interfaces] };
  host.snapshot = () => changed;
  t.not(sharing.list(), ported);
});

test('a person\'s listing leaves out the loopback, taps, unmanaged veths, veths whose other end is here and ports; all lists them; the shared NIC and managed veths stay', (t) => {
  const { host, sharing } = sharedSetup();
  host.interfaces = [
    ...host.interfaces,
    nic('lo', '00:00:00:00:00:00', { type: 'loopback' }),
    nic('vnet0', 'fe:54:00:00:00:02', { type: 'tun', controller: 'br-eth0' }),
    nic('veth1a', '02:00:00:00:00:03', { veth: true, managed: false }),
    nic('veth2a', '02:00:00:00:00:04', { veth: true }),
    nic('veth3a', '02:00:00:00:00:07', { veth: true, vethPeerHere: true }),
    nic('eth2', '52:54:00:00:00:05', { controller: 'bond0' }),
    nic('eth3', '52:54:00:00:00:06'),
  ];
  host.kernelControllers.set('eth3', 'docker0');
  const names = (all: boolean) => sharing.list(all).map((l) => l.iface.name);
  t.deepEqual(names(false), ['eth0', 'eth1', 'br-eth0', 'veth2a']);
  t.deepEqual(names(true), host.interfaces.map((i) => i.name));
});

test('routed sharing on a host without its programs is NotSupported, saying which, before polkit and before anything changes', async (t) => {
  const host = new FakeHost();
  host.interfaces = [nic('eth0', '52:54:00:00:00:01', { addresses: ['192.0.2.10/24'] })];
  const untouched = () => Promise.reject(new Error('the data plane must not be touched'));
  const sharing = new Sharing(servedBy(host), host, new RecordingLog(), undefined, new FakeClock(), undefined, {
    lacking: () => 'dnsmasq (the DHCP relay)', start: untouched, stop: untouched, probeLease: untouched,
  });
  const err = await t.throwsAsync(sharing.prepareShare('eth0', share({ mode: 'routed' })), { instanceOf: ShareError });
  t.is(err?.code, 'NotSupported');
  t.regex(err?.message ?? '', /needs dnsmasq \(the DHCP relay\)/);
  t.deepEqual(host.steps, []);
});
