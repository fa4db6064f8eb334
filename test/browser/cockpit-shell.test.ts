// SPDX-License-Identifier: GPL-2.0-or-later
// The page where users meet it: inside Cockpit's shell after a real login (cockpit-ws, PAM,
// cockpit-session, cockpit-bridge; Debian's cockpit-system), in the navigation menu, by URL and
// by search keyword, in the shell's dark style, and beside Cockpit's own Networking page
// (cockpit-networkmanager), which must show what our Share and Unshare did. Each test logs in
// on its own page and leaves the lab as it found it, so any one runs alone (--match); they take
// turns only because a login's shell costs a core of this 2-core machine.
import test from 'ava';
import type { BrowserContext, FrameLocator, Page } from 'playwright-core';
import { Lab } from '../lab/lab';
import { installIntoLab } from '../lab/lab-install';
import { links } from '../lab/nm-state';
import { launchBrowser, logIn, shellFrame, startCockpitLogin, type CockpitServer } from './cockpit-lab';

const DEADLINE = 90_000;
const ROOT_PASSWORD = 'lab-root-password';
/** A lab user (lab-init.sh) with no polkit rights and no sudo: Cockpit's limited access. */
const USER = 'carol';
const USER_PASSWORD = 'lab-carol-password';

let lab: Lab;
let browser: BrowserContext;
let server: CockpitServer;

test.before(async () => {
  lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  await installIntoLab(lab);
  server = await startCockpitLogin(lab, 9090, { root: ROOT_PASSWORD, [USER]: USER_PASSWORD });
  browser = await launchBrowser(lab);
});

test.after.always(async () => {
  await browser?.close().catch(() => undefined);
  await lab?.stop();
});

async function loggedIn(path = '/', user = 'root', password = ROOT_PASSWORD): Promise<Page> {
  const page = await browser.newPage();
  await logIn(page, server, user, password, path);
  return page;
}

function ours(page: Page): FrameLocator {
  return shellFrame(page, 'shared-interface');
}

function row(frame: FrameLocator, nic: string) {
  return frame.locator(`tr[data-interface="${nic}"]`);
}

test.serial('logged in, the page is in the navigation menu and opens inside the shell', async (t) => {
  const page = await loggedIn();
  try {
    await page.locator('#host-apps').getByRole('link', { name: 'Shared interfaces' }).click({ timeout: DEADLINE });
    await row(ours(page), 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
    t.regex(page.url(), /\/shared-interface$/);
    t.regex(await page.title(), /^Shared interfaces - /, 'the shell titles itself after the page');
  } finally {
    await page.close();
  }
});

test.serial('reached by its URL: the login leads to the page', async (t) => {
  const page = await loggedIn('/shared-interface');
  try {
    await row(ours(page), 'eth0').waitFor({ timeout: DEADLINE });
    t.true(await ours(page).getByRole('button', { name: 'Share eth0' }).isVisible());
  } finally {
    await page.close();
  }
});

for (const keyword of ['bridge', 'virtual machine']) {
  test.serial(`the menu's search finds the page by the keyword "${keyword}"`, async (t) => {
    const page = await loggedIn();
    try {
      await page.locator('#host-apps').getByPlaceholder('Search').fill(keyword);
      const found = page.locator('#host-apps').getByRole('link', { name: /Shared interfaces/ });
      await found.waitFor({ timeout: DEADLINE });
      t.regex(await found.innerText(), new RegExp(`Contains:\\s*${keyword}`, 'i'));
      await found.click();
      await row(ours(page), 'eth0').waitFor({ timeout: DEADLINE });
    } finally {
      await page.close();
    }
  });
}

test.serial('a user without administrative access sees the list read-only: no Share buttons', async (t) => {
  const page = await loggedIn('/shared-interface', USER, USER_PASSWORD);
  try {
    const frame = ours(page);
    await frame.getByText('Read only').waitFor({ timeout: DEADLINE });
    t.is(await row(frame, 'eth0').locator('[data-state]').getAttribute('data-state'), 'shareable');
    t.is(await frame.getByRole('button', { name: /^(Share|Unshare) / }).count(), 0);
  } finally {
    await page.close();
  }
});

test.serial('the page follows the shell\'s dark style, and back', async (t) => {
  const page = await loggedIn('/shared-interface');
  try {
    const frame = ours(page);
    await row(frame, 'eth0').waitFor({ timeout: DEADLINE });
    const html = frame.locator('html');
    type Styled = { getComputedStyle(element: unknown): { backgroundColor: string } };
    const background = () => frame.locator('body').evaluate((body) => (globalThis as unknown as Styled).getComputedStyle(body).backgroundColor);
    const light = await background();
    // What the shell's style menu does: the choice in localStorage, seen by the page's document.
    await page.evaluate("localStorage.setItem('shell:style', 'dark')");
    await frame.locator('html.pf-v6-theme-dark').waitFor({ timeout: DEADLINE });
    const dark = await background();
    t.not(dark, light);
    t.true(luminance(dark) < 0.3, `a dark background: ${dark}`);
    await page.evaluate("localStorage.setItem('shell:style', 'light')");
    await frame.locator('html:not(.pf-v6-theme-dark)').waitFor({ timeout: DEADLINE });
    t.is(await background(), light);
    t.false(((await html.getAttribute('class')) ?? '').includes('pf-v6-theme-dark'));
  } finally {
    await page.evaluate("localStorage.removeItem('shell:style')").catch(() => undefined);
    await page.close();
  }
});

/** rgb(r, g, b) → relative luminance, 0 (black) to 1 (white). */
function luminance(css: string): number {
  const [r = 255, g = 255, b = 255] = (css.match(/\d+(\.\d+)?/g) ?? []).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

test.serial('beside Cockpit\'s Networking page: Share shows the bridge with eth0 as its port and the host\'s address, Unshare eth0 as before', async (t) => {
  const page = await loggedIn('/shared-interface');
  try {
    const frame = ours(page);
    await row(frame, 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
    const address = (await links(lab)).get('eth0')?.addr_info.find((a) => a.family === 'inet')?.local;
    t.truthy(address);

    await frame.getByRole('button', { name: 'Share eth0' }).click();
    const dialog = frame.getByRole('dialog', { name: 'Share eth0' });
    await dialog.getByRole('button', { name: 'Share', exact: true }).click();
    await dialog.waitFor({ state: 'detached', timeout: DEADLINE });
    await row(frame, 'eth0').locator('[data-state="shared"]').waitFor({ timeout: DEADLINE });
    // The steps of the change: done ones checked, none of them failed.
    const steps = frame.locator('.pf-v6-c-alert', { hasText: 'eth0 is shared through br-eth0' }).locator('li[data-step]');
    await frame.locator('li[data-step="committed"][data-status="done"]').waitFor({ state: 'attached', timeout: DEADLINE });
    t.is(await steps.locator('[data-status="failed"]').count(), 0);

    // Our page links to the bridge in Networking: the shell shows it, with eth0 as its port.
    await frame.locator('section[data-bridge="br-eth0"]').getByRole('link', { name: 'br-eth0 in Networking' }).click();
    await page.waitForURL(/\/network#\/br-eth0$/, { timeout: DEADLINE });
    const network = shellFrame(page, 'network');
    const ports = network.locator('#network-interface-members');
    await ports.locator('tr[data-interface="eth0"]').waitFor({ timeout: DEADLINE });
    t.regex(await network.locator('#network-interface').innerText(), new RegExp(`${address?.replaceAll('.', '\\.') ?? 'no address'}/24`));

    // Its overview: the bridge with the host's address, eth0 no longer on its own, no error.
    await page.goto(`${server.url}/network`);
    const overview = shellFrame(page, 'network').locator('#networking-interfaces');
    const bridgeRow = overview.locator('tr[data-interface="br-eth0"]');
    await bridgeRow.waitFor({ timeout: DEADLINE });
    t.regex(await bridgeRow.innerText(), new RegExp(`${address?.replaceAll('.', '\\.') ?? 'no address'}/24`));
    t.is(await overview.locator('tr[data-interface="eth0"]').count(), 0, 'eth0 is listed as the bridge\'s port, not on its own');
    t.is(await shellFrame(page, 'network').locator('.pf-c-alert.pf-m-danger, .pf-c-alert.pf-m-warning').count(), 0);

    // Unshare through our page; Networking shows eth0 on its own again, with its address.
    await page.goto(`${server.url}/shared-interface`);
    await ours(page).getByRole('button', { name: 'Unshare eth0' }).click({ timeout: DEADLINE });
    const unshare = ours(page).getByRole('dialog', { name: 'Unshare eth0?' });
    await unshare.getByRole('button', { name: 'Unshare', exact: true }).click();
    await unshare.waitFor({ state: 'detached', timeout: DEADLINE });
    await row(ours(page), 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
    await page.goto(`${server.url}/network`);
    const after = shellFrame(page, 'network').locator('#networking-interfaces');
    const nicRow = after.locator('tr[data-interface="eth0"]');
    await nicRow.waitFor({ timeout: DEADLINE });
    await after.locator('tr[data-interface="br-eth0"]').waitFor({ state: 'detached', timeout: DEADLINE });
    t.regex(await nicRow.innerText(), new RegExp(`${address?.replaceAll('.', '\\.') ?? 'no address'}/24`));
    t.is(await shellFrame(page, 'network').locator('.pf-c-alert.pf-m-danger, .pf-c-alert.pf-m-warning').count(), 0);
  } finally {
    await page.close();
  }
});
