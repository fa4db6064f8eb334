// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing from the Cockpit page in a real browser, on a LAN that drops every frame whose
// source MAC is not the host's (lab-routed.ts: what a Wi-Fi access point or a MAC-locked switch port
// does): Debian's cockpit-ws and chromium as in cockpit-page.test.ts, the daemon started by bus
// activation from the installed files (so the routed agent it starts gets the environment
// activation gives: none). The dialog's Routed choice, the Progress steps, the list showing eth0
// shared routed, a guest on the bridge leased by the LAN's dnsmasq and reached from the LAN, and
// Unshare from the page leaving the host as before. (The Wi-Fi station, where the page offers only
// Routed, needs a Wi-Fi driver this lab's kernel lacks: the page's unit tests and the plan's cover it.)
import test from 'ava';
import type { BrowserContext, Page } from 'playwright-core';
import { Lab, waitFor } from '../lab/lab';
import { installIntoLab } from '../lab/lab-install';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from '../lab/lab-guests';
import { lockedLanDrops, lockLanToMac, routedHostSnapshot } from '../lab/lab-routed';
import { links, networkState, settledTo } from '../lab/nm-state';
import { launchBrowser, PAGE_PATH, startCockpitWs } from './cockpit-lab';

/** Generous: the lab is slow when the machine is busy. Nothing here measures speed. */
const DEADLINE = 120_000;
const LINKS = { uplink: 'eth0', bridge: 'br-eth0' } as const;

let lab: Lab;
let browser: BrowserContext;
let page: Page;
let hostMac: string;

function row(p: Page, nic: string) {
  return p.locator(`tr[data-interface="${nic}"]`);
}

test.before(async (t) => {
  lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  await installIntoLab(lab);
  const mac = (await links(lab)).get('eth0')?.address;
  if (mac === undefined) throw new Error('the lab has no eth0');
  hostMac = mac;
  await lockLanToMac(lab, hostMac);
  const admin = await startCockpitWs(lab, 9090);
  browser = await launchBrowser(lab);
  page = await browser.newPage();
  page.on('pageerror', (err) => t.log(`page error: ${err.message}`));
  await page.goto(`${admin.url}${PAGE_PATH}`);
  await row(page, 'eth0').waitFor({ timeout: DEADLINE });
});

test.after.always(async () => {
  await browser?.close().catch(() => undefined);
  await lab?.stop();
});

test.serial('Share routed through the dialog on a MAC-locked LAN: Progress, eth0 listed as shared routed, a guest leased by the LAN and reached from it; Unshare from the page leaves the host as before', async (t) => {
  const before = await networkState(lab);
  const host = await routedHostSnapshot(lab, LINKS);

  await page.getByRole('button', { name: 'Share eth0' }).click();
  const dialog = page.getByRole('dialog', { name: 'Share eth0' });
  await dialog.waitFor();
  // A wired NIC: both offered, bridged chosen.
  t.true(await dialog.getByLabel('Bridged').isChecked());
  await dialog.getByLabel('Routed').check();
  t.regex(await dialog.locator('.si-what-list').innerText(), /The host relays the guests' DHCP to the LAN's server, answers ARP for them on eth0/);
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.waitFor({ state: 'detached', timeout: DEADLINE })
    .catch(async (err: unknown) => { throw new Error(`the dialog stayed open: ${await dialog.innerText().catch(() => '')}\n${String(err)}`); });

  const notice = page.locator('.pf-v6-c-alert', { hasText: 'eth0 is shared routed through br-eth0' });
  await notice.waitFor({ timeout: DEADLINE });
  t.regex(await notice.innerText(), /get addresses from the LAN's DHCP server/);
  await notice.getByText('What was done').click();
  await notice.locator('li[data-step="committed"]').waitFor({ timeout: DEADLINE });
  for (const step of ['checkpoint', 'profiles-added', 'routing', 'probe-leased', 'bridge-up', 'page-confirm']) {
    t.is(await notice.locator(`li[data-step="${step}"]`).count(), 1, `Progress ${step}`);
  }
  t.regex(await notice.locator('li[data-step="probe-leased"]').innerText(), /got 192\.0\.2\.\d+ from the LAN's DHCP server through eth0/);

  // At a glance: the list says how eth0 is shared.
  const shared = row(page, 'eth0').locator('[data-state="shared"]');
  await shared.waitFor({ timeout: DEADLINE });
  t.is(await shared.getAttribute('data-mode'), 'routed');
  t.is(await shared.innerText(), 'Shared routed through br-eth0');
  t.regex(await page.locator('section[data-bridge="br-eth0"]').innerText(), /<source bridge='br-eth0'\/>/);

  // The kernel: eth0 is no port and keeps its address; the guests' bridge is there.
  const now = await links(lab);
  t.is(now.get('eth0')?.master, undefined);
  t.deepEqual(await networkState(lab).then((s) => s.eth0), before.eth0);
  t.true(now.has('br-eth0'));

  // A guest on the bridge: the LAN's dnsmasq leases it an address of the LAN, under its own MAC,
  // and the LAN reaches it, holding the host's MAC for it; the lock saw no frame of the guest's MAC.
  const dropsBefore = await lockedLanDrops(lab);
  const guest = await addGuestNamespace(lab, 'guest1', 'br-eth0', '52:54:00:aa:00:21');
  const leased = await guestDhcp(lab, guest);
  t.regex(leased, /^192\.0\.2\.\d+$/);
  t.regex(await lab.sh(`cat ${lab.dir}/dnsmasq.leases`), new RegExp(`52:54:00:aa:00:21 ${leased.replace(/\./g, '\\.')} `));
  await waitFor(`the LAN to reach the guest at ${leased}`, async () => ((await lab.exec(['ip', 'netns', 'exec', 'lan', 'ping', '-c', '1', '-W', '2', leased], { allowFailure: true })).code === 0 ? true : undefined), 30_000);
  t.regex(await lab.sh(`ip -n lan neigh show ${leased}`), new RegExp(`lladdr ${hostMac}`), 'the LAN holds the host\'s MAC for the guest');
  t.is(await lockedLanDrops(lab), dropsBefore, 'every frame on the LAN carried the host\'s MAC');
  await removeGuestNamespace(lab, guest);

  // Unshare from the page.
  await page.getByRole('button', { name: 'Unshare eth0' }).click();
  const unshare = page.getByRole('dialog', { name: 'Unshare eth0?' });
  await unshare.getByRole('button', { name: 'Unshare', exact: true }).click();
  await unshare.waitFor({ state: 'detached', timeout: DEADLINE });
  const gone = page.locator('.pf-v6-c-alert', { hasText: 'eth0 is no longer shared' });
  await gone.waitFor({ timeout: DEADLINE });
  t.regex(await gone.innerText(), /The bridge br-eth0 is gone, and the host's routing for its guests\./);
  await row(page, 'eth0').locator('[data-state="shareable"]').waitFor({ timeout: DEADLINE });
  t.deepEqual(await settledTo(() => networkState(lab), before), before, 'profiles, active profiles, eth0\'s addresses and the links as before');
  t.deepEqual(await settledTo(() => routedHostSnapshot(lab, LINKS), host), host, 'sysctls, addresses, routes, proxy entries and processes as before');
});
