// SPDX-License-Identifier: GPL-2.0-or-later
// `make dist`: run twice in the checkout (where its tarball lands by default) it succeeds both
// times with the same bytes, ships exactly the tracked files plus the built ones it lists, never
// an untracked file; and in the unpacked tarball `make` builds nothing and `make install` works
// with no node_modules and no esbuild on PATH.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lab';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NAME = `shared-interface-${VERSION}`;
const make = (args: readonly string[], cwd = REPO_ROOT, env: NodeJS.ProcessEnv = process.env) =>
  spawnSync('make', ['--no-print-directory', '-s', ...args], { cwd, env, encoding: 'utf8' });

test('make dist twice in the checkout: the same bytes, exactly the tracked files and the built ones, no untracked file', (t) => {
  const tarball = join(REPO_ROOT, `${NAME}.tar.gz`);
  const untracked = join(REPO_ROOT, `untracked-by-dist-test-${process.pid}.txt`);
  const unpacked = mkdtempSync(join(tmpdir(), 'shared-interface-dist.'));
  const existed = existsSync(tarball);
  try {
    writeFileSync(untracked, 'not part of the release\n');
    const first = make(['dist']);
    t.is(first.status, 0, first.stderr);
    const bytes = readFileSync(tarball);
    const second = make(['dist']);
    t.is(second.status, 0, second.stderr);
    t.true(readFileSync(tarball).equals(bytes), 'the same bytes again');
    t.is(execFileSync('git', ['status', '--porcelain', '--', `${NAME}.tar.gz`], { cwd: REPO_ROOT, encoding: 'utf8' }), '', 'the tarball is ignored by git');

    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(`${NAME}/`, '')).sort();
    const tracked = execFileSync('git', ['ls-files', '--cached'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n')
      .filter((f) => existsSync(join(REPO_ROOT, f)));
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    const built = readFileSync(join(unpacked, NAME, 'dist', 'release-files'), 'utf8').trim().split('\n');
    t.deepEqual(listed, [...tracked, ...built, 'dist/release-files'].sort());
    t.false(listed.some((f) => f.startsWith('untracked-by-dist-test')));
    t.false(listed.some((f) => f.startsWith('node_modules/') || f.endsWith('.tar.gz')));
    for (const f of ['dist/bundle/shared-interfaced', 'dist/cockpit-page/index.js', 'dist/generated/shared-interface.1', 'dist/licenses/bundled.json']) {
      t.true(built.includes(f), `${f} shipped built`);
    }
    t.false(existsSync(join(REPO_ROOT, 'dist', 'release-files')), 'the checkout stays a checkout: make still builds there');

    // The unpacked release: `make` builds nothing, `make install` installs, no Node.js tools on PATH.
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/nonexistent', LANG: 'C.UTF-8' };
    const all = make(['all'], join(unpacked, NAME), env);
    t.is(all.status, 0, all.stderr);
    t.is(all.stdout + all.stderr, '');
    const install = make(['install', `DESTDIR=${join(unpacked, 'root')}`], join(unpacked, NAME), env);
    t.is(install.status, 0, install.stderr);
    t.true(existsSync(join(unpacked, 'root', 'usr', 'share', 'shared-interface', 'bin', 'shared-interfaced')));
    // A release missing a built file says which.
    rmSync(join(unpacked, NAME, 'dist', 'generated', 'shared-interfaced.8'));
    const broken = make(['all'], join(unpacked, NAME), env);
    t.not(broken.status, 0);
    t.regex(broken.stderr, /missing from this release tarball \(make dist ships them\): dist\/generated\/shared-interfaced\.8/);
  } finally {
    rmSync(untracked, { force: true });
    if (!existed) rmSync(tarball, { force: true });
    rmSync(unpacked, { recursive: true, force: true });
  }
});
