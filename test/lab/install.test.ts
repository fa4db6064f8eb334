// SPDX-License-Identifier: GPL-2.0-or-later
// `make install` as a packager runs it (into a DESTDIR, outside any lab: it only writes there),
// and the installed files at work inside a lab whose /usr and /etc are overlays.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BUS_NAME } from '../../src/service/shared-interface-spec';
import { Lab, REPO_ROOT } from './lab';
import { asUser, busDriver, callAs, DAEMON_NODE_FLAGS, installIntoLab, INSTALLED, NOBODY } from './lab-install';

/** The "installed as" column of the install table in docs/installing.md (PREFIX=/usr). */
function documentedLocations(): string[] {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'installing.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Installing'));
  if (section === undefined) throw new Error('docs/installing.md has no "Installing" section');
  return [...section.matchAll(/^\|.*\| `(\/usr\/[^`]+)` \|$/gm)].map((m) => m[1] ?? '');
}

function filesUnder(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(root, path) : [`/${relative(root, path)}`];
  });
}

function makeInstall(destdir: string, variables: readonly string[] = []): void {
  // -o: never rebuild here; the tests run what tsc built before them.
  execFileSync('make', ['-C', REPO_ROOT, '--no-print-directory', '-o', 'dist/src/main.js', '-o', 'dist/cockpit-page/index.js', 'install', `DESTDIR=${destdir}`, ...variables], { stdio: 'pipe' });
}

/** key → values of a unit or .service file (keys may repeat). */
function iniValues(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) values.set(m[1], [...(values.get(m[1]) ?? []), m[2] ?? '']);
  }
  return values;
}

test('make install DESTDIR= PREFIX=/usr puts every file where docs/installing.md says, and nothing else', (t) => {
  const destdir = mkdtempSync(join(tmpdir(), 'shared-interface-install.'));
  try {
    makeInstall(destdir, ['PREFIX=/usr']);
    const documented = documentedLocations();
    t.deepEqual(documented.sort(), Object.values(INSTALLED).map((p) => (p === INSTALLED.appDir ? `${p}/` : p)).sort(), 'docs/installing.md and the tests name the same places');
    const installed = filesUnder(destdir);
    const outsideApp = installed.filter((f) => !f.startsWith(`${INSTALLED.appDir}/`)).sort();
    t.deepEqual(outsideApp, documented.filter((p) => !p.endsWith('/')).sort());

    // Copied verbatim: the policy, the bus policy, the introspection XML.
    const same = (installedPath: string, source: string) => t.is(readFileSync(join(destdir, installedPath), 'utf8'), readFileSync(join(REPO_ROOT, source), 'utf8'), installedPath);
    same(INSTALLED.policy, `polkit/${BUS_NAME}.policy`);
    same(INSTALLED.busPolicy, `dbus-services/${BUS_NAME}.conf`);
    same(INSTALLED.introspection, `introspection/${BUS_NAME}.xml`);

    // The templates, filled in; the daemon and CLI run the system's node on the installed app.
    const activation = iniValues(readFileSync(join(destdir, INSTALLED.activation), 'utf8'));
    t.deepEqual(activation.get('Name'), [BUS_NAME]);
    t.deepEqual(activation.get('Exec'), [`${INSTALLED.daemon} --idle-timeout 120`]);
    t.deepEqual(activation.get('User'), ['root']);
    t.deepEqual(activation.get('SystemdService'), ['shared-interface.service']);
    const unit = iniValues(readFileSync(join(destdir, INSTALLED.unit), 'utf8'));
    t.deepEqual(unit.get('ExecStart'), activation.get('Exec'), 'systemd and the launch helper start the daemon the same way');
    for (const f of installed) t.notRegex(readFileSync(join(destdir, f), 'latin1').slice(0, 100_000), /@(libexecdir|idle_timeout)@/, f);
    t.is(readFileSync(join(destdir, INSTALLED.daemon), 'utf8'), `#!/bin/sh\nexec /usr/bin/node ${DAEMON_NODE_FLAGS} ${INSTALLED.appDir}/bin/shared-interfaced "$@"\n`);
    t.is(readFileSync(join(destdir, INSTALLED.cli), 'utf8'), `#!/bin/sh\nexec /usr/bin/node ${INSTALLED.appDir}/bin/shared-interface "$@"\n`);
    t.is(readFileSync(join(destdir, INSTALLED.firewallHook), 'utf8'), `#!/bin/sh\nexec /usr/bin/node ${INSTALLED.appDir}/bin/shared-interface-firewall "$@"\n`);
    t.is(readFileSync(join(destdir, INSTALLED.routedAgent), 'utf8'), `#!/bin/sh\nexec /usr/bin/node ${INSTALLED.appDir}/bin/shared-interface-routed "$@"\n`);
    t.regex(iniValues(readFileSync(join(destdir, INSTALLED.routedUnit), 'utf8')).get('ExecStart')?.[0] ?? '', new RegExp(`^${INSTALLED.routedAgent} --uplink=%I `));
    t.regex(readFileSync(join(destdir, INSTALLED.nmDispatcher), 'utf8'), new RegExp(`\nexec ${INSTALLED.firewallHook} "\\$action" "\\$iface" "\\$@"\n`));
    t.is(readFileSync(join(destdir, INSTALLED.ifupLocal), 'utf8'), readFileSync(join(destdir, INSTALLED.ifdownLocal), 'utf8'));
    const executables: readonly string[] = [INSTALLED.daemon, INSTALLED.cli, INSTALLED.firewallHook, INSTALLED.routedAgent, INSTALLED.nmDispatcher, INSTALLED.ifupLocal, INSTALLED.ifdownLocal];
    for (const f of executables) t.is(statSync(join(destdir, f)).mode & 0o777, 0o755, f);
    for (const f of outsideApp.filter((f) => !executables.includes(f))) t.is(statSync(join(destdir, f)).mode & 0o777, 0o644, f);

    // The app: one bundle per program in bin/ (its code and production dependencies), nothing else.
    const app = installed.filter((f) => f.startsWith(`${INSTALLED.appDir}/`)).sort();
    t.deepEqual(app, readdirSync(join(REPO_ROOT, 'bin')).map((p) => `${INSTALLED.appDir}/bin/${p}`).sort());
    for (const f of app) {
      const text = readFileSync(join(destdir, f), 'utf8');
      t.false(text.startsWith('#!'), `${f}: run by its wrapper, no #! line`);
      t.notRegex(text, /\brequire\("(\.\.?\/|@particle|saxes)/, `${f}: everything bundled`);
      t.is(statSync(join(destdir, f)).mode & 0o777, 0o644, f);
    }
    t.is(execFileSync('node', [join(destdir, INSTALLED.appDir, 'bin', 'shared-interfaced'), '--version'], { encoding: 'utf8' }), 'shared-interfaced 0.1.0\n');
  } finally {
    rmSync(destdir, { recursive: true, force: true });
  }
});

test('make install honours PREFIX and IDLE_TIMEOUT', (t) => {
  const destdir = mkdtempSync(join(tmpdir(), 'shared-interface-install.'));
  try {
    makeInstall(destdir, ['PREFIX=/usr/local', 'IDLE_TIMEOUT=30']);
    const expected = documentedLocations().map((p) => p.replace(/^\/usr\//, '/usr/local/'));
    for (const p of expected) t.true(existsSync(join(destdir, p)), `${p} installed`);
    t.false(existsSync(join(destdir, 'usr/share')), 'nothing outside PREFIX');
    const activation = iniValues(readFileSync(join(destdir, `/usr/local/share/dbus-1/system-services/${BUS_NAME}.service`), 'utf8'));
    t.deepEqual(activation.get('Exec'), ['/usr/local/libexec/shared-interfaced --idle-timeout 30']);
    t.true(readFileSync(join(destdir, '/usr/local/libexec/shared-interfaced'), 'utf8').includes(`exec /usr/bin/node ${DAEMON_NODE_FLAGS} /usr/local/share/shared-interface/bin/shared-interfaced "$@"`));
  } finally {
    rmSync(destdir, { recursive: true, force: true });
  }
});

test('the installed unit passes systemd-analyze verify and carries the hardening; the installed CLI works', async (t) => {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false, nicProfile: 'none' });
  try {
    await installIntoLab(lab);
    const unit = iniValues(await lab.sh(`cat ${INSTALLED.unit}`));
    const one = (key: string) => unit.get(key)?.join(' ');
    t.is(one('Type'), 'dbus');
    t.is(one('BusName'), BUS_NAME);
    t.is(one('CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_NET_RAW');
    t.is(one('RestrictAddressFamilies'), 'AF_UNIX AF_NETLINK AF_INET AF_INET6 AF_PACKET');
    t.is(one('ProtectSystem'), 'strict');
    t.is(one('ReadWritePaths'), '-/etc/sysconfig/network-scripts -/run/xtables.lock');
    t.is(one('StateDirectory'), 'shared-interface');
    // Bounds whatever a caller sends.
    t.is(one('MemoryMax'), '256M');
    t.is(one('TasksMax'), '64');
    for (const key of ['ProtectHome', 'PrivateTmp', 'NoNewPrivileges', 'PrivateDevices', 'ProtectKernelModules', 'ProtectControlGroups', 'RestrictNamespaces', 'RestrictSUIDSGID', 'LockPersonality']) {
      t.is(one(key), 'yes', key);
    }

    const analyze = await lab.exec(['sh', '-c', 'command -v systemd-analyze'], { allowFailure: true });
    if (analyze.code !== 0) {
      t.log('SKIPPED: systemd-analyze is not installed here; the unit was not verified');
    } else {
      const verify = await lab.exec(['systemd-analyze', 'verify', INSTALLED.unit], { allowFailure: true });
      t.is(verify.code, 0, verify.stderr);
      t.is(verify.stderr.trim(), '', 'no warnings');
      // The path unit that runs the daemon while a change record exists, enabled statically.
      const recovery = await lab.exec(['systemd-analyze', 'verify', INSTALLED.recoveryPath], { allowFailure: true });
      t.is(recovery.code, 0, recovery.stderr);
      t.is(recovery.stderr.trim(), '', 'no warnings');
      t.is(await lab.sh(`readlink ${INSTALLED.recoveryPathWants}`), '../shared-interface-recovery.path\n');
      const security = await lab.exec(['systemd-analyze', 'security', '--offline=true', INSTALLED.unit], { allowFailure: true });
      const exposure = /Overall exposure level for shared-interface\.service: ([\d.]+)/.exec(security.stdout)?.[1];
      t.log(`systemd-analyze security: exposure ${exposure ?? '?'} (hostnamed: 1.5, NetworkManager: 8.0 on Debian 12)`);
      t.true(Number(exposure) <= 3.0, `exposure ${exposure ?? '?'}`);
    }

    // The installed CLI, run by an unprivileged user, activates the installed daemon.
    const listed = await lab.exec(asUser(NOBODY, [INSTALLED.cli, 'list', '--json']));
    t.true((JSON.parse(listed.stdout) as { interfaces: Array<{ name: string }> }).interfaces.some((i) => i.name === 'eth0'));
    // It allows interactive authorization; with no agent to ask, the user learns why it failed.
    const share = await lab.exec(asUser(NOBODY, [INSTALLED.cli, 'share', 'eth0']), { allowFailure: true });
    t.is(share.code, 77);
    t.regex(share.stderr, /not authorized to share or unshare network interfaces: authentication is required and no polkit authentication agent/);
  } finally {
    await lab.stop();
  }
});

test('the installed bus policy: only root may own the name; anyone may call the interface, nothing else', async (t) => {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false, networkManager: false });
  try {
    await installIntoLab(lab);
    await lab.sh('useradd -M -U alice');
    for (const who of [NOBODY, 'alice']) {
      // busctl asks the bus driver directly: as good as any program requesting the name.
      const request = await lab.exec(asUser(who, ['busctl', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'RequestName', 'su', BUS_NAME, '4']),
        { allowFailure: true, env: { SYSTEMD_LOG_LEVEL: 'debug' } });
      t.not(request.code, 0, `${who} must not own ${BUS_NAME}`);
      t.regex(request.stderr, /error-name=org\.freedesktop\.DBus\.Error\.AccessDenied error-message=Connection ".*" is not allowed to own the service "org\.fedoraproject\.SharedInterface"/);
    }
    const asRoot = await lab.sh(`busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus RequestName su ${BUS_NAME} 4`);
    t.is(asRoot.trim(), 'u 1', 'root may (DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)');
    // (busctl exited, so the name is free again.)

    // Not our interface, or writing a property: the bus refuses before anything is started.
    const foreign = await callAs(lab, NOBODY, 'Reload', 'u', ['0'], { iface: 'org.freedesktop.NetworkManager' });
    t.is(foreign.errorName, 'org.freedesktop.DBus.Error.AccessDenied');
    t.regex(foreign.errorMessage, /Rejected send message/);
    const set = await lab.exec(['busctl', 'set-property', BUS_NAME, '/org/fedoraproject/SharedInterface', BUS_NAME, 'Backend', 's', 'ifcfg'], { allowFailure: true });
    t.not(set.code, 0);
    t.deepEqual(await busDriver(lab, 'NameHasOwner', 's', [BUS_NAME]), [false], 'refused messages activate nothing');
    const listed = await callAs(lab, NOBODY, 'ListInterfaces');
    t.is(listed.errorName, undefined, listed.errorMessage);
  } finally {
    await lab.stop();
  }
});
