// SPDX-License-Identifier: GPL-2.0-or-later
// The ifcfg backend's file I/O, in a temporary directory: atomic writes that initscripts and
// NetworkManager never see half-done, read-back checks, and the bridges we wrote found again.
import test from 'ava';
import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IfcfgError } from '../../src/settings/ifcfg/ifcfg-error';
import { temporaryName, writeFileAtomic } from '../../src/settings/durable-file';
import { decodeIfcfgText, ignoredByIfcfgReaders, readSharedMap, writeShvarFile } from '../../src/settings/ifcfg/ifcfg-files';
import { configFileName } from '../../src/settings/ifcfg/ifcfg-validate';

function scratch(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ifcfg-files-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('temporary names are ignored by NetworkManager ifcfg-rh and by initscripts', (t) => {
  for (const name of ['ifcfg-eth0', 'ifcfg-br-eth0', 'route-eth0']) {
    const temp = temporaryName(name);
    t.regex(temp, /^\.ifcfg-|^\.route-/);
    t.true(temp.endsWith('~'));
    t.true(ignoredByIfcfgReaders(temp), temp);
    t.false(ignoredByIfcfgReaders(name), name);
  }
  t.not(temporaryName('ifcfg-eth0'), temporaryName('ifcfg-eth0'));
});

test('configFileName refuses names initscripts would misread', (t) => {
  t.is(configFileName('ifcfg', 'br-eth0'), 'ifcfg-br-eth0');
  for (const bad of ['../x', 'x/y', '-x', '.x', 'x.bak', 'a'.repeat(16), 'x$(id)', '']) {
    t.throws(() => configFileName('ifcfg', bad), { instanceOf: IfcfgError }, bad);
  }
});

// Serial: the umask is the process's, and ava runs the other tests of this file concurrently.
test.serial('writeFileAtomic makes a new file 0644 whatever the umask, leaves no temporary file, replaces atomically', async (t) => {
  const { dir, done } = scratch();
  const old = process.umask(0o077);
  try {
    const path = join(dir, 'ifcfg-eth0');
    await writeFileAtomic(path, Buffer.from('OLD=1\n'));
    t.is(statSync(path).mode & 0o777, 0o644);
    await writeFileAtomic(path, Buffer.from('NEW=1\n'));
    t.is(readFileSync(path, 'utf8'), 'NEW=1\n');
    t.is(statSync(path).mode & 0o777, 0o644);
    t.deepEqual(readdirSync(dir), ['ifcfg-eth0']);
  } finally {
    process.umask(old);
    done();
  }
});

test('writeShvarFile writes text as given and refuses text the parser would misread, before writing', async (t) => {
  const { dir, done } = scratch();
  try {
    const path = join(dir, 'ifcfg-br0');
    await writeShvarFile(path, 'DEVICE=br0\nDOMAIN="a b"\n');
    t.is(readFileSync(path, 'utf8'), 'DEVICE=br0\nDOMAIN="a b"\n');
    await t.throwsAsync(writeShvarFile(join(dir, 'ifcfg-br1'), 'DOMAIN=$(touch /tmp/p)\n'), { instanceOf: IfcfgError });
    t.deepEqual(readdirSync(dir), ['ifcfg-br0']);
  } finally {
    done();
  }
});

test('a rewritten file keeps its mode and owner; a new one is 0644', async (t) => {
  const { dir, done } = scratch();
  try {
    const path = join(dir, 'ifcfg-eth0');
    writeFileSync(path, 'DEVICE=eth0\n');
    chmodSync(path, 0o600);
    // As root (npm test runs so), the file belongs to someone else, as an admin may have left it.
    const root = process.getuid?.() === 0;
    if (root) chownSync(path, 65534, 65534);
    await writeShvarFile(path, 'DEVICE=eth0\nBRIDGE=br-eth0\n');
    const after = statSync(path);
    t.is(after.mode & 0o7777, 0o600);
    if (root) t.deepEqual([after.uid, after.gid], [65534, 65534]);
    t.is(readFileSync(path, 'utf8'), 'DEVICE=eth0\nBRIDGE=br-eth0\n');
    await writeShvarFile(join(dir, 'ifcfg-br-eth0'), 'DEVICE=br-eth0\n');
    t.is(statSync(join(dir, 'ifcfg-br-eth0')).mode & 0o7777, 0o644);
  } finally {
    done();
  }
});

test('decodeIfcfgText refuses bytes that are not UTF-8', (t) => {
  t.is(decodeIfcfgText(Buffer.from('A=é\n'), 'ifcfg-x'), 'A=é\n');
  t.throws(() => decodeIfcfgText(Buffer.from([0x41, 0x3d, 0xff, 0x0a]), 'ifcfg-x'), { instanceOf: IfcfgError });
});

test('the shared map lists NICs whose BRIDGE names a bridge file we wrote, and nothing else', async (t) => {
  const { dir, done } = scratch();
  try {
    writeFileSync(join(dir, 'ifcfg-br-eth0'), '# Created by shared-interface: br-eth0 carries the IP configuration of eth0.\nDEVICE=br-eth0\nTYPE=Bridge\n');
    writeFileSync(join(dir, 'ifcfg-eth0'), 'DEVICE=eth0\nBRIDGE=br-eth0\n');
    // A bridge someone else made, its port, an unreadable file and a backup file.
    writeFileSync(join(dir, 'ifcfg-br1'), 'DEVICE=br1\nTYPE=Bridge\n');
    writeFileSync(join(dir, 'ifcfg-eth1'), 'DEVICE=eth1\nBRIDGE=br1\n');
    writeFileSync(join(dir, 'ifcfg-eth2'), 'BRIDGE=$(id)\n');
    writeFileSync(join(dir, 'ifcfg-eth3.bak'), 'DEVICE=eth3\nBRIDGE=br-eth0\n');
    t.deepEqual(await readSharedMap(dir), new Map([['eth0', 'br-eth0']]));
    t.deepEqual(await readSharedMap(join(dir, 'missing')), new Map());
  } finally {
    done();
  }
});
