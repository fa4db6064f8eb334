// SPDX-License-Identifier: GPL-2.0-or-later
// The Cockpit page on a host with thousands of links (a container host's veths, unmanaged as
// NetworkManager's udev rules leave them): the default listing leaves them out, "Show all
// interfaces" lists every one a page of rows at a time, the filter box finds one, and Share still
// works from the filtered list. One sealed lab, Debian's cockpit-ws and chromium, as in
// cockpit-page.test.ts; the installed daemon started before the page opens (its start waits for
// NetworkManager to describe thousands of devices, which may take longer than bus activation waits
// on a busy machine: docs/scale.md).
import test from 'ava';
import type { BrowserContext, Page } from 'playwright-core';
import { Lab } from '../lab/lab';
import { INSTALLED, installIntoLab } from '../lab/lab-install';
import { populate } from '../lab/lab-links';
import { links } from '../lab/nm-state';
import { launchBrowser, PAGE_PATH, startCockpitWs } from './cockpit-lab';

/** 2000 veths beside the lab's own links: thousands of rows with "Show all interfaces". */
const PAIRS = 1000;
/** Rows the page renders before "Show more" (ROWS_PER_PAGE in cockpit/src/listing-view.ts). */
const PAGE_ROWS = 100;
/** Generous: NetworkManager is slow at this size on a busy machine. Nothing here measures speed. */
const DEADLINE = 180_000;

let lab: Lab;
let browser: BrowserContext;
let page: Page;
let total: number;

const rows = (p: Page) => p.locator('tr[data-interface]');
const row = (p: Page, nic: string) => p.locator(`tr[data-interface="${nic}"]`);
const count = (p: Page) => p.locator('#si-count').innerText();
const showAll = (p: Page) => p.getByRole('switch', { name: 'Show all interfaces' });

test.before(async (t) => {
  lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  await installIntoLab(lab);
  await populate(lab, PAIRS, 0);
  total = Number((await lab.sh('ip -o link show | wc -l')).trim());
  await lab.spawn([INSTALLED.daemon, '--idle-timeout=0']).waitForOutput(/ready on /, 300_000);
  const admin = await startCockpitWs(lab, 9090);
  browser = await launchBrowser(lab);
  page = await browser.newPage();
  page.on('pageerror', (err) => t.log(`page error: ${err.message}`));
  await page.goto(`${admin.url}${PAGE_PATH}`);
  await row(page, 'eth0').waitFor({ timeout: DEADLINE }).catch(async (err: unknown) => {
    throw new Error(`${String(err)}\nthe page says: ${await page.locator('#app').innerText()}`);
  });
});

test.after.always(async () => {
  await browser?.close().catch(() => undefined);
  await lab?.stop();
});

test.serial('the default listing leaves the unmanaged veths out; Show all interfaces lists every link a page of rows at a time', async (t) => {
  t.is(await page.locator('tr[data-interface^="vb"], tr[data-interface^="vc"]').count(), 0, 'no veth in a person\'s listing');
  t.regex(await count(page), /^Interfaces: \d$/);

  const start = Date.now();
  // By keyboard, as a person does it: focus and Space.
  await showAll(page).focus();
  await page.keyboard.press('Space');
  await row(page, 'lo').waitFor({ timeout: DEADLINE });
  t.log(`Show all interfaces to its first page of ${total} links: ${Date.now() - start} ms (measured, never asserted)`);
  t.is(await rows(page).count(), PAGE_ROWS);
  t.is(await count(page), `Showing ${PAGE_ROWS} of ${total} interfaces`);

  await page.getByRole('button', { name: 'Show more interfaces' }).click();
  await page.waitForFunction(`document.querySelectorAll('tr[data-interface]').length === ${2 * PAGE_ROWS}`);
  t.is(await count(page), `Showing ${2 * PAGE_ROWS} of ${total} interfaces`);
  t.true(await showAll(page).isChecked());
});

test.serial('the filter box finds one veth among thousands as it is typed, and says when nothing matches', async (t) => {
  const filter = page.getByRole('searchbox', { name: 'Filter interfaces' });
  await filter.focus();
  // Typed key by key: each key renders the page again, and the box keeps its focus and its text.
  await page.keyboard.type(`vc${PAIRS - 1}`);
  await page.waitForFunction('document.querySelectorAll(\'tr[data-interface]\').length === 1');
  t.is(await rows(page).getAttribute('data-interface'), `vc${PAIRS - 1}`);
  t.is(await filter.inputValue(), `vc${PAIRS - 1}`);
  t.is(await count(page), `Matching: 1 of ${total}`);
  t.regex(await row(page, `vc${PAIRS - 1}`).innerText(), /Not shareable/);

  await page.keyboard.type('x');
  await page.getByText(`No interface matches “vc${PAIRS - 1}x”.`).waitFor();
  t.is(await rows(page).count(), 0);
  t.is(await filter.inputValue(), `vc${PAIRS - 1}x`, 'still typed into the box');

  await filter.fill('');
  // By mouse: the switch's label (its toggle is drawn over the checkbox).
  await page.locator('label[for="si-show-all"]').click();
  await row(page, 'lo').waitFor({ state: 'detached', timeout: DEADLINE });
  t.false(await showAll(page).isChecked());
  t.regex(await count(page), /^Interfaces: \d$/);
});

test.serial('Share and Unshare of eth0 found with the filter among thousands of links', async (t) => {
  await page.locator('label[for="si-show-all"]').click();
  await page.getByRole('searchbox', { name: 'Filter interfaces' }).fill('eth0');
  await page.getByRole('button', { name: 'Share eth0' }).click({ timeout: DEADLINE });
  const dialog = page.getByRole('dialog', { name: 'Share eth0' });
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.waitFor({ state: 'detached', timeout: DEADLINE });
  await row(page, 'eth0').locator('[data-state="shared"]').waitFor({ timeout: DEADLINE });
  // The filter matches the bridge's name too: br-eth0 is listed beside eth0.
  await row(page, 'br-eth0').waitFor({ timeout: DEADLINE });
  t.is((await links(lab)).get('eth0')?.master, 'br-eth0');

  await page.getByRole('button', { name: 'Unshare eth0' }).click({ timeout: DEADLINE });
  const unshare = page.getByRole('dialog', { name: 'Unshare eth0?' });
  await unshare.getByRole('button', { name: 'Unshare', exact: true }).click();
  await unshare.waitFor({ state: 'detached', timeout: DEADLINE });
  await row(page, 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
  t.is((await links(lab)).get('eth0')?.master, undefined);
  t.false((await links(lab)).has('br-eth0'));
});
