// SPDX-License-Identifier: GPL-2.0-or-later
// The journal that undoes a change of files, in a temporary directory: restored byte for byte
// (also by a new process after a crash), and never reaching outside its roots.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/settings/durable-file';
import { FileJournal, JournalError, lockStateDir } from '../../src/settings/file-journal';

function scratch(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'file-journal-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a journal restores changed, created and removed files byte for byte, also from disk after a crash', async (t) => {
  const { dir, done } = scratch();
  try {
    const ifcfg = join(dir, 'network-scripts');
    const state = join(dir, 'state');
    const roots = [ifcfg, join(state, 'shared')];
    // The original files: one to change (odd bytes, odd mode), one to remove; one will be created.
    mkdirSync(ifcfg);
    const eth0 = Buffer.from("# comment\nDEVICE=eth0\nDOMAIN=$'a\\tb'\n\n", 'utf8');
    writeFileSync(join(ifcfg, 'ifcfg-eth0'), eth0);
    chmodSync(join(ifcfg, 'ifcfg-eth0'), 0o640);
    writeFileSync(join(ifcfg, 'ifcfg-old'), 'DEVICE=old');

    const journal = await FileJournal.create(state, roots);
    await journal.track([join(ifcfg, 'ifcfg-eth0'), join(ifcfg, 'ifcfg-br0'), join(ifcfg, 'ifcfg-old')]);
    await journal.setLiveState({ shape: 'unshared', nic: 'eth0' });
    await t.throwsAsync(FileJournal.create(state, roots), undefined, 'a second journal is refused');

    await writeFileAtomic(join(ifcfg, 'ifcfg-eth0'), Buffer.from('DEVICE=eth0\nBRIDGE=br0\n'));
    await writeFileAtomic(join(ifcfg, 'ifcfg-br0'), Buffer.from('DEVICE=br0\nTYPE=Bridge\n'));
    rmSync(join(ifcfg, 'ifcfg-old'));

    // "The daemon died": a new process finds the journal on disk.
    const found = await FileJournal.load(state, roots);
    t.truthy(found);
    t.deepEqual(found?.liveState, { shape: 'unshared', nic: 'eth0' });
    await found?.restore();
    await found?.discard();
    t.deepEqual(readdirSync(ifcfg), ['ifcfg-eth0', 'ifcfg-old']);
    t.true(readFileSync(join(ifcfg, 'ifcfg-eth0')).equals(eth0));
    t.is(statSync(join(ifcfg, 'ifcfg-eth0')).mode & 0o777, 0o640);
    t.is(readFileSync(join(ifcfg, 'ifcfg-old'), 'utf8'), 'DEVICE=old');
    t.is(await FileJournal.load(state, roots), undefined, 'the journal is gone');
  } finally {
    done();
  }
});

test('a journal never touches a path outside its roots, also when its manifest says so', async (t) => {
  const { dir, done } = scratch();
  try {
    const ifcfg = join(dir, 'network-scripts');
    const state = join(dir, 'state');
    const journal = await FileJournal.create(state, [ifcfg]);
    await t.throwsAsync(journal.track([join(dir, 'elsewhere')]), { instanceOf: JournalError });
    await t.throwsAsync(journal.track([join(ifcfg, '..', 'x')]), { instanceOf: JournalError });
    await t.throwsAsync(journal.track([join(ifcfg, 'sub', 'x')]), { instanceOf: JournalError });
    const manifest = join(FileJournal.directory(state), 'manifest.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { entries: unknown[] };
    m.entries.push({ path: '/etc/passwd', existed: false, mode: 420, copy: '0' });
    writeFileSync(manifest, JSON.stringify(m));
    await t.throwsAsync(FileJournal.load(state, [ifcfg]), { instanceOf: JournalError });
  } finally {
    done();
  }
});

test('the state directory is held by one change at a time, in the order they asked', async (t) => {
  const order: string[] = [];
  const first = await lockStateDir('/nonexistent/state');
  const second = lockStateDir('/nonexistent/state/.').then((release) => {
    order.push('second');
    release();
  });
  const other = await lockStateDir('/nonexistent/other');
  order.push('other');
  other();
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(order, ['other'], 'another directory is not held up; the same one waits');
  order.push('first released');
  first();
  await second;
  t.deepEqual(order, ['other', 'first released', 'second']);
});
