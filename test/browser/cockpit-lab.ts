// SPDX-License-Identifier: GPL-2.0-or-later
// Cockpit and a browser inside a sealed lab: Debian's cockpit-ws serving the installed page
// with a local session (no login) whose cockpit-bridge talks to the lab's system bus, and
// Debian's chromium driven by playwright-core. Both run in the lab's namespaces, so the browser
// reaches the lab's 127.0.0.1; nothing listens on the host.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
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
