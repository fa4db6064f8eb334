// SPDX-License-Identifier: GPL-2.0-or-later
// The page where users meet it: inside Cockpit's shell after a real login (cockpit-ws, PAM,
// cockpit-session, cockpit-bridge), in the navigation menu, by URL and by search keyword.
import test from 'ava';
import type { BrowserContext, Page } from 'playwright-core';
import { Lab } from '../lab/lab';
import { installIntoLab } from '../lab/lab-install';
import { launchBrowser, logIn, shellFrame, startCockpitLogin, type CockpitServer } from './cockpit-lab';

const DEADLINE = 90_000;
const ROOT_PASSWORD = 'lab-root-password';

let lab: Lab;
let browser: BrowserContext;
let server: CockpitServer;

test.before(async () => {
  lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  await installIntoLab(lab);
  server = await startCockpitLogin(lab, 9090, { root: ROOT_PASSWORD });
  browser = await launchBrowser(lab);
});

test.after.always(async () => {
  await browser?.close().catch(() => undefined);
  await lab?.stop();
});

async function loggedIn(path = '/'): Promise<Page> {
  const page = await browser.newPage();
  await logIn(page, server, 'root', ROOT_PASSWORD, path);
  return page;
}

test('logged in, the page is in the navigation menu, and opens in the shell', async (t) => {
  const page = await loggedIn();
  try {
    const link = page.getByRole('link', { name: 'Shared interfaces' });
    await link.click({ timeout: DEADLINE });
    await shellFrame(page, 'shared-interface').locator('tr[data-interface="eth0"]').waitFor({ timeout: DEADLINE });
    t.regex(page.url(), /\/shared-interface$/);
  } finally {
    await page.close();
  }
});

test('the menu\'s search finds the page by its keywords', async (t) => {
  const page = await loggedIn();
  try {
    const search = page.getByPlaceholder('Search');
    await search.fill('bridge');
    const nav = page.locator('nav');
    t.log(await nav.innerText());
    await nav.getByRole('link', { name: /Shared interfaces/ }).click({ timeout: DEADLINE });
    await shellFrame(page, 'shared-interface').locator('tr[data-interface="eth0"]').waitFor({ timeout: DEADLINE });
  } finally {
    await page.close();
  }
});

test('networking probe', async (t) => {
  const page = await loggedIn('/network');
  try {
    const frame = shellFrame(page, 'network');
    await frame.locator('body').waitFor();
    await page.waitForTimeout(5000);
    t.log(await frame.locator('body').innerText());
    await lab.sh('busctl call org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface Share sa{sv} eth0 0', { timeoutMs: DEADLINE });
    await page.waitForTimeout(3000);
    t.log(await frame.locator('body').innerHTML());
    await page.goto(`${server.url}/network#/br-eth0`);
    await page.waitForTimeout(4000);
    t.log(await shellFrame(page, 'network').locator('body').innerText());
  } finally {
    await page.close();
  }
});
