// SPDX-License-Identifier: GPL-2.0-or-later
// Callers who are not (yet) authorized cost others nothing: nothing of theirs is broadcast
// before polkit says yes (an unauthorized Share of eth0 puts no line into an admin's progress);
// a check that outlives our deadline is cancelled at polkit, its agent's prompt with it; and a
// few users holding every shared slot (silent agents, never answering) make no one else Busy.
// The real daemon, dbus-daemon and polkitd of a lab; silent-polkit-agent.ts plays the users.
import test from 'ava';
import { join } from 'node:path';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';
import { MAX_PENDING, MAX_PENDING_PER_USER } from '../../src/service/polkit-authority';
import { Lab, REPO_ROOT, type LabProcess, waitFor } from './lab';
import { asUser, callAs, NOBODY } from './lab-install';
import { ServiceClient } from './service-client';

const ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied';
const BUSY = 'org.fedoraproject.SharedInterface.Error.Busy';
const SILENT_AGENT = join(REPO_ROOT, 'dist', 'test', 'lab', 'silent-polkit-agent.js');

function silentAgent(lab: Lab, uid: number | string, calls: number, connections = 1): LabProcess {
  const who = typeof uid === 'number' ? `${uid}:${uid}` : uid;
  return lab.spawn(asUser(who, ['node', SILENT_AGENT, String(calls), String(connections)]));
}

test('an unauthorized caller\'s Share puts nothing into another connection\'s Progress; a caller sees its own authorizing step, others only what follows authorization', async (t) => {
  const lab = await Lab.start({});
  const observer = await lab.connect();
  const caller = await lab.connect();
  try {
    await lab.startDaemon();
    const seen: string[] = [];
    const subscribeProgress = (into: string[], bus: typeof observer) => bus.subscribe(
      { sender: BUS_NAME, path: OBJECT_PATH, interface: INTERFACE_NAME, member: 'Progress' },
      (msg) => into.push(`${String(msg.body[0])} ${String(msg.body[1])}`),
    );
    await subscribeProgress(seen, observer);
    const own: string[] = [];
    await subscribeProgress(own, caller);

    // uid 65534 asks to share eth0 (and to unshare it): polkit says no; the observer sees nothing.
    for (const member of ['Share', 'Unshare']) {
      const refused = await callAs(lab, NOBODY, member, 'sa{sv}', ['eth0', '0']);
      t.true(refused.errorName === ACCESS_DENIED || refused.errorName === 'org.fedoraproject.SharedInterface.Error.NotShared', `${member}: ${refused.errorName ?? ''} ${refused.errorMessage}`);
    }
    // A round trip through the daemon after the refusals: any signal of theirs came before its reply.
    await new ServiceClient(observer).listInterfaces();
    t.deepEqual(seen, [], 'no Progress reached the observer');

    // Root's Share: its own connection hears every step, the observer everything after authorization.
    t.is(await new ServiceClient(caller).share('eth0'), 'br-eth0');
    await new ServiceClient(observer).listInterfaces();
    t.is(own[0], 'eth0 authorizing', own.join(', '));
    t.true(own.includes('eth0 committed'), own.join(', '));
    t.false(seen.includes('eth0 authorizing'), seen.join(', '));
    t.true(seen.includes('eth0 checkpoint') && seen.includes('eth0 committed'), seen.join(', '));
    await new ServiceClient(caller).unshare('eth0');
  } finally {
    observer.close();
    caller.close();
    await lab.stop();
  }
});

test('an interactive check that outlives --authorization-timeout is cancelled at polkit: the silent agent\'s prompt is withdrawn', async (t) => {
  const lab = await Lab.start({ networkManager: true });
  try {
    const daemon = await lab.startDaemon(['--authorization-timeout=4']);
    const agent = silentAgent(lab, NOBODY, 1);
    await agent.waitForOutput(/registered as /, 30_000);
    await agent.waitForOutput(/^begin$/m, 60_000);
    // Our deadline passes: we cancel, polkitd tells the agent, the caller gets AccessDenied.
    await daemon.waitForOutput(/took too long: cancelling its authorization check/, 30_000);
    await agent.waitForOutput(/^cancel$/m, 30_000);
    await agent.waitForOutput(/^reply 0 /m, 30_000);
    t.regex(agent.output, new RegExp(`^reply 0 ${ACCESS_DENIED.replace(/\./g, '\\.')}$`, 'm'));
    t.notRegex(daemon.output, /cancelling the authorization check of .*: /, 'polkit took the cancellation');
  } finally {
    await lab.stop();
  }
});

test(`${MAX_PENDING / MAX_PENDING_PER_USER} colluding users holding all ${MAX_PENDING} shared slots make no other user Busy`, async (t) => {
  const lab = await Lab.start({});
  try {
    await lab.startDaemon();
    const colluders = MAX_PENDING / MAX_PENDING_PER_USER;
    // Each user: one agent process that never answers, with MAX_PENDING_PER_USER connections of one
    // call each. System users (bin, sys, …, news): dbus-daemon takes only users the host knows.
    const agents = Array.from({ length: colluders }, (_, i) => silentAgent(lab, 2 + i, 1, MAX_PENDING_PER_USER));
    for (const agent of agents) await agent.waitForOutput(/^begin$/m, 90_000);
    // Every colluding call is pending (not answered): the shared slots are all held.
    await waitFor('the colluding checks pending', () => (agents.every((a) => !/^reply /m.test(a.output)) ? true : undefined), 5_000);

    // Beyond a user's first check, the pool is full: a new user's second connection is Busy…
    const late = silentAgent(lab, 2 + colluders, 1, 2);
    await late.waitForOutput(/^reply \d+ /m, 60_000);
    t.regex(late.output, new RegExp(`^reply \\d+ ${BUSY.replace(/\./g, '\\.')}$`, 'm'));
    // …but another user's (proxy's) first check is answered by polkit (no agent of that user: no), not Busy.
    const other = await callAs(lab, '13:13', 'Share', 'sa{sv}', ['eth0', '0']);
    t.is(other.errorName, ACCESS_DENIED, other.errorMessage);
    // And a colluding user's own fifth is Busy: its share is spent.
    const fifth = await callAs(lab, '2:2', 'Share', 'sa{sv}', ['eth0', '0']);
    t.is(fifth.errorName, BUSY, fifth.errorMessage);
    t.true(agents.every((a) => !/^reply /m.test(a.output)), 'the colluders still wait');
  } finally {
    await lab.stop();
  }
});
