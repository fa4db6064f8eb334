// SPDX-License-Identifier: GPL-2.0-or-later
// Cockpit and a browser inside a sealed lab: Debian's cockpit-ws serving the installed page
// with a local session (no login) whose cockpit-bridge talks to the lab's system bus, and
// Debian's chromium driven by playwright-core. Both run in the lab's namespaces, so the browser
// reaches the lab's 127.0.0.1; nothing listens on the host.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';
import { type Lab, type LabProcess } from '../lab/lab';
import { asUser } from '../lab/lab-install';

export const COCKPIT_WS = '/usr/lib/cockpit/cockpit-ws';
export const CHROMIUM = '/usr/bin/chromium';
/** Where cockpit-ws serves an installed package's page (the package's directory name). */
export const PAGE_PATH = '/cockpit/@localhost/shared-interface/index.html';

export interface CockpitServer {
  readonly url: string;
  readonly process: LabProcess;
}

/**
 * cockpit-ws as `who` (root or a lab user), without TLS, on the lab's loopback: its local session
 * runs cockpit-bridge as that same user, as a login of that user would.
 */
export async function startCockpitWs(lab: Lab, port: number, who = 'root'): Promise<CockpitServer> {
  const env = who === 'root' ? {} : { HOME: `/tmp/home-${who}`, USER: who };
  if (who !== 'root') await lab.sh(`mkdir -p /tmp/home-${who} && chown ${who}: /tmp/home-${who}`);
  const process = lab.spawn(asUser(who, [COCKPIT_WS, '--no-tls', '--local-session=cockpit-bridge', '--port', String(port), '--address', '127.0.0.1']), env);
  // Listening once a TCP connection succeeds (bash's /dev/tcp: no client to install).
  await lab.sh(`for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`, { timeoutMs: 60_000 })
    .catch((err: unknown) => { throw new Error(`cockpit-ws did not listen on port ${port}: ${String(err)}\n${process.output}`); });
  return { url: `http://127.0.0.1:${port}`, process };
}

/**
 * cockpit-ws as a host runs it for logins (without TLS, on the lab's loopback): the login page,
 * then cockpit-session checks the password through PAM (/etc/pam.d/cockpit) and starts the
 * user's cockpit-bridge. `users` get these passwords in the lab's overlaid /etc; root may log in
 * (Debian's /etc/cockpit/disallowed-users lists it), as the lab's administrator.
 */
export async function startCockpitLogin(lab: Lab, port: number, users: Readonly<Record<string, string>>): Promise<CockpitServer> {
  await lab.sh(`
    printf '%s\n' ${Object.entries(users).map(([user, password]) => `'${user}:${password}'`).join(' ')} | chpasswd
    : >/etc/cockpit/disallowed-users`);
  const process = lab.spawn([COCKPIT_WS, '--no-tls', '--port', String(port), '--address', '127.0.0.1']);
  await lab.sh(`for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && exit 0; sleep 0.1; done; exit 1`, { timeoutMs: 60_000 })
    .catch((err: unknown) => { throw new Error(`cockpit-ws did not listen on port ${port}: ${String(err)}\n${process.output}`); });
  return { url: `http://127.0.0.1:${port}`, process };
}

/**
 * Logs in through Cockpit's login page; resolves once the shell's navigation is there. The
 * browser's cookies are cleared first: a session of an earlier login would skip the login page.
 */
export async function logIn(page: Page, server: CockpitServer, user: string, password: string, path = '/'): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${server.url}${path}`);
  await page.locator('#login-user-input').fill(user);
  await page.locator('#login-password-input').fill(password);
  await page.locator('#login-button').click();
  await page.locator('#host-apps, nav').first().waitFor({ timeout: 90_000 });
}

/** The iframe the shell shows a page in (Cockpit names it after host and page). */
export function shellFrame(page: Page, pageName: string): FrameLocator {
  return page.frameLocator(`iframe[name="cockpit1:localhost/${pageName}"]`);
}

/**
 * Debian's chromium, headless, in the lab. playwright-core starts the executable it is given
 * with its pipe on fds 3 and 4; the executable is a two-line script that enters the lab with
 * nsenter (which keeps those fds) and execs /usr/bin/chromium. Never a browser download.
 */
export async function launchBrowser(lab: Lab): Promise<BrowserContext> {
  const wrapper = join(lab.dir, 'chromium-in-lab.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -t ${lab.pid} -a -- env -i PATH=/usr/bin:/bin HOME=/tmp/chromium-home TMPDIR=/tmp LANG=C.UTF-8 DBUS_SESSION_BUS_ADDRESS=disabled: ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  // A fresh profile in the lab's directory: the same path outside (for playwright) and inside.
  const profile = join(lab.dir, 'chromium-profile');
  mkdirSync(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: wrapper,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 800 },
    // The copy buttons write to the clipboard; a test reads it back.
    permissions: ['clipboard-read', 'clipboard-write'],
    timeout: 120_000,
  });
}
