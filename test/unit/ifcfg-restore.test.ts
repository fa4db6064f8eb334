// SPDX-License-Identifier: GPL-2.0-or-later
// The ifcfg rollback is honest: when the files come back but the running system can't be put
// back (ifup/ip failing), the restore says what is left, and the transaction's rollback hands
// that on (the domain then answers Failed, never RolledBack "everything was put back").
// The live applier is a stand-in: making a real ifdown/ifup fail on cue is not what this tests.
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileJournal } from '../../src/settings/file-journal';
import { restoreJournal } from '../../src/settings/ifcfg/ifcfg-recovery';
import type { LiveApplier } from '../../src/settings/host-tools/live-applier';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

function standIn(fails: boolean): LiveApplier & { calls: string[] } {
  const calls: string[] = [];
  return {
    name: 'stand-in',
    calls,
    canDhcp: () => true,
    toShared: async (shape) => { calls.push(`shared ${shape.nic}`); if (fails) throw new Error('ifup br-eth0: device not found'); },
    toUnshared: async (shape) => { calls.push(`unshared ${shape.nic}`); if (fails) throw new Error('ifup eth0: RTNETLINK answers: Network is down'); },
  };
}

async function journalWithChange(dir: string): Promise<{ ifcfg: string; journal: FileJournal; original: string }> {
  const ifcfg = join(dir, 'network-scripts');
  const state = join(dir, 'state');
  mkdirSync(ifcfg);
  const original = 'DEVICE=eth0\nBOOTPROTO=dhcp\n';
  writeFileSync(join(ifcfg, 'ifcfg-eth0'), original);
  const journal = await FileJournal.create(state, [ifcfg, join(state, 'shared')]);
  await journal.track([join(ifcfg, 'ifcfg-eth0'), join(ifcfg, 'ifcfg-br-eth0')]);
  await journal.setLiveState({ shape: 'unshared', nic: 'eth0', bridge: 'br-eth0', config: { dhcp: true, addresses: [], routes: [] } });
  writeFileSync(join(ifcfg, 'ifcfg-eth0'), 'DEVICE=eth0\nBRIDGE=br-eth0\n');
  writeFileSync(join(ifcfg, 'ifcfg-br-eth0'), 'DEVICE=br-eth0\nTYPE=Bridge\n');
  return { ifcfg, journal, original };
}

test('a live restore that fails is reported with what is left; the files are back all the same', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ifcfg-restore-'));
  try {
    const { ifcfg, journal, original } = await journalWithChange(dir);
    const live = standIn(true);
    const left = await restoreJournal(journal, live, quiet);
    t.deepEqual(live.calls, ['unshared eth0']);
    t.is(left.length, 1);
    t.regex(left[0] ?? '', /files are restored, but the running system could not be brought back to eth0 without br-eth0 \(ifup eth0: RTNETLINK answers: Network is down\)/);
    t.deepEqual(readdirSync(ifcfg), ['ifcfg-eth0']);
    t.is(readFileSync(join(ifcfg, 'ifcfg-eth0'), 'utf8'), original);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a live restore that succeeds leaves nothing to report', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ifcfg-restore-'));
  try {
    const { journal } = await journalWithChange(dir);
    t.deepEqual(await restoreJournal(journal, standIn(false), quiet), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
