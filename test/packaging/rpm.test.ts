// SPDX-License-Identifier: GPL-2.0-or-later
// The RPM: built from `make dist` by rpmbuild (the spec's %build runs the TypeScript build, its
// %install is `make install`), clean for rpmlint, installed with `rpm -i --root` into a scratch
// directory with every file where Fedora expects it and exactly what `make install` installs.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { INSTALLED } from '../lab/lab-install';
import { Lab, REPO_ROOT, waitFor } from '../lab/lab';
import { buildRpm, rpm, RPMLINTRC, SPEC, type BuiltRpm } from './rpm-build';
import { SystemdContainer } from './systemd-container';

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

// One build for both tests.
let building: Promise<BuiltRpm> | undefined;
const builtRpm = () => (building ??= Promise.resolve().then(() => buildRpm(tmpdir())));
test.after.always(async () => {
  if (building !== undefined) rmSync((await building).dir, { recursive: true, force: true });
});

test('the RPM builds from make dist, passes rpmlint, and installs where Fedora expects, exactly what make install installs', async (t) => {
  const built = await builtRpm();
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
    for (const dir of [root, destdir]) rmSync(dir, { recursive: true, force: true });
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

interface JournalEntry { PRIORITY?: string; MESSAGE?: string }

test('the unit under a real systemd: activated by the first call, Share and Unshare in its sandbox, a rollback is a warning in the journal, idle exit, restart after SIGKILL, a leftover change record finished through the path unit', async (t) => {
  const built = await builtRpm();
  // NetworkManager and the bus are the container's own; the lab only gives it a LAN with DHCP.
  const lab = await Lab.start({ networkManager: false, nicProfile: 'none' });
  let container: SystemdContainer | undefined;
  try {
    // The lab has a /tmp of its own; its directory is what it sees of the host's.
    const pkgDir = join(lab.dir, 'pkg');
    mkdirSync(pkgDir);
    copyFileSync(built.rpm, join(pkgDir, basename(built.rpm)));
    container = await SystemdContainer.boot(lab, pkgDir);
    const c = container;
    t.is((await c.sh('systemctl is-enabled systemd-networkd.service || true')).trim(), 'masked-runtime');
    // Installed as on Fedora. Its scriptlets call Fedora's systemd-update-helper, which Debian's
    // systemd lacks (they are no-ops here), so the reloads they would cause are done by hand.
    await c.sh(`rpm -i --nodeps --nosignature /run/si-pkg/${basename(built.rpm)} 2>/dev/null; systemctl daemon-reload`);
    t.regex(await c.sh('rpm -q shared-interface'), /^shared-interface-0\.1\.0-1\.noarch$/m);
    // What an administrator's drop-in would change: a short idle timeout, debug lines.
    await c.sh(`mkdir -p /run/systemd/system/shared-interface.service.d
      printf '[Service]\\nExecStart=\\nExecStart=/usr/libexec/shared-interfaced --idle-timeout 5 --log-level=debug\\n' >/run/systemd/system/shared-interface.service.d/50-test.conf
      systemctl daemon-reload`);
    await c.sh('nmcli connection add type ethernet ifname eth0 con-name lab-eth0 >/dev/null; nmcli --wait 60 connection up lab-eth0 >/dev/null');
    const state = async () => Object.fromEntries((await c.sh('systemctl show -p ActiveState,MainPID,NRestarts shared-interface.service')).trim().split('\n').map((l) => l.split('=') as [string, string]));
    t.like(await state(), { ActiveState: 'inactive' });

    // The first call: dbus-daemon asks systemd for SystemdService=shared-interface.service.
    t.is(await c.sh('busctl get-property org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface Version'), 's "0.1.0"\n');
    t.like(await state(), { ActiveState: 'active', NRestarts: '0' });
    t.regex(await c.sh('journalctl -b -o cat _PID=1'), /Started shared-interface\.service/);

    // Share and Unshare through the installed CLI, the daemon in the unit's sandbox.
    const journal = () => c.sh('journalctl -b -u shared-interface.service -o cat --no-pager');
    const share = await c.exec('shared-interface share eth0');
    t.is(share.code, 0, `${share.stderr}\n${await journal()}`);
    t.regex(await c.sh('ip -o link show eth0'), /master br-eth0/);
    const unshare = await c.exec('shared-interface unshare eth0');
    t.is(unshare.code, 0, `${unshare.stderr}\n${await journal()}`);
    t.notRegex(await c.sh('ip -o link show eth0'), /master/);

    // A change that cannot be verified (the LAN's DHCP server stops answering: the bridge gets no
    // lease) rolls back: exit 4, and a warning in the journal.
    await lab.sh(`kill -STOP "$(cat ${lab.dir}/dnsmasq.pid)"`);
    const rolledBack = await c.exec('shared-interface share eth0 --rollback-timeout=22');
    await lab.sh(`kill -CONT "$(cat ${lab.dir}/dnsmasq.pid)"`);
    t.is(rolledBack.code, 4, rolledBack.stderr);

    // The journal has each line's priority from its <N> prefix, and the prefix stripped.
    const entries = (await c.sh('journalctl -b -u shared-interface.service -o json --output-fields=PRIORITY,MESSAGE --no-pager')).trim().split('\n')
      .map((l) => JSON.parse(l) as JournalEntry);
    const priorityOf = (pattern: RegExp) => entries.find((e) => pattern.test(e.MESSAGE ?? ''))?.PRIORITY;
    t.is(priorityOf(/^shared-interfaced 0\.1\.0 ready on /), '6');
    t.is(priorityOf(/^options: /), '7');
    t.is(priorityOf(/failed, rolling back/), '4');
    t.false(entries.some((e) => /^<\d>/.test(e.MESSAGE ?? '')), 'no prefix left in a message');
    const warnings = await c.sh('journalctl -b -u shared-interface.service -p warning -o cat --no-pager');
    t.regex(warnings, /rolling back/);
    t.notRegex(warnings, /ready on/);

    // Idle: the daemon exits and systemd shows the unit inactive.
    await waitFor('the idle exit', async () => ((await state())['ActiveState'] === 'inactive' ? true : undefined), 60_000);
    const status = await c.exec('systemctl status shared-interface.service --no-pager');
    t.is(status.code, 3, status.stdout);
    t.regex(status.stdout, /Active: inactive \(dead\)/);

    // SIGKILL: Restart=on-failure starts it again.
    await c.sh('busctl get-property org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface Version >/dev/null');
    const before = await state();
    t.like(before, { ActiveState: 'active' });
    await c.sh(`kill -KILL ${before['MainPID'] ?? ''}`);
    const after = await waitFor('the restart', async () => {
      const now = await state();
      return now['NRestarts'] === '1' && now['ActiveState'] === 'active' && now['MainPID'] !== before['MainPID'] ? now : undefined;
    }, 60_000);
    t.not(after['MainPID'], '0');
    t.regex(await c.sh('journalctl -b -o cat _PID=1'), /shared-interface\.service: Main process exited, code=killed, status=9\/KILL/);

    // A change record left over (as a crash or a reboot in a confirm window leaves it) while the
    // daemon is stopped: the path unit, which paths.target starts at boot, starts the daemon, and
    // the daemon finishes the record: the profile it names is deleted, eth0 stays on its own.
    await c.sh('systemctl stop shared-interface.service; systemctl start shared-interface-recovery.path');
    const leftover = (await c.sh("nmcli connection add type bridge ifname br-eth0 con-name 'br-eth0 (shares eth0)' save no autoconnect no >/dev/null; nmcli -g connection.uuid connection show 'br-eth0 (shares eth0)'")).trim();
    const record = {
      version: 1, operation: 'share', nic: 'eth0', bridge: 'br-eth0', state: 'awaiting-confirmation', deadline: Date.now() + 60_000, checkpoint: '',
      original: (await c.sh('nmcli -g connection.uuid connection show lab-eth0')).trim(), addressesOn: 'eth0',
      addresses: (JSON.parse(await c.sh('ip -4 -j addr show dev eth0')) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>)
        .flatMap((link) => link.addr_info.map((a) => `${a.local}/${a.prefixlen}`)),
      added: [leftover], persist: true,
    };
    await c.sh(`mkdir -p -m 0700 /var/lib/shared-interface/nm-changes && printf '%s' '${JSON.stringify(record)}' >/var/lib/shared-interface/nm-changes/.eth0.tmp && mv /var/lib/shared-interface/nm-changes/.eth0.tmp /var/lib/shared-interface/nm-changes/eth0.json`);
    await waitFor('the record finished by the daemon the path unit started', async () => {
      const done = (await c.exec('test -e /var/lib/shared-interface/nm-changes/eth0.json')).code !== 0;
      return done && (await journal()).includes('audit: recovery share eth0 through br-eth0: rolled back and verified') ? true : undefined;
    }, 60_000);
    t.regex(await c.sh('journalctl -b -o cat _PID=1'), /shared-interface-recovery\.path|Started shared-interface\.service/);
    t.is((await c.exec(`nmcli connection show ${leftover}`)).code, 10, 'the profile the record named is gone');
    t.regex(await c.sh('nmcli -t -f NAME,DEVICE connection show --active'), /^lab-eth0:eth0$/m);
  } finally {
    await container?.stop();
    await lab.stop();
  }
});
