// SPDX-License-Identifier: GPL-2.0-or-later
// Callers that never read: uid 65534 opens 8 connections (stalling-caller.ts) that authenticate,
// then pipeline Introspect calls (17 KiB answers to ~150-byte calls) without reading a byte.
// Unbounded, our answers piled up in our socket and in dbus-daemon's queues for them, charged to
// us, until dbus-daemon stopped reading from us and every caller waited (measured before the
// bound: ListInterfaces and Peer.Ping from root timed out at 5 s from the first second, the
// daemon's RSS grew without end). Now their calls are refused, then dropped; the daemon's memory
// and what dbus-daemon holds of ours stay bounded; root's and another user's calls are answered;
// afterwards a caller that reads pipelines thousands of calls and gets every answer. Figures are
// logged; only generous bounds are asserted, never a time.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusConnection } from '../../src/dbus-wire/bus-connection';
import * as v from '../../src/dbus-wire/bus-value';
import { BUS_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';
import { REPO_ROOT, sleep, type Lab, type LabProcess } from './lab';
import { asUser, callAs, NOBODY } from './lab-install';
import { withLabService, type ServiceClient } from './service-client';

const STALLED_CONNECTIONS = 8;
const READER_CALLS = 2000;
const MiB = 1024 * 1024;

function rssMiB(status: string): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** What dbus-daemon holds of the messages our daemon sent (its live_messages counter: past 127 MiB it stops reading from us). */
async function heldOfOurs(client: ServiceClient, daemonName: string): Promise<number> {
  const [stats] = await client.bus.call({
    destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus.Debug.Stats',
    member: 'GetConnectionStats', signature: 's', body: [daemonName],
  });
  const held = v.fromVariant(v.dict(v.variant), v.makeVariant('a{sv}', stats as Record<string, v.Variant>)).get('IncomingBytes');
  return Number(held?.value ?? NaN);
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now();
  const result = await work();
  return [result, Date.now() - start];
}

test('callers that never read cost only their own calls: memory stays bounded, root and another user are answered, a reader gets every answer', async (t) => {
  await withLabService({ nicProfile: 'static' }, async (lab: Lab, client: ServiceClient, daemon: LabProcess) => {
    const daemonName = String((await client.bus.call({
      destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetNameOwner', signature: 's', body: [BUS_NAME],
    }))[0]);
    const ourRss = () => rssMiB(readFileSync(`/proc/${daemon.pid()}/status`, 'utf8'));
    const busRss = async () => rssMiB(await lab.sh('cat /proc/$(pidof dbus-daemon)/status'));
    await client.listInterfaces();
    const [, quietShareMs] = await timed(async () => {
      await client.share('eth0');
      await client.unshare('eth0');
    });
    const quietRss = ourRss();
    t.log(`quiet: root's Share and Unshare ${quietShareMs} ms; the daemon's RSS ${quietRss.toFixed(1)} MiB, dbus-daemon's ${(await busRss()).toFixed(1)} MiB`);

    const attacker = lab.spawn(asUser(NOBODY, ['node', join(REPO_ROOT, 'dist', 'test', 'lab', 'stalling-caller.js'), String(STALLED_CONNECTIONS), 'Introspect']));
    await attacker.waitForOutput(/^stalling$/m, 30_000);
    let maxRss = 0;
    let maxHeld = 0;
    for (let second = 1; second <= 12; second++) {
      await sleep(1000);
      const [, listMs] = await timed(() => client.listInterfaces());
      const held = await heldOfOurs(client, daemonName);
      maxRss = Math.max(maxRss, ourRss());
      maxHeld = Math.max(maxHeld, held);
      if (second % 3 === 0) t.log(`${second} s: root's ListInterfaces ${listMs} ms; the daemon's RSS ${ourRss().toFixed(1)} MiB; dbus-daemon holds ${(held / MiB).toFixed(2)} MiB of ours, its RSS ${(await busRss()).toFixed(1)} MiB`);
    }
    const [, shareMs] = await timed(async () => {
      await client.share('eth0');
      await client.unshare('eth0');
    });
    const [other, otherMs] = await timed(() => callAs(lab, '1000:1000', 'ListInterfaces'));
    t.is(other.errorName, undefined, other.errorMessage);
    t.log(`under the attack: root's Share and Unshare ${shareMs} ms, uid 1000's ListInterfaces (busctl) ${otherMs} ms`);
    attacker.kill('SIGTERM');
    await attacker.waitForExit();
    t.log(`the stalled connections sent ${/"sent":(\d+)/.exec(attacker.output)?.[1] ?? '?'} calls; the daemon's RSS at most ${maxRss.toFixed(1)} MiB (quiet ${quietRss.toFixed(1)}); dbus-daemon held at most ${(maxHeld / MiB).toFixed(2)} MiB of ours`);
    // Refused (LimitsExceeded), then dropped; the log says so, at most 20 lines a minute.
    t.regex(daemon.output, /refused a message: .*(it has not read its earlier replies|dropped: it has not read what it was sent before)/);
    t.true(maxRss < quietRss + 64, `the daemon's RSS stays bounded (${maxRss.toFixed(1)} MiB)`);
    t.true(maxHeld < 64 * MiB, `dbus-daemon holds far less than its 127 MiB limit of ours (${maxHeld} bytes)`);

    // A caller that reads (our own client answers Peer.Ping): thousands of pipelined calls, every answer.
    const reader = await BusConnection.connect({ address: lab.busAddress, maxCallsInFlight: 8 });
    try {
      const [answers, readerMs] = await timed(() => Promise.all(Array.from({ length: READER_CALLS }, () =>
        reader.call({ destination: BUS_NAME, path: OBJECT_PATH, interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' }))));
      const bytes = answers.reduce((sum, [xml]) => sum + String(xml).length, 0);
      t.log(`a reading caller: ${answers.length} Introspect answers (${(bytes / MiB).toFixed(1)} MiB) in ${readerMs} ms`);
      t.is(answers.length, READER_CALLS);
    } finally {
      reader.close();
    }
  });
});
