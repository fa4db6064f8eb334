// SPDX-License-Identifier: GPL-2.0-or-later
// Bus activation from the installed files, idle exit and re-activation, in a lab whose /usr is an
// overlay: nothing of ours runs until a call asks for the name.
import test from 'ava';
import { BusCallError } from '../../src/dbus-wire/bus-connection';
import { BUS_NAME } from '../../src/service/shared-interface-spec';
import { Lab, sleep, waitFor } from './lab';
import { busDriver, callAs, DAEMON_NODE_FLAGS, installIntoLab, INSTALLED, NOBODY, ownerPid } from './lab-install';
import { ServiceClient } from './service-client';

/** What the lab's kernel says about a process: its command line, uid and parent (in the lab). */
async function processInfo(lab: Lab, pid: number): Promise<{ cmdline: string; uid: string; ppid: string }> {
  const out = await lab.sh(`tr '\\0' ' ' </proc/${pid}/cmdline; echo; awk '/^Uid:/ {print $2} /^PPid:/ {print $2}' /proc/${pid}/status`);
  const [cmdline = '', ppid = '', uid = ''] = out.split('\n');
  return { cmdline: cmdline.trim(), uid, ppid };
}

async function processGone(lab: Lab, pid: number): Promise<boolean> {
  return (await lab.exec(['test', '-e', `/proc/${pid}`], { allowFailure: true })).code !== 0;
}

test('the first call activates the installed daemon; idle, it exits; the next call activates it again, state intact', async (t) => {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  try {
    await installIntoLab(lab, { IDLE_TIMEOUT: '3' });
    t.deepEqual(await busDriver(lab, 'NameHasOwner', 's', [BUS_NAME]), [false], 'nothing runs before the first call');
    const [activatable] = await busDriver(lab, 'ListActivatableNames');
    t.true((activatable as string[]).includes(BUS_NAME));

    // 1. The first call starts the daemon: the bus's launch helper runs the installed Exec= line.
    let started = Date.now();
    const first = await callAs(lab, NOBODY, 'ListInterfaces');
    const firstLatency = Date.now() - started;
    t.is(first.errorName, undefined, first.errorMessage);
    const pid = await ownerPid(lab);
    if (pid === undefined) throw new Error('nobody owns the name after the first call');
    const info = await processInfo(lab, pid);
    t.is(info.cmdline, `/usr/bin/node ${DAEMON_NODE_FLAGS} ${INSTALLED.appDir}/bin/shared-interfaced --idle-timeout 3`);
    t.is(info.uid, '0', 'User=root');
    // dbus-daemon's babysitter leaves the service to the lab's init once it owns its name.
    t.is(info.ppid, '1', 'started by the bus, not by a shell of ours');
    t.regex(lab.log('dbus.log'), /Activating service name='org\.fedoraproject\.SharedInterface' requested by .* \(using servicehelper\)/);
    t.regex(lab.log('dbus.log'), /Successfully activated service 'org\.fedoraproject\.SharedInterface'/);

    // 2. Change something that must outlive the process (it lives in NetworkManager).
    const share = await callAs(lab, 'root', 'Share', 'sa{sv}', ['eth0', '0']);
    t.deepEqual(share.reply?.data, ['br-eth0'], share.errorMessage);
    const lastCall = Date.now();
    t.is(await ownerPid(lab), pid, 'a call keeps the daemon running');

    // 3. Quiet for 3 s: the daemon says it was idle, then the name goes, then the process (the
    // events in their order, not a time window; how long it took is logged, not asserted).
    await waitFor('the daemon to say it is idle', async () => (/idle for 3 s: exiting/.test(lab.log('dbus.log')) ? true : undefined), 20_000);
    await waitFor('the daemon to release its name', async () => ((await ownerPid(lab)) === undefined ? true : undefined), 20_000);
    const idleExit = Date.now() - lastCall;
    await waitFor('the daemon to exit', async () => ((await processGone(lab, pid)) ? true : undefined), 10_000);

    // 4. The next call starts a new instance that knows what is shared.
    started = Date.now();
    const again = await lab.exec(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'busctl', 'get-property', BUS_NAME, '/org/fedoraproject/SharedInterface', BUS_NAME, 'Shared']);
    const secondLatency = Date.now() - started;
    t.is(again.stdout.trim(), 'a{ss} 1 "eth0" "br-eth0"');
    const second = await ownerPid(lab);
    t.not(second, undefined);
    t.not(second, pid, 'a new process');
    const listed = await callAs(lab, NOBODY, 'ListInterfaces');
    t.regex(JSON.stringify(listed.reply?.data), /\["eth0","br-eth0",/);
    t.log(`activation + first call: ${firstLatency} ms; re-activation + Get: ${secondLatency} ms; idle exit ${idleExit} ms after the last call (idle timeout 3 s)`);
  } finally {
    await lab.stop();
  }
});

test('calls racing the idle exit all get replies: the name is released before the daemon goes', async (t) => {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false, nicProfile: 'none' });
  const bus = await lab.connect();
  try {
    await installIntoLab(lab, { IDLE_TIMEOUT: '1' });
    const client = new ServiceClient(bus);
    const failures: string[] = [];
    let calls = 0;
    const call = async () => {
      calls++;
      try {
        await client.call('ListInterfaces', '', [], 30_000);
      } catch (err) {
        failures.push(err instanceof BusCallError ? `${err.errorName}: ${err.message}` : String(err));
      }
    };
    await call();
    // The daemon checks once a second whether it was idle for 1 s; bursts of calls spaced around
    // that moment land before, during and after its exit (after a 2.3 s gap it has surely exited).
    for (const gap of [950, 1050, 1200, 1500, 2300, 1000, 1100, 1300, 1700, 2300]) {
      await sleep(gap);
      await Promise.all([call(), sleep(3).then(call), sleep(10).then(call), sleep(30).then(call), sleep(80).then(call)]);
    }
    const activations = lab.log('dbus.log').match(/Successfully activated service 'org\.fedoraproject\.SharedInterface'/g)?.length ?? 0;
    t.log(`${calls} calls, ${activations} activations`);
    t.deepEqual(failures, []);
    t.true(activations >= 3, `the daemon exited and was activated again during the test (${activations} activations)`);
  } finally {
    bus.close();
    await lab.stop();
  }
});

test('SIGTERM mid-call: the name is released at once, the call in flight still gets its reply, new calls start a new instance', async (t) => {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  const bus = await lab.connect();
  try {
    await installIntoLab(lab);
    const client = new ServiceClient(bus);
    await client.listInterfaces();
    const pid = await ownerPid(lab);
    if (pid === undefined) throw new Error('nobody owns the name after the first call');

    // Share takes a while (NetworkManager, then verification); stop the daemon in the middle.
    const share = client.share('eth0');
    await waitFor('Share to be under way', () => (/sharing eth0 through br-eth0/.test(lab.log('dbus.log')) ? true : undefined), 20_000);
    await lab.exec(['kill', '-TERM', String(pid)]);
    await waitFor('the name to be released', async () => ((await ownerPid(lab)) !== pid ? true : undefined), 10_000);
    t.true((await lab.exec(['test', '-e', `/proc/${pid}`], { allowFailure: true })).code === 0, 'the old instance still finishes its call');

    // Meanwhile the name is free: a new call activates a new instance.
    const listed = await client.listInterfaces();
    t.true(listed.some((i) => i.name === 'eth0'));
    t.is(await share, 'br-eth0', 'the caller got its reply, not NoReply');
    await waitFor('the old instance to exit', async () => ((await lab.exec(['test', '-e', `/proc/${pid}`], { allowFailure: true })).code !== 0 ? true : undefined), 10_000);
    t.regex(lab.log('dbus.log'), /SIGTERM: exiting/);
    t.deepEqual(await client.shared(), new Map([['eth0', 'br-eth0']]));
  } finally {
    bus.close();
    await lab.stop();
  }
});
