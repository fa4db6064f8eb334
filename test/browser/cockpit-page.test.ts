// SPDX-License-Identifier: GPL-2.0-or-later
// The Cockpit page in a real browser: Debian's cockpit-ws and cockpit-bridge serve the page as
// `make install` installed it, inside one sealed lab whose daemon is started by bus activation
// from the installed files; Debian's chromium (headless, playwright-core) opens it there. One
// lab, one browser and one page for every check: each starts with eth0 unshared and leaves it
// so, whatever ran before (any one runs alone with --match); they take turns on the one page.
// Assertions on the network read the lab's kernel and NetworkManager. The page inside Cockpit's
// logged-in shell, and beside its Networking page: cockpit-shell.test.ts.
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { Lab, REPO_ROOT, waitFor } from '../lab/lab';
import { installIntoLab, ownerPid } from '../lab/lab-install';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/service/shared-interface-spec';
import { addGuestNamespace } from '../lab/lab-guests';
import { links, networkState } from '../lab/nm-state';
import { launchBrowser, PAGE_PATH, startCockpitWs, type CockpitServer } from './cockpit-lab';

/** SI_SCREENSHOTS=1 (npm run screenshots) writes the README's screenshots into docs/. */
const SCREENSHOTS = process.env['SI_SCREENSHOTS'] === '1' ? join(REPO_ROOT, 'docs') : undefined;
/** Generous: the lab is slow when the machine is busy. Nothing here measures speed. */
const DEADLINE = 90_000;
/** Our object, as busctl takes it. */
const SERVICE = `${BUS_NAME} ${OBJECT_PATH} ${INTERFACE_NAME}`;

let lab: Lab;
let browser: BrowserContext;
let admin: CockpitServer;
let page: Page;

function row(p: Page, nic: string) {
  return p.locator(`tr[data-interface="${nic}"]`);
}

async function screenshot(p: Page, name: string): Promise<void> {
  if (SCREENSHOTS === undefined) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await p.screenshot({ path: join(SCREENSHOTS, name), animations: 'disabled', fullPage: true });
}

/** The service's Pending property, as busctl prints it. */
async function pending(): Promise<string> {
  return (await lab.sh(`busctl get-property ${SERVICE} Pending`)).trim();
}

async function master(nic: string): Promise<string | undefined> {
  return (await links(lab)).get(nic)?.master;
}

test.before(async (t) => {
  lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  await installIntoLab(lab);
  admin = await startCockpitWs(lab, 9090);
  browser = await launchBrowser(lab);
  page = await browser.newPage();
  page.on('pageerror', (err) => t.log(`page error: ${err.message}`));
  // Page load to the first listed interface, for the README (measured, never asserted).
  const start = Date.now();
  await page.goto(`${admin.url}${PAGE_PATH}`);
  await row(page, 'eth0').waitFor({ timeout: DEADLINE });
  t.log(`page load to the first listed interface: ${Date.now() - start} ms`);
  // Gone after a reload: the checks below prove the page updates without one.
  await page.evaluate('window.siNoReload = true');
});

test.after.always(async () => {
  await browser?.close().catch(() => undefined);
  await lab?.stop();
});

test.serial('the list shows eth0 shareable and lo not, with the reason', async (t) => {
  const eth0 = row(page, 'eth0');
  t.is(await eth0.locator('[data-state]').getAttribute('data-state'), 'shareable');
  t.regex(await eth0.innerText(), /52:54:00:12:34:56/);
  t.regex(await eth0.innerText(), /192\.0\.2\.\d+\/24/);
  t.true(await page.getByRole('button', { name: 'Share eth0' }).isVisible());

  const lo = row(page, 'lo');
  t.is(await lo.locator('[data-state]').getAttribute('data-state'), 'not-shareable');
  t.regex(await lo.locator('.si-reason').innerText(), /loopback/);
  t.is(await page.getByRole('button', { name: 'Share lo' }).count(), 0);
});

test.serial('an error is shown with its message and hint, by keyboard, and nothing changes', async (t) => {
  await lab.sh('ip link add br-taken type bridge');
  await row(page, 'br-taken').waitFor({ timeout: DEADLINE });
  const before = await networkState(lab);

  await page.getByRole('button', { name: 'Share eth0' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Share eth0' });
  await dialog.waitFor();
  // The bridge name field has the focus, its default selected: typing replaces it.
  await page.keyboard.type('br-taken');
  await page.keyboard.press('Enter');
  const error = dialog.getByRole('alert');
  await error.waitFor({ timeout: DEADLINE });
  t.regex(await error.innerText(), /An interface or profile named br-taken already exists\./);
  t.regex(await error.locator('.si-error-hint').innerText(), /^Hint: Choose another bridge name\.$/);
  t.notRegex(await error.innerText(), /org\.(fedoraproject|freedesktop)\./, 'no raw D-Bus name');
  t.deepEqual(await networkState(lab), before);

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await lab.sh('ip link del br-taken');
  await row(page, 'br-taken').waitFor({ state: 'detached', timeout: DEADLINE });
  t.is(await master('eth0'), undefined);
});

test.serial('Share through the dialog: the page shows eth0 shared through br-eth0 without reload, and the kernel agrees; Unshare with a guest attached names it and offers force', async (t) => {
  await page.getByRole('button', { name: 'Share eth0' }).click();
  const dialog = page.getByRole('dialog', { name: 'Share eth0' });
  await dialog.waitFor();
  t.is(await dialog.getByLabel('Bridge name').inputValue(), 'br-eth0');
  await dialog.getByText('Advanced').click();
  t.false(await dialog.getByLabel('Spanning tree protocol (STP)').isChecked());
  t.regex(await dialog.innerText(), /What will happen/);
  await screenshot(page, 'cockpit-share-dialog.png');

  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.waitFor({ state: 'detached', timeout: DEADLINE });
  const eth0 = row(page, 'eth0');
  await eth0.locator('[data-state="shared"]').waitFor({ timeout: DEADLINE });
  t.regex(await eth0.innerText(), /Shared through br-eth0/);
  t.true(await page.getByRole('button', { name: 'Unshare eth0' }).isVisible());
  t.is(await page.evaluate('window.siNoReload'), true, 'the page was not reloaded');
  // The page shared under confirm-timeout, then confirmed over a new channel.
  t.regex(lab.log('dbus.log'), /share eth0: verified; awaiting confirmation for 60 s/);
  t.is(await pending(), 'a{s(sst)} 0');
  // The service's Progress steps and the page's confirmation, under "What was done".
  const notice = page.locator('.pf-v6-c-alert', { hasText: 'eth0 is shared through br-eth0' });
  await notice.getByText('What was done').click();
  await notice.locator('li[data-step="page-confirm"]').waitFor();
  await notice.locator('li[data-step="committed"]').waitFor({ timeout: DEADLINE });
  t.is(await notice.locator('li[data-step="checkpoint"]').count(), 1, await notice.innerText());

  // The lab's kernel: eth0 is a port of br-eth0, which carries the host's IPv4 address.
  t.is(await master('eth0'), 'br-eth0');
  const bridge = (await links(lab)).get('br-eth0');
  t.truthy(bridge?.addr_info.find((a) => a.family === 'inet' && a.local.startsWith('192.0.2.')));

  // How to attach a guest, with copy buttons.
  const guest = page.locator('section[data-bridge="br-eth0"]');
  t.regex(await guest.innerText(), /<interface type='bridge'>\s+<source bridge='br-eth0'\/>/);
  t.regex(await guest.innerText(), /virt-install --network bridge=br-eth0/);
  await row(page, 'br-eth0').waitFor({ timeout: DEADLINE });
  await screenshot(page, 'cockpit-list.png');
  await guest.getByRole('button', { name: 'Copy virt-install option' }).click();
  t.is(await page.evaluate('navigator.clipboard.readText()'), 'virt-install --network bridge=br-eth0');

  // Unshare with a guest attached warns, naming the guest, and offers force.
  await addGuestNamespace(lab, 'guest1', 'br-eth0', '52:54:00:aa:00:01');
  await page.getByRole('button', { name: 'Unshare eth0' }).click();
  const unshare = page.getByRole('dialog', { name: 'Unshare eth0?' });
  await unshare.getByRole('button', { name: 'Unshare', exact: true }).click();
  const warning = unshare.getByRole('alert');
  await warning.waitFor({ timeout: DEADLINE });
  t.regex(await warning.innerText(), /Guests are still attached to br-eth0/);
  t.regex(await warning.locator('.si-guests').innerText(), /^vguest1$/);
  t.is(await master('eth0'), 'br-eth0', 'nothing changed yet');

  await unshare.getByRole('button', { name: 'Unshare anyway' }).click();
  await unshare.waitFor({ state: 'detached', timeout: DEADLINE });
  await row(page, 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
  t.is(await master('eth0'), undefined);
  t.false((await links(lab)).has('br-eth0'));
  t.is(await page.locator('section[data-bridge]').count(), 0, 'no guest snippets without a shared interface');
});

test.serial('a page that loses the host after a change never confirms it: the change awaits the host\'s own rollback', async (t) => {
  const lost = await browser.newPage();
  try {
    // Between this browser and cockpit-ws: the link drops just as the page sends Confirm.
    let dropped = false;
    await lost.routeWebSocket(/\/cockpit\/socket$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (typeof message === 'string' && message.includes('"Confirm"')) {
          dropped = true;
          server.close();
          return;
        }
        server.send(message);
      });
    });
    await lost.goto(`${admin.url}${PAGE_PATH}`);
    await lost.getByRole('button', { name: 'Share eth0' }).click({ timeout: DEADLINE });
    await lost.getByRole('dialog', { name: 'Share eth0' }).getByRole('button', { name: 'Share', exact: true }).click();
    await lost.getByText('Disconnected from the host').waitFor({ timeout: DEADLINE });
    t.true(dropped);
    // The host did the change and waits for a Confirm that will not come: its deadline undoes it
    // (the service's own tests wait for that); here Rollback stands in for the deadline.
    t.regex(await pending(), /^a\{s\(sst\)\} 1 "eth0" "share" "br-eth0" \d+$/);
    t.is(await master('eth0'), 'br-eth0');
    // The page that kept its connection shows it awaiting confirmation, by itself.
    await row(page, 'eth0').locator('[data-state="pending"]').waitFor({ timeout: DEADLINE });
    await lab.sh(`busctl call ${SERVICE} Rollback s eth0`, { timeoutMs: DEADLINE });
    t.is(await master('eth0'), undefined);
    t.is(await pending(), 'a{s(sst)} 0');
    await row(page, 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
  } finally {
    await lost.close();
  }
});

test.serial('changes behind the page\'s back appear by themselves: nmcli, and another client of the service', async (t) => {
  // An address added with nmcli: the service's InterfacesChanged, then ListInterfaces.
  await lab.sh("nmcli connection modify 'Wired eth0' +ipv4.addresses 198.51.100.7/24 && nmcli device reapply eth0 >/dev/null");
  const added = row(page, 'eth0').getByText('198.51.100.7/24');
  await added.waitFor({ timeout: DEADLINE });
  await lab.sh("nmcli connection modify 'Wired eth0' -ipv4.addresses 198.51.100.7/24 && nmcli device reapply eth0 >/dev/null");
  await added.waitFor({ state: 'detached', timeout: DEADLINE });

  // The service's PropertiesChanged: a Share by another client shows up too. Made under
  // confirm-timeout and left unconfirmed (as by a client that lost the host), it shows as awaiting
  // confirmation, and Keep confirms it.
  await lab.sh(`busctl call ${SERVICE} Share sa{sv} eth0 1 confirm-timeout u 600`, { timeoutMs: DEADLINE });
  await row(page, 'eth0').locator('[data-state="pending"]').waitFor({ timeout: DEADLINE });
  t.regex(await row(page, 'eth0').innerText(), /Shared through br-eth0, awaiting confirmation: undone at/);
  await page.getByRole('button', { name: 'Keep the change of eth0' }).click();
  await row(page, 'eth0').locator('[data-state="shared"]').waitFor({ timeout: DEADLINE });
  t.is(await pending(), 'a{s(sst)} 0');
  t.is(await master('eth0'), 'br-eth0');
  t.is(await page.evaluate('window.siNoReload'), true, 'the page was not reloaded');
  // An Unshare by another client: InterfacesChanged, and eth0 is as the next test expects.
  await lab.sh(`busctl call ${SERVICE} Unshare sa{sv} eth0 0`, { timeoutMs: DEADLINE });
  await row(page, 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
});

test.serial('the service leaving (as when idle) makes the page start it again, and later changes still appear', async (t) => {
  const before = await ownerPid(lab);
  t.truthy(before);
  await lab.sh(`kill -TERM ${before ?? 0}`);
  // Nobody else calls the service in this lab: a new owner is the page's doing.
  const after = await waitFor('the service started again', async () => {
    const now = await ownerPid(lab);
    return now !== undefined && now !== before ? now : undefined;
  }, DEADLINE);
  t.not(after, before);
  await lab.sh('ip addr add 198.51.100.8/24 dev eth0');
  try {
    await row(page, 'eth0').getByText('198.51.100.8/24').waitFor({ timeout: DEADLINE });
  } finally {
    await lab.sh('ip addr del 198.51.100.8/24 dev eth0');
  }
  await row(page, 'eth0').getByText('198.51.100.8/24').waitFor({ state: 'detached', timeout: DEADLINE });
  t.is(await page.evaluate('window.siNoReload'), true, 'the page was not reloaded');
});

test.serial('at a narrow width nothing needs horizontal scrolling', async (t) => {
  await page.setViewportSize({ width: 360, height: 800 });
  try {
    await row(page, 'eth0').waitFor();
    t.true(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth') as boolean);
    await screenshot(page, 'cockpit-narrow.png');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});
