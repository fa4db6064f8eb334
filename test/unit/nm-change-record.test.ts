// SPDX-License-Identifier: GPL-2.0-or-later
// NetworkManager's change records on disk: written and read back whole, private, one per NIC; a
// damaged or misplaced one is left alone (logged), never acted on; a NetworkManager restart
// interrupts the changes begun under the earlier one.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NmChangeRecords, processStart, type NmChangeRecord } from '../../src/settings/nm/nm-change-record';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const RECORD: NmChangeRecord = {
  version: 1, operation: 'share', nic: 'eth0', bridge: 'br-eth0', state: 'applying', deadline: 1_700_000_000_000,
  checkpoint: '/org/freedesktop/NetworkManager/Checkpoint/3', original: '0b1e5c3a-1111-4222-8333-444455556666',
  addressesOn: 'eth0', addresses: ['192.0.2.10/24'], added: ['9f0c2d7e-aaaa-4bbb-8ccc-ddddeeeeffff'], persist: true,
};

function withRecords(run: (t: ExecutionContext, records: NmChangeRecords, dir: string, logged: string[]) => Promise<void>): (t: ExecutionContext) => Promise<void> {
  return async (t) => {
    const state = mkdtempSync(join(tmpdir(), 'nm-changes-test.'));
    const logged: string[] = [];
    const log = { error: (m: string) => logged.push(m), warn: () => undefined, info: () => undefined, debug: () => undefined };
    const dir = NmChangeRecords.directory(state);
    try {
      await run(t, new NmChangeRecords(dir, log), dir, logged);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  };
}

test('a record is written privately and read back whole; removed, it is gone', withRecords(async (t, records, dir) => {
  await records.write(RECORD);
  t.is(statSync(join(dir, 'eth0.json')).mode & 0o777, 0o600);
  t.is(statSync(dir).mode & 0o777, 0o700);
  const [back] = await records.list();
  // Stamped with its writer: this process, told from a later one with its pid by its start.
  t.deepEqual(back, { ...RECORD, owner: { pid: process.pid, start: await processStart(process.pid) } });
  t.false(await records.ownedElsewhere(back ?? RECORD), 'its own record is not another\'s');
  await records.write({ ...RECORD, state: 'committed' });
  t.is((await records.list())[0]?.state, 'committed');
  t.true(await records.exists('eth0'));
  await records.remove('eth0');
  t.is((await records.list()).length, 0);
  await records.remove('eth0');
}));

test('a routed change\'s record keeps the guests\' bridge\'s profile; an older record without it reads as a bridged change\'s', withRecords(async (t, records, dir) => {
  const routed: NmChangeRecord = { ...RECORD, operation: 'unshare', routed: { bridgeProfile: '9f0c2d7e-aaaa-4bbb-8ccc-ddddeeeeffff' } };
  await records.write(routed);
  t.deepEqual((await records.read('eth0'))?.routed, routed.routed);
  writeFileSync(join(dir, 'eth0.json'), JSON.stringify(RECORD));
  t.is((await records.read('eth0'))?.routed, undefined);
  writeFileSync(join(dir, 'eth0.json'), JSON.stringify({ ...routed, routed: { bridgeProfile: '$(reboot)' } }));
  t.is(await records.read('eth0'), undefined, 'a damaged one is not acted on');
}));

test('a damaged record, or one under another NIC\'s name, is logged and left where it is', withRecords(async (t, records, dir, logged) => {
  await records.write(RECORD);
  writeFileSync(join(dir, 'eth1.json'), '{"version":1,"nic":"eth1"');
  writeFileSync(join(dir, 'eth2.json'), JSON.stringify({ ...RECORD, nic: 'eth0' }));
  writeFileSync(join(dir, 'eth3.json'), JSON.stringify({ ...RECORD, nic: 'eth3', added: ['$(reboot)'] }));
  const listed = await records.list();
  t.is(listed.map((r) => r.nic).join(','), 'eth0');
  t.is(logged.length, 3);
  t.is(readFileSync(join(dir, 'eth1.json'), 'utf8'), '{"version":1,"nic":"eth1"');
}));

test('no directory yet: no records; a name that is no interface name is refused', withRecords(async (t, records) => {
  t.is((await records.list()).length, 0);
  await t.throwsAsync(records.write({ ...RECORD, nic: '../etc' }));
}));

test('NetworkManager starting again interrupts the changes begun under the earlier one, not later ones', withRecords(async (t, records) => {
  records.networkManagerStarted();
  const interrupted: string[] = [];
  const release = records.hold('eth0', (why) => interrupted.push(why));
  t.true(records.sameNetworkManager(records.currentGeneration));
  const begunAt = records.currentGeneration;
  records.networkManagerLeft();
  t.false(records.sameNetworkManager(begunAt));
  const back = records.whenPresent(5000);
  records.networkManagerStarted();
  t.true(await back);
  t.is(interrupted.length, 1);
  t.true(/NetworkManager restarted during the change of eth0/.test(interrupted[0] ?? ''));
  release();
  records.hold('eth1', (why) => interrupted.push(why));
  records.networkManagerStarted();
  t.is(interrupted.length, 2);
  t.true(await records.whenPresent(10));
  records.networkManagerLeft();
  t.false(await records.whenPresent(10));
}));

test('a record owned by another daemon process that still runs is not a leftover; once that process is gone, or another started with its pid, it is', withRecords(async (t, records) => {
  const child = spawn('sleep', ['30']);
  try {
    const pid = child.pid ?? 0;
    const start = await processStart(pid);
    t.not(start, undefined);
    t.true(await records.ownedElsewhere({ ...RECORD, owner: { pid, start: start ?? 0 } }));
    t.false(await records.ownedElsewhere({ ...RECORD, owner: { pid, start: (start ?? 0) + 1 } }), 'the same pid, a later process');
  } finally {
    child.kill();
    await once(child, 'exit');
  }
  t.false(await records.ownedElsewhere({ ...RECORD, owner: { pid: child.pid ?? 0, start: 0 } }), 'gone');
  t.false(await records.ownedElsewhere(RECORD), 'a record without an owner');
}));
