// SPDX-License-Identifier: GPL-2.0-or-later
// The RPM, built as a packager builds it: `make dist`, then `rpmbuild -bb` on the spec with those
// sources (Debian's rpm: --nodeps, as its database knows none of Fedora's build dependencies).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lab';

export const SPEC = join(REPO_ROOT, 'packaging', 'shared-interface.spec');
export const RPMLINTRC = join(REPO_ROOT, 'packaging', 'shared-interface.rpmlintrc');

export interface BuiltRpm {
  readonly dir: string;
  readonly rpm: string;
  readonly buildLog: string;
}

/** Builds into a new directory under `parent`; resolves with the binary RPM's path. */
export function buildRpm(parent: string): BuiltRpm {
  const dir = mkdtempSync(join(parent, 'shared-interface-rpm.'));
  execFileSync('make', ['-C', REPO_ROOT, '--no-print-directory', '-s', 'dist', `TARBALLDIR=${dir}`], { stdio: 'pipe' });
  mkdirSync(join(dir, 'top'));
  // The log on one stream, so rpmbuild's own lines and the scriptlets' `set -x` trace stay in order.
  const build = spawnSync('sh', ['-c', 'exec rpmbuild "$@" 2>&1', 'rpmbuild', '-bb', '--nodeps', '--define', `_topdir ${join(dir, 'top')}`, '--define', `_sourcedir ${dir}`, SPEC],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 });
  const buildLog = build.stdout;
  if (build.status !== 0) throw new Error(`rpmbuild failed (${String(build.status ?? build.signal)}):\n${buildLog.slice(-5000)}`);
  const rpms = join(dir, 'top', 'RPMS', 'noarch');
  const [rpm] = readdirSync(rpms).filter((f) => f.endsWith('.noarch.rpm'));
  if (rpm === undefined) throw new Error(`rpmbuild wrote no noarch RPM:\n${buildLog.slice(-3000)}`);
  return { dir, rpm: join(rpms, rpm), buildLog };
}

/** `rpm` without Debian's note that it prefers alien. */
export function rpm(args: readonly string[]): string {
  return execFileSync('rpm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
