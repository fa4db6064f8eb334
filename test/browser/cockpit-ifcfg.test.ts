// SPDX-License-Identifier: GPL-2.0-or-later
// The page on a host without NetworkManager (the ifcfg fallback): nothing but the service's
// InterfacesChanged tells it of changes, and they appear without a reload.
import test from 'ava';
import { Lab } from '../lab/lab';
import { installIntoLab } from '../lab/lab-install';
import { launchBrowser, PAGE_PATH, startCockpitWs } from './cockpit-lab';

const DEADLINE = 90_000;

test('ifcfg host: a link and an address added by hand appear on the page by themselves, and a link removed goes', async (t) => {
  const lab = await Lab.start({ overlay: true, networkManager: false, busPolicy: false, polkitPolicy: false });
  try {
    await installIntoLab(lab);
    await lab.sh('mkdir -p /etc/sysconfig/network-scripts && ip addr add 192.0.2.10/24 dev eth0');
    const server = await startCockpitWs(lab, 9090);
    const browser = await launchBrowser(lab);
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}${PAGE_PATH}`);
      await page.locator('tr[data-interface="eth0"]').waitFor({ timeout: DEADLINE });
      t.is((await lab.sh('busctl get-property org.fedoraproject.SharedInterface /org/fedoraproject/SharedInterface org.fedoraproject.SharedInterface Backend')).trim(), 's "ifcfg"');
      await page.evaluate('window.siNoReload = true');

      await lab.sh('ip link add vtest0 type veth peer name vtest0p');
      await page.locator('tr[data-interface="vtest0"]').waitFor({ timeout: DEADLINE });
      await lab.sh('ip addr add 198.51.100.7/24 dev eth0');
      await page.locator('tr[data-interface="eth0"]').getByText('198.51.100.7/24').waitFor({ timeout: DEADLINE });
      await lab.sh('ip link del vtest0');
      await page.locator('tr[data-interface="vtest0"]').waitFor({ state: 'detached', timeout: DEADLINE });
      t.is(await page.evaluate('window.siNoReload'), true, 'the page was not reloaded');
    } finally {
      await browser.close();
    }
  } finally {
    await lab.stop();
  }
});
