// SPDX-License-Identifier: GPL-2.0-or-later
// The RPMs: built from the release tarball alone by rpmbuild, offline and without node_modules or
// esbuild (rpm-build.ts), clean for rpmlint, installed with `rpm -i --root` into a scratch
// directory with every file where Fedora expects it and exactly what `make install` installs; then
// installed into a booted systemd, sharing a NIC, and removed with the share left working.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { INSTALLED } from '../lab/lab-install';
import { Lab, REPO_ROOT, waitFor } from '../lab/lab';
import { buildRpm, rpm, rpmName, RPMLINTRC, SPEC, type BuiltRpm } from './rpm-build';
import { SystemdContainer } from './systemd-container';

function filesUnder(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(root, path) : [`/${relative(root, path)}`];
  });
}

/** The warnings the rpmlintrc explains (`# W: name: why`): the only ones rpmlint may give. */
const EXPLAINED_WARNINGS = [...readFileSync(RPMLINTRC, 'utf8').matchAll(/^# W: ([a-z-]+): \S/gm)].map((m) => m[1] ?? '');

// One build for all tests.
let building: Promise<BuiltRpm> | undefined;
const builtRpm = () => (building ??= buildRpm(tmpdir()));
test.after.always(async () => {
  if (building !== undefined) rmSync((await building.catch(() => ({ dir: '' }))).dir || '/nonexistent', { recursive: true, force: true });
});

test('the RPMs build from the release tarball alone (offline, no node_modules, no esbuild), pass rpmlint, and install where Fedora expects exactly what make install installs', async (t) => {
  const built = await builtRpm();
  const root = mkdtempSync(join(tmpdir(), 'shared-interface-rpmroot.'));
  const destdir = mkdtempSync(join(tmpdir(), 'shared-interface-install.'));
  try {
    for (const f of [built.rpm, built.cockpitRpm]) t.log(`${basename(f)}: ${statSync(f).size} bytes`);
    // Built where nothing could be fetched or found: no route out, no node_modules on PATH, the
    // checkout hidden; %build ran no tsc and no esbuild, and %check ran the bundles.
    t.is(built.preamble, 'route out: RTNETLINK answers: Network is unreachable\ncheckout: 0 entries\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n');
    t.notRegex(built.buildLog, /node_modules|esbuild|\btsc\b/);
    t.regex(built.buildLog, /^\+ \S*make -O -j\d+ V=1 VERBOSE=1$|^\+ \/usr\/bin\/make -O -j\d+/m);
    t.regex(built.buildLog, /^\+ \S*make install DESTDIR=\S+ INSTALL=\S+ -p PREFIX=\/usr$/m);
    t.regex(built.buildLog, /^\+ node dist\/bundle\/shared-interfaced --version$/m);
    const listing = execFileSync('tar', ['-tzf', built.tarball], { encoding: 'utf8' }).split('\n');
    t.false(listing.some((f) => /node_modules|esbuild/.test(f)), 'no node_modules or esbuild in the tarball');
    for (const f of ['package-lock.json', 'src/main.ts', 'cockpit/src/index.ts', 'dist/bundle/shared-interfaced', 'dist/cockpit-page/index.js',
      'dist/generated/shared-interfaced.8', 'dist/generated/shared-interface.bash', 'dist/licenses/bundled.json']) {
      t.true(listing.includes(`shared-interface-0.1.0/${f}`), `${f} in the tarball`);
    }

    // rpmlint: no errors (the rc filters exactly three, each said why); only the warnings it explains.
    const lint = spawnSync('rpmlint', ['-r', RPMLINTRC, built.rpm, built.cockpitRpm], { encoding: 'utf8' });
    t.regex(lint.stdout, / 0 errors, \d+ warnings/, lint.stdout);
    for (const w of [...lint.stdout.matchAll(/: W: (\S+)/g)].map((m) => m[1] ?? '')) {
      t.true(EXPLAINED_WARNINGS.includes(w), `rpmlint warning ${w} is not explained in the rpmlintrc:\n${lint.stdout}`);
    }
    t.is([...readFileSync(RPMLINTRC, 'utf8').matchAll(/^addFilter\(r"shared-interface\(-cockpit\)\?\\\.\\S\+: E: ([a-z-]+)"\)$/gm)].map((m) => m[1]).join(' '),
      'no-signature no-packager-tag no-group-tag');
    t.is(readFileSync(RPMLINTRC, 'utf8').match(/^addFilter/gm)?.length, 3, 'nothing else filtered');

    // What each needs and what it says about itself.
    const requires = rpm(['-qp', '--requires', built.rpm]).split('\n');
    for (const r of ['nodejs >= 1:20', '(NetworkManager or network-scripts)', 'polkit']) t.true(requires.includes(r), `Requires: ${r}`);
    t.false(requires.includes('NetworkManager'), 'NetworkManager alone is not required: the ifcfg fallback serves without it');
    const cockpitRequires = rpm(['-qp', '--requires', built.cockpitRpm]).split('\n');
    for (const r of ['cockpit-bridge', 'shared-interface = 0.1.0-1']) t.true(cockpitRequires.includes(r), `cockpit Requires: ${r}`);
    t.regex(rpm(['-qp', '--qf', '%{URL}', built.rpm]), /^https:\/\/\S+$/);
    t.regex(readFileSync(SPEC, 'utf8'), /^Source0: +%\{url\}\/\S+\/%\{name\}-%\{version\}\.tar\.gz$/m, 'Source0 is a URL');
    const scripts = rpm(['-qp', '--scripts', built.rpm]);
    t.regex(scripts, /postinstall scriptlet[\s\S]*systemd-update-helper install-system-units shared-interface\.service/);
    t.regex(scripts, /preuninstall scriptlet[\s\S]*systemd-update-helper remove-system-units shared-interface\.service/);
    t.regex(scripts, /preuninstall scriptlet[\s\S]*these shares stay and keep working/);
    // Upgrades reload systemd but restart nothing: a restart would roll back a change awaiting Confirm.
    t.regex(scripts, /postuninstall scriptlet[\s\S]*systemd-update-helper system-reload/);
    t.notRegex(scripts, /mark-restart-system-units|try-restart/);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    t.is(rpm(['-qp', '--qf', '%{VERSION}', built.rpm]), pkg.version, 'the spec and package.json give one version');

    // Installed into a scratch root (no scripts: the root has no /bin/sh to run them with).
    // Fedora's database location (Debian's rpm would use ~/.rpmdb), inside the root like every path.
    const db = ['--root', root, '--dbpath', '/var/lib/rpm'];
    execFileSync('rpm', [...db, '--initdb']);
    execFileSync('rpm', [...db, '-i', '--nodeps', '--nosignature', '--noscripts', built.rpm, built.cockpitRpm], { stdio: 'pipe' });
    t.is(rpm([...db, '-q', 'shared-interface', 'shared-interface-cockpit']).trim(), `${rpmName(built.rpm)}\n${rpmName(built.cockpitRpm)}`);
    const fromRpm = filesUnder(root).filter((f) => !f.startsWith('/var/lib/rpm/')).sort();
    // Where Fedora expects each file (the INSTALLED table, which the README's install table also pins).
    for (const path of Object.values(INSTALLED)) {
      const expected = path.startsWith('/usr/share/man/') ? `${path}.gz` : path;
      t.true(path.endsWith('/') || path === INSTALLED.appDir ? existsSync(join(root, path)) : fromRpm.includes(expected), `${expected} in the RPM`);
    }
    // The Cockpit page is the subpackage's, and only its.
    const cockpitFiles = rpm(['-qlp', built.cockpitRpm]).split('\n');
    t.true(cockpitFiles.includes(INSTALLED.cockpitScript));
    t.false(rpm(['-qlp', built.rpm]).includes('/usr/share/cockpit/'), 'no Cockpit file in the base package');
    for (const [name, lic] of [['shared-interface', 'COPYING'], ['shared-interface', 'saxes/LICENSE'], ['shared-interface', 'xmlchars/LICENSE'], ['shared-interface-cockpit', 'COPYING'], ['shared-interface-cockpit', '@patternfly/patternfly/LICENSE']] as const) {
      t.true(fromRpm.some((f) => f.startsWith(`/usr/share/licenses/${name}`) && f.endsWith(`/${lic}`) && !f.slice(`/usr/share/licenses/${name}`.length).startsWith('-cockpit')),
        `%license ${lic} in ${name}`);
    }
    t.true(fromRpm.some((f) => /^\/usr\/share\/doc\/shared-interface[^/]*\/packaging\.md$/.test(f)), '%doc docs/packaging.md');
    for (const f of [INSTALLED.cli, INSTALLED.daemon]) t.is(statSync(join(root, f)).mode & 0o777, 0o755, f);

    // Exactly what make install installs (man pages gzipped; %license and %doc besides).
    execFileSync('make', ['-C', REPO_ROOT, '--no-print-directory', '-s', 'install', `DESTDIR=${destdir}`, 'PREFIX=/usr'], { stdio: 'pipe' });
    const fromMake = filesUnder(destdir).map((f) => (f.startsWith('/usr/share/man/') ? `${f}.gz` : f)).sort();
    t.deepEqual(fromRpm.filter((f) => !/^\/usr\/share\/(licenses|doc)\//.test(f)), fromMake);
  } finally {
    for (const dir of [root, destdir]) rmSync(dir, { recursive: true, force: true });
  }
});

test('each RPM declares exactly the npm packages esbuild bundled into it (its metafiles), at the lockfile\'s versions', async (t) => {
  const built = await builtRpm();
  const bundled = JSON.parse(execFileSync('tar', ['-xzOf', built.tarball, 'shared-interface-0.1.0/dist/licenses/bundled.json'], { encoding: 'utf8' })) as
    { name: string; version: string; part: 'programs' | 'cockpit' }[];
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  for (const p of bundled) t.is(p.version, lock.packages[`node_modules/${p.name}`]?.version ?? '', p.name);
  const provides = (file: string) => rpm(['-qp', '--provides', file]).split('\n').filter((l) => l.startsWith('bundled(')).sort();
  const expected = (part: string) => bundled.filter((p) => p.part === part).map((p) => `bundled(npm(${p.name})) = ${p.version}`).sort();
  t.deepEqual(provides(built.rpm), expected('programs'));
  t.deepEqual(provides(built.cockpitRpm), expected('cockpit'));
  t.deepEqual(expected('programs').map((p) => /npm\((\S+)\)\)/.exec(p)?.[1]), ['saxes', 'xmlchars'], 'what the programs hold');
  t.deepEqual(expected('cockpit'), ['bundled(npm(@patternfly/patternfly)) = 6.6.1']);
  // The spec in the checkout is the one built.
  t.is(execFileSync('tar', ['-xzOf', built.tarball, 'shared-interface-0.1.0/packaging/shared-interface.spec'], { encoding: 'utf8' }), readFileSync(SPEC, 'utf8'));
});

interface JournalEntry { PRIORITY?: string; MESSAGE?: string }

test('the unit under a real systemd: activated by the first call, Share and Unshare in its sandbox, a rollback is a warning in the journal, idle exit, restart after SIGKILL, a leftover change record finished through the path unit; removing the package leaves a share working, says so, and nmcli undoes it', async (t) => {
  const built = await builtRpm();
  // NetworkManager and the bus are the container's own; the lab only gives it a LAN with DHCP.
  const lab = await Lab.start({ networkManager: false, nicProfile: 'none' });
  let container: SystemdContainer | undefined;
  try {
    // The lab has a /tmp of its own; its directory is what it sees of the host's.
    const pkgDir = join(lab.dir, 'pkg');
    mkdirSync(pkgDir);
    for (const f of [built.rpm, built.cockpitRpm]) copyFileSync(f, join(pkgDir, basename(f)));
    container = await SystemdContainer.boot(lab, pkgDir);
    const c = container;
    t.is((await c.sh('systemctl is-enabled systemd-networkd.service || true')).trim(), 'masked-runtime');
    // Installed as on Fedora. Its scriptlets call Fedora's systemd-update-helper, which Debian's
    // systemd lacks (they are no-ops here), so the reloads they would cause are done by hand.
    await c.sh(`rpm -i --nodeps --nosignature /run/si-pkg/${basename(built.rpm)} /run/si-pkg/${basename(built.cockpitRpm)} 2>/dev/null; systemctl daemon-reload`);
    t.regex(await c.sh('rpm -q shared-interface shared-interface-cockpit'), /^shared-interface-0\.1\.0-1\.noarch\nshared-interface-cockpit-0\.1\.0-1\.noarch$/m);
    // What an administrator's drop-in would change: a short idle timeout, debug lines.
    await c.sh(`mkdir -p /run/systemd/system/shared-interface.service.d
      printf '[Service]\\nExecStart=\\nExecStart=/usr/libexec/shared-interfaced --idle-timeout 5 --log-level=debug\\n' >/run/systemd/system/shared-interface.service.d/50-test.conf
      systemctl daemon-reload`);
    await c.sh('nmcli connection add type ethernet ifname eth0 con-name lab-eth0 >/dev/null; nmcli --wait 60 connection up lab-eth0 >/dev/null');
    const state = async () => Object.fromEntries((await c.sh('systemctl show -p ActiveState,MainPID,NRestarts shared-interface.service')).trim().split('\n').map((l) => l.split('=') as [string, string]));
    t.like(await state(), { ActiveState: 'inactive' });
    t.is(await c.sh('systemctl show -p Documentation --value shared-interface.service'),
      '"man:shared-interfaced(8)" "man:shared-interface(1)" "man:org.fedoraproject.SharedInterface(5)"\n');

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

    // Removal: the share stays (NetworkManager's profiles), and %preun says so and what goes.
    t.is((await c.exec('shared-interface share eth0')).code, 0);
    const erase = await c.exec('rpm -e --nodeps shared-interface-cockpit shared-interface');
    t.is(erase.code, 0, erase.stderr);
    t.regex(erase.stderr, /shared-interface: these shares stay and keep working after removal:\n {2}\/etc\/NetworkManager\/system-connections\/br-eth0[^\n]*\.nmconnection\n/);
    t.regex(erase.stderr, /FORWARD chain drops traffic,\n.*lose forwarding at the next boot/);
    t.is((await c.exec('test -e /usr/bin/shared-interface')).code, 1, 'the package is gone');
    t.regex(await c.sh('ip -o link show eth0'), /master br-eth0/);
    // Undone by hand, with docs/packaging.md's commands.
    await c.sh('nmcli connection delete "br-eth0 (shares eth0)" "eth0 (port of br-eth0)" >/dev/null; nmcli --wait 60 device connect eth0 >/dev/null');
    t.notRegex(await c.sh('ip -o link show eth0'), /master/);
    t.is((await c.exec('ip link show br-eth0')).code, 1, 'no bridge left');
  } finally {
    await container?.stop();
    await lab.stop();
  }
});
