// SPDX-License-Identifier: GPL-2.0-or-later
// The password prompt for an administrator who is not root, end to end, as it happens on a host:
// a real systemd (this machine's, booted by systemd-nspawn inside a lab) with logind and polkitd,
// a user alice in group sudo (Debian's polkit rules make its members administrators) with a
// password, a login session on a terminal (systemd-run -p PAMName=login --pty), and in it the
// installed CLI, whose pkttyagent asks for alice's password. Typed wrong, the share is refused
// (AccessDenied, exit 77) and nothing changes; typed right, the share is made.
// polkit serves a `pkttyagent --fallback` (the CLI's, as systemctl's) only to a caller in a logind
// session: the lab alone (no logind) cannot show this; hence the booted systemd.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT } from '../lab/lab';
import { SystemdContainer } from './systemd-container';

const PASSWORD = 'correct horse';

test('a non-root administrator\'s password prompt: wrong, AccessDenied (77) and nothing changes; right, the share is made', async (t) => {
  const lab = await Lab.start({});
  let container: SystemdContainer | undefined;
  try {
    // What the container sees at /run/si-pkg: the installed files, the PAM configuration it needs
    // to check a password (a volatile root has an empty /etc), and the terminal's typist.
    const pkg = mkdtempSync(join(lab.dir, 'pkg.'));
    chmodSync(pkg, 0o755);
    execFileSync('make', ['-C', REPO_ROOT, '--no-print-directory', '-o', 'dist/src/main.js', '-o', 'dist/cockpit-page/index.js', 'install', `DESTDIR=${pkg}/root`], { stdio: 'pipe' });
    execFileSync('cp', ['-a', '/etc/pam.d', '/etc/security', '/etc/login.defs', '/etc/nsswitch.conf', join(pkg)]);
    copyFileSync(join(REPO_ROOT, 'test', 'packaging', 'answer-prompt.py'), join(pkg, 'answer-prompt.py'));
    container = await SystemdContainer.boot(lab, pkg);
    const c = container;
    // The rules directories belong to the host's polkitd user, whose uid this container's
    // polkitd (made by systemd-sysusers) need not have: without them, root would be the only
    // administrator.
    await c.sh(`
      mkdir -p /etc/pam.d /etc/security && cp -a /run/si-pkg/pam.d/. /etc/pam.d/ && cp -a /run/si-pkg/security/. /etc/security/
      cp /run/si-pkg/login.defs /run/si-pkg/nsswitch.conf /etc/
      cp -a /run/si-pkg/root/. / && systemctl daemon-reload
      busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
      chown polkitd: /usr/share/polkit-1/rules.d /etc/polkit-1/rules.d
      useradd -m -G sudo alice && printf 'alice:%s\\n' '${PASSWORD}' | chpasswd`);
    const asAlice = (typed: string) => c.exec(`python3 /run/si-pkg/answer-prompt.py 'Password:' '${typed}' -- systemd-run --quiet --uid=alice -p PAMName=login --pty /usr/bin/shared-interface share eth0`, 180_000);
    const bridge = async () => (await c.exec('ip -o link show br-eth0')).code === 0;

    const wrong = await asAlice('not the password');
    t.is(wrong.code, 77, wrong.stdout);
    t.regex(wrong.stdout, /AUTHENTICATING FOR org\.fedoraproject\.SharedInterface\.share-interface/);
    t.regex(wrong.stdout, /Authenticating as: alice/);
    t.regex(wrong.stdout, /AUTHENTICATION FAILED/);
    // pkttyagent ends its colour after its last line: the escape sequence begins the next one.
    t.regex(wrong.stdout, /^(?:\x1B\[0m)?shared-interface: not authorized to share or unshare network interfaces\r?$/m);
    t.regex(wrong.stdout, /^\(org\.freedesktop\.DBus\.Error\.AccessDenied\)\r?$/m);
    t.false(await bridge(), 'nothing changed');

    const right = await asAlice(PASSWORD);
    t.is(right.code, 0, right.stdout);
    t.regex(right.stdout, /Authenticating as: alice/);
    t.regex(right.stdout, /AUTHENTICATION COMPLETE/);
    t.regex(right.stdout, /eth0 is shared through bridge br-eth0/);
    t.true(await bridge());
    t.regex(await c.sh('ip -o link show eth0'), / master br-eth0 /);
    t.regex(await c.sh('journalctl -u shared-interface.service --no-pager -o cat'), /audit: uid=1000 .*Share nic=eth0 .*committed \(br-eth0\)/);
  } finally {
    await container?.stop();
    await lab.stop();
  }
});
