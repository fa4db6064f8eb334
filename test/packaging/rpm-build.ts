// SPDX-License-Identifier: GPL-2.0-or-later
// The RPM, built as Fedora's build system builds it: from the release tarball alone (`make dist`),
// offline, with no node_modules and no esbuild. rpmbuild runs in a lab without a route out, with
// the checkout hidden under an empty tmpfs (so not even a parent directory's node_modules can be
// found) and a PATH of system directories only, on the spec the tarball carries. Debian's rpm:
// --nodeps, as its database knows none of Fedora's build dependencies.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Lab, REPO_ROOT } from '../lab/lab';

export const SPEC = join(REPO_ROOT, 'packaging', 'shared-interface.spec');
export const RPMLINTRC = join(REPO_ROOT, 'packaging', 'shared-interface.rpmlintrc');

export interface BuiltRpm {
  readonly dir: string;
  /** The release tarball the RPMs were built from. */
  readonly tarball: string;
  /** The main package. */
  readonly rpm: string;
  /** shared-interface-cockpit. */
  readonly cockpitRpm: string;
  readonly buildLog: string;
  /** What the build saw: its route out (none), what was left of the checkout, its PATH. */
  readonly preamble: string;
}

/** Builds into a new directory under `parent`. */
export async function buildRpm(parent: string): Promise<BuiltRpm> {
  const dir = mkdtempSync(join(parent, 'shared-interface-rpm.'));
  execFileSync('make', ['-C', REPO_ROOT, '--no-print-directory', '-s', 'dist', `TARBALLDIR=${dir}`], { stdio: 'pipe' });
  const [tarball] = readdirSync(dir).filter((f) => f.endsWith('.tar.gz'));
  if (tarball === undefined) throw new Error('make dist wrote no tarball');
  const lab = await Lab.start({ networkManager: false, nicProfile: 'none', busPolicy: false, polkitPolicy: false });
  try {
    // The lab has a /tmp of its own; its directory is what it sees of the host's.
    const work = join(lab.dir, 'rpmbuild');
    mkdirSync(join(work, 'sources'), { recursive: true });
    copyFileSync(join(dir, tarball), join(work, 'sources', tarball));
    const build = await lab.exec(['bash', '-c', `set -euo pipefail
      export PATH=/usr/sbin:/usr/bin:/sbin:/bin
      mount -t tmpfs -o ro,mode=0755 lab-hidden-checkout "$1"
      cd "$2"
      tar -xzf "sources/$3" --to-stdout --wildcards '*/packaging/shared-interface.spec' >shared-interface.spec
      echo "route out: $(ip route get 1.1.1.1 2>&1 || true)"
      echo "checkout: $(ls -A "$1" | wc -l) entries"
      echo "PATH=$PATH"; echo ---
      exec rpmbuild -bb --nodeps --define "_topdir $2/top" --define "_sourcedir $2/sources" shared-interface.spec 2>&1`,
    'build', REPO_ROOT, work, tarball], { allowFailure: true, timeoutMs: 15 * 60_000 });
    const [preamble = '', buildLog = ''] = build.stdout.split(/^---\n/m);
    if (build.code !== 0) throw new Error(`rpmbuild failed (${build.code}):\n${build.stderr}${buildLog.slice(-5000)}`);
    const rpms = join(work, 'top', 'RPMS', 'noarch');
    const built = readdirSync(rpms);
    const main = built.find((f) => /^shared-interface-\d.*\.noarch\.rpm$/.test(f));
    const cockpit = built.find((f) => f.startsWith('shared-interface-cockpit-'));
    if (main === undefined || cockpit === undefined) throw new Error(`rpmbuild wrote ${built.join(', ')}:\n${buildLog.slice(-3000)}`);
    for (const f of [main, cockpit]) copyFileSync(join(rpms, f), join(dir, f));
    return {
      dir, tarball: join(dir, tarball), rpm: join(dir, main), cockpitRpm: join(dir, cockpit), buildLog,
      preamble,
    };
  } finally {
    await lab.stop();
  }
}

/** `rpm` without Debian's note that it prefers alien. */
export function rpm(args: readonly string[]): string {
  return execFileSync('rpm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export const rpmName = (path: string): string => basename(path).replace(/\.rpm$/, '');
