// SPDX-License-Identifier: GPL-2.0-or-later
// The Cockpit page's words reach translators: every text a user reads goes through _() (or
// N_()), and po/shared-interface.pot holds exactly what the sources mark (the build writes it).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lab';

const EXTRACTOR = join(REPO_ROOT, 'cockpit', 'extract-pot.mjs');

test('no text of the page escapes _(), and the committed template is the sources\'', (t) => {
  const run = () => execFileSync(process.execPath, [EXTRACTOR, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.notThrows(run, 'cockpit/extract-pot.mjs --check');
});

test('the template has the page\'s texts, the manifest\'s label and keywords, and where each is used', (t) => {
  const pot = readFileSync(join(REPO_ROOT, 'po', 'shared-interface.pot'), 'utf8');
  for (const text of ['Shared interfaces', 'Share $0', 'Unshare anyway', 'The interface is busy', 'virtual machine', 'Waiting:']) {
    t.true(pot.includes(`msgid "${text}"`), text);
  }
  t.regex(pot, /#: cockpit\/src\/interface-table\.ts:\d+\nmsgid "Can be shared"/);
  t.regex(pot, /#: cockpit\/manifest\.json:menu\.index\.label\n/);
});
