// SPDX-License-Identifier: GPL-2.0-or-later
// The lab keeps the project's own directory visible wherever it was cloned: a checkout under /tmp
// (hidden by the lab's private /tmp before) starts a lab, installs into its overlay and answers a
// call. The clone gets this checkout's build and dependencies (no second `npm ci` nor tsc).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './lab';

test('a clone under /tmp starts the lab, installs into it and answers ListInterfaces', (t) => {
  const clone = mkdtempSync('/tmp/shared-interface-clone.');
  try {
    execFileSync('git', ['clone', '--quiet', '--shared', REPO_ROOT, clone], { stdio: 'pipe' });
    // The working tree's tracked edits too, not only its last commit. A diff only reads: `stash
    // create` writes the index, and fails without a word while another test's git holds its lock.
    const edits = execFileSync('git', ['-C', REPO_ROOT, 'diff', '--binary', 'HEAD'], { maxBuffer: 64 * 1024 * 1024 });
    if (edits.length > 0) execFileSync('git', ['-C', clone, 'apply', '--whitespace=nowarn', '-'], { input: edits, stdio: ['pipe', 'pipe', 'pipe'] });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'));
    cpSync(join(REPO_ROOT, 'dist'), join(clone, 'dist'), { recursive: true });
    const out = execFileSync('node', [join(clone, 'dist', 'test', 'lab', 'lab-from-checkout.js')], { encoding: 'utf8', timeout: 240_000 });
    const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { repo: string; errorName: string; errorMessage: string; reply: unknown[]; policyInstalled: boolean };
    t.is(result.repo, clone, 'the lab code ran from the clone');
    t.is(result.errorName, '', result.errorMessage);
    t.true(JSON.stringify(result.reply).includes('"eth0"'), JSON.stringify(result.reply));
    t.true(result.policyInstalled, 'make install from the clone reached the lab');
  } finally {
    rmSync(clone, { recursive: true, force: true });
  }
});
