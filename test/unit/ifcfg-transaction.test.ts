// SPDX-License-Identifier: GPL-2.0-or-later
// The ifcfg backend's transaction and records, in a temporary directory: one change at a time per
// state directory, rollback through the journal, expiry like a checkpoint's timer; a record read
// back exactly, a damaged one refused by name.
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShareError } from '../../src/bridge/share-error';
import { systemClock } from '../../src/clock';
import { FileJournal } from '../../src/settings/file-journal';
import { journalRoots, ShareRecords, type ShareRecord } from '../../src/settings/ifcfg/ifcfg-state';
import { IfcfgTransaction } from '../../src/settings/ifcfg/ifcfg-transaction';
import { FakeClock } from './fake-clock';

function scratch(): { ifcfgDir: string; stateDir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ifcfg-transaction-'));
  const ifcfgDir = join(dir, 'network-scripts');
  mkdirSync(ifcfgDir);
  return { ifcfgDir, stateDir: join(dir, 'state'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

const RECORD: ShareRecord = {
  version: 1, nic: 'eth0', bridge: 'br-eth0', mac: '52:54:00:12:34:56', stp: false, forwardDelay: 0,
  nicFile: { bytes: Buffer.from('DEVICE=eth0\n').toString('base64'), mode: 0o640 },
  config: { dhcp: true, addresses: [], routes: [] },
};

test('a record is read back as written; a damaged one, or another NIC\'s, is refused with its path', async (t) => {
  const { stateDir, done } = scratch();
  try {
    const records = new ShareRecords(stateDir);
    t.is(await records.read('eth0'), undefined);
    await records.write(RECORD);
    t.deepEqual(await records.read('eth0'), RECORD);
    writeFileSync(records.path('eth1'), JSON.stringify({ ...RECORD, nic: 'eth0' }));
    const other = await t.throwsAsync(records.read('eth1'), { instanceOf: ShareError });
    t.regex(other?.message ?? '', /eth1\.json is damaged: it is the record of eth0/);
    writeFileSync(records.path('eth2'), JSON.stringify({ ...RECORD, nic: 'eth2', bridge: '../x' }));
    const damaged = await t.throwsAsync(records.read('eth2'), { instanceOf: ShareError });
    t.regex(damaged?.message ?? '', /eth2\.json is damaged: .*bridge/);
    await records.remove('eth0');
    t.is(await records.read('eth0'), undefined);
    t.throws(() => records.path('../eth0'), { instanceOf: ShareError });
  } finally {
    done();
  }
});

test('one transaction at a time per state directory: the next begins once the first commits', async (t) => {
  const { ifcfgDir, stateDir, done } = scratch();
  try {
    const config = { ifcfgDir, stateDir };
    const ended: string[] = [];
    const undo = async (journal: FileJournal) => {
      await journal.restore();
      await journal.discard();
      return [];
    };
    const first = await IfcfgTransaction.begin(systemClock, stateDir, journalRoots(config), ['eth0'], [join(ifcfgDir, 'ifcfg-eth0')], undo, () => ended.push('first'));
    let secondStarted = false;
    const second = IfcfgTransaction.begin(systemClock, stateDir, journalRoots(config), ['eth1'], [], undo, () => ended.push('second')).then((tx) => {
      secondStarted = true;
      return tx;
    });
    await new Promise((resolve) => setImmediate(resolve));
    t.false(secondStarted, 'the second waits for the first');
    await first.commit();
    const tx = await second;
    t.deepEqual(ended, ['first']);
    // Rolled back: the files the journal tracked come back, and the transaction is over.
    writeFileSync(join(ifcfgDir, 'ifcfg-eth0'), 'DEVICE=eth0\n');
    await tx.journal.track([join(ifcfgDir, 'ifcfg-br0')]);
    writeFileSync(join(ifcfgDir, 'ifcfg-br0'), 'DEVICE=br0\n');
    t.deepEqual(await tx.rollback(), []);
    t.throws(() => readFileSync(join(ifcfgDir, 'ifcfg-br0')));
    t.deepEqual(ended, ['first', 'second']);
    t.is(await FileJournal.load(stateDir, journalRoots(config)), undefined);
  } finally {
    done();
  }
});

test('a transaction neither committed nor rolled back in time rolls itself back; later steps are refused', async (t) => {
  const { ifcfgDir, stateDir, done } = scratch();
  try {
    const clock = new FakeClock();
    let undone!: () => void;
    const wasUndone = new Promise<void>((resolve) => { undone = resolve; });
    const tx = await IfcfgTransaction.begin(clock, stateDir, journalRoots({ ifcfgDir, stateDir }), ['eth0'], [], async (journal) => {
      await journal.discard();
      undone();
      return [];
    }, () => undefined);
    tx.expireAfter(30);
    clock.advance(29_999);
    await tx.keep(60);
    clock.advance(59_999);
    t.is(clock.scheduled, 1, 'kept: the deadline moved, one timer');
    clock.advance(1);
    await wasUndone;
    await t.throwsAsync(tx.run(async () => 'late'), { instanceOf: ShareError, message: /rollback timeout/ });
    await t.throwsAsync(tx.keep(10), { instanceOf: ShareError });
    t.deepEqual(await tx.rollback(), [], 'a second rollback has nothing left to do');
  } finally {
    done();
  }
});
