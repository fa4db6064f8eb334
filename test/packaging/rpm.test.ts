// The RPM: built from `make dist` by rpmbuild (the spec's %build runs the TypeScript build, its
// %install is `make install`), clean for rpmlint, installed with `rpm -i --root` into a scratch
// directory with every file where Fedora expects it and exactly what `make install` installs.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { INSTALLED } from '../lab/lab-install';
import { REPO_ROOT } from '../lab/lab';
import { buildRpm, rpm, RPMLINTRC, SPEC } from './rpm-build';

function filesUnder(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(root, path) : [`/${relative(root, path)}`];
  });
}

/** Warnings Debian's rpmlint gives that Fedora's profile does not, or that we keep on purpose (README). */
const KNOWN_WARNINGS = [
  'only-non-binary-in-usr-lib', // the unit and NM's dispatcher script live in /usr/lib, where systemd and NM read them
  'no-url-tag', // no public home yet
  'no-manual-page-for-binary', // Debian's profile looks for bzip2'd pages; Fedora's brp-compress gzips them
  'manpage-not-compressed', // the same: "bz2" is Debian's profile's choice, Fedora's is gzip
  'invalid-license', // Debian's rpmlint predates SPDX identifiers, which Fedora requires
  'files-duplicate', // initscripts' ifup-local and ifdown-local hooks: one script under both names
];

test('the RPM builds from make dist, passes rpmlint, and installs where Fedora expects, exactly what make install installs', (t) => {
  const built = buildRpm(tmpdir());
  const root = mkdtempSync(join(tmpdir(), 'shared-interface-rpmroot.'));
  const destdir = mkdtempSync(join(tmpdir(), 'shared-interface-install.'));
  try {
    t.log(`${built.rpm.split('/').pop() ?? ''}: ${statSync(built.rpm).size} bytes`);
    // %build ran the TypeScript build; %install ran make install into the buildroot.
    t.regex(built.buildLog, /node_modules\/\.bin\/tsc -p \./);
    t.regex(built.buildLog, /^\+ \S*make install DESTDIR=\S+ INSTALL=\S+ -p PREFIX=\/usr$/m);

    // rpmlint: no errors (the rc filters exactly three, each said why); only the warnings we know.
    const lint = spawnSync('rpmlint', ['-r', RPMLINTRC, built.rpm], { encoding: 'utf8' });
    t.regex(lint.stdout, / 0 errors, \d+ warnings/, lint.stdout);
    const warnings = [...lint.stdout.matchAll(/: W: (\S+)/g)].map((m) => m[1] ?? '');
    for (const w of warnings) t.true(KNOWN_WARNINGS.includes(w), `unexplained rpmlint warning ${w}:\n${lint.stdout}`);
    t.is([...readFileSync(RPMLINTRC, 'utf8').matchAll(/^addFilter\(r"shared-interface\\\.\\S\+: E: ([a-z-]+)"\)$/gm)].map((m) => m[1]).join(' '),
      'no-signature no-packager-tag no-group-tag');
    t.is(readFileSync(RPMLINTRC, 'utf8').match(/^addFilter/gm)?.length, 3, 'nothing else filtered');

    // What it needs and what it says about itself.
    const requires = rpm(['-qp', '--requires', built.rpm]);
    for (const r of ['nodejs >= 1:20', 'NetworkManager', 'polkit']) t.true(requires.split('\n').includes(r), `Requires: ${r}`);
    const scripts = rpm(['-qp', '--scripts', built.rpm]);
    t.regex(scripts, /postinstall scriptlet[\s\S]*systemd-update-helper install-system-units shared-interface\.service/);
    t.regex(scripts, /preuninstall scriptlet[\s\S]*systemd-update-helper remove-system-units shared-interface\.service/);
    t.regex(scripts, /postuninstall scriptlet[\s\S]*systemd-update-helper mark-restart-system-units shared-interface\.service/);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    t.is(rpm(['-qp', '--qf', '%{VERSION}', built.rpm]), pkg.version, 'the spec and package.json give one version');

    // Installed into a scratch root (no scripts: the root has no /bin/sh to run them with).
    // Fedora's database location (Debian's rpm would use ~/.rpmdb), inside the root like every path.
    const db = ['--root', root, '--dbpath', '/var/lib/rpm'];
    execFileSync('rpm', [...db, '--initdb']);
    execFileSync('rpm', [...db, '-i', '--nodeps', '--nosignature', '--noscripts', built.rpm], { stdio: 'pipe' });
    t.is(rpm([...db, '-q', 'shared-interface']).trim(), built.rpm.split('/').pop()?.replace(/\.rpm$/, '') ?? '');
    const fromRpm = filesUnder(root).filter((f) => !f.startsWith('/var/lib/rpm/')).sort();
    // Where Fedora expects each file (the INSTALLED table, which the README's install table also pins).
    for (const path of Object.values(INSTALLED)) {
      const expected = path.startsWith('/usr/share/man/') ? `${path}.gz` : path;
      t.true(path.endsWith('/') || path === INSTALLED.appDir ? existsSync(join(root, path)) : fromRpm.includes(expected), `${expected} in the RPM`);
    }
    t.true(fromRpm.some((f) => /^\/usr\/share\/licenses\/shared-interface[^/]*\/COPYING$/.test(f)), '%license COPYING');
    t.true(fromRpm.some((f) => /^\/usr\/share\/doc\/shared-interface[^/]*\/README\.md$/.test(f)), '%doc README.md');
    for (const f of [INSTALLED.cli, INSTALLED.daemon]) t.is(statSync(join(root, f)).mode & 0o777, 0o755, f);

    // Exactly what make install installs (man pages gzipped; %license and %doc besides).
    execFileSync('make', ['-C', REPO_ROOT, '--no-print-directory', '-s', 'install', `DESTDIR=${destdir}`, 'PREFIX=/usr'], { stdio: 'pipe' });
    const fromMake = filesUnder(destdir).map((f) => (f.startsWith('/usr/share/man/') ? `${f}.gz` : f)).sort();
    t.deepEqual(fromRpm.filter((f) => !/^\/usr\/share\/(licenses|doc)\//.test(f)), fromMake);
  } finally {
    for (const dir of [built.dir, root, destdir]) rmSync(dir, { recursive: true, force: true });
  }
});

test('the spec declares exactly what esbuild bundles, at the lockfile\'s versions', (t) => {
  const spec = readFileSync(SPEC, 'utf8');
  const declared = new Map([...spec.matchAll(/^Provides:\s+bundled\(npm\((\S+)\)\) = (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
  const dir = mkdtempSync(join(tmpdir(), 'shared-interface-bundle.'));
  try {
    const bundled = new Set<string>();
    for (const program of readdirSync(join(REPO_ROOT, 'bin'))) {
      const meta = join(dir, `${program}.json`);
      execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'), [join(REPO_ROOT, 'bin', program), '--bundle', '--platform=node', '--target=node20',
        '--log-level=error', `--metafile=${meta}`, `--outfile=${join(dir, program)}`]);
      for (const input of Object.keys((JSON.parse(readFileSync(meta, 'utf8')) as { inputs: Record<string, unknown> }).inputs)) {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
        if (m?.[1] !== undefined) bundled.add(m[1]);
      }
    }
    // The Cockpit page bundles PatternFly's CSS (cockpit/build.mjs).
    bundled.add('@patternfly/patternfly');
    t.deepEqual([...declared.keys()].sort(), [...bundled].sort());
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    for (const [name, version] of declared) t.is(version, lock.packages[`node_modules/${name}`]?.version ?? '', name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
