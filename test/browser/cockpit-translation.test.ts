// SPDX-License-Identifier: GPL-2.0-or-later
// The page in another language: a pseudo-translation of every text of po/shared-interface.pot
// (each wrapped in ⟦ ⟧) made and installed as a translator's po/de.po would be, and a session in German
// (Cockpit's CockpitLang cookie). Every text the page shows, the Share dialog's too, must come
// back wrapped: whatever is not is a text that escaped gettext, unless it is the host's data.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Lab, REPO_ROOT } from '../lab/lab';
import { INSTALLED, installIntoLab } from '../lab/lab-install';
import { ServiceClient } from '../lab/service-client';
import { launchBrowser, PAGE_PATH, startCockpitWs } from './cockpit-lab';

const DEADLINE = 90_000;

/**
 * A pseudo-translation as a translator's po/de.po would be (the template with each msgstr filled
 * in), made into po.de.js by the build's own converter (cockpit/po-to-js.mjs).
 */
function pseudoTranslation(dir: string): string {
  const pot = readFileSync(join(REPO_ROOT, 'po', 'shared-interface.pot'), 'utf8');
  const po = pot.replace(/^msgid (".+")\nmsgstr ""$/gm, (_line, quoted: string) => `msgid ${quoted}\nmsgstr ${JSON.stringify(`⟦${JSON.parse(quoted) as string}⟧`)}`);
  const poFile = join(dir, 'de.po');
  writeFileSync(poFile, po);
  const converter = join(REPO_ROOT, 'cockpit', 'po-to-js.mjs');
  return execFileSync(process.execPath, ['--input-type=module', '-e',
    `import { poFileScript } from ${JSON.stringify(converter)}; process.stdout.write(poFileScript('de', ${JSON.stringify(poFile)}));`], { encoding: 'utf8' });
}

/** Every text node of the document's body (hidden ones too: screen readers read them), trimmed. */
const TEXTS = `(() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text !== '' && node.parentElement.closest('script, style') === null) texts.push(text);
  }
  return texts;
})()`;

test('in a pseudo-translation every text of the page and its Share dialog is translated; only the host\'s data is not', async (t) => {
  const lab = await Lab.start({ overlay: true, busPolicy: false, polkitPolicy: false });
  try {
    await installIntoLab(lab);
    writeFileSync(join(lab.dir, 'po.de.js'), pseudoTranslation(lab.dir));
    await lab.sh(`install -m 0644 ${join(lab.dir, 'po.de.js')} ${dirname(INSTALLED.cockpitPage)}/po.de.js`);
    const server = await startCockpitWs(lab, 9090);
    const bus = await lab.connect();
    const browser = await launchBrowser(lab);
    try {
      await browser.addCookies([{ name: 'CockpitLang', value: 'de', url: server.url }]);
      const page = await browser.newPage();
      await page.goto(`${server.url}${PAGE_PATH}`);
      await page.locator('tr[data-interface="eth0"]').waitFor({ timeout: DEADLINE });
      t.is(await page.title(), '⟦Shared interfaces⟧');
      // What the host says is shown as it is: names, types, MACs, addresses, the service's reasons.
      const data = new Set(['—']);
      for (const i of await new ServiceClient(bus).listInterfaces()) {
        for (const value of [i.name, i.bridge, i.type, i.mac, i.reason, ...i.addresses, ...i.notes]) if (value !== '') data.add(value);
      }
      const escaped = (texts: string[]) => texts.filter((text) => !/^⟦[^]*⟧$/.test(text) && !data.has(text));
      t.deepEqual(escaped(await page.evaluate(TEXTS) as string[]), [], 'the list');
      await page.getByRole('button', { name: '⟦Share eth0⟧' }).click();
      await page.getByRole('dialog').waitFor();
      data.add('br-eth0');
      t.deepEqual(escaped(await page.evaluate(TEXTS) as string[]), [], 'the Share dialog');
    } finally {
      await browser.close();
      bus.close();
    }
  } finally {
    await lab.stop();
  }
});
