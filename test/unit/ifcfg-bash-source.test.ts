// SPDX-License-Identifier: GPL-2.0-or-later
// Each golden file, sourced the way ifup does it (as root, by bash), must give exactly the values our
// parser reads and run nothing: no output, no error, no file created by a hostile value.

import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseShvar, shvarEntries } from '../../src/settings/ifcfg/ifcfg-shvar';
import { expectedPath, listCases, sourceInBash } from '../fixtures/ifcfg/golden';

for (const name of listCases()) {
  for (const which of ['bridge', 'nic'] as const) {
    test(`bash reads ${name}.${which}.expected exactly as we do`, (t) => {
      const file = expectedPath(name, which);
      const expected = shvarEntries(parseShvar(readFileSync(file, 'utf8')));
      const dir = mkdtempSync(join(tmpdir(), 'ifcfg-source-'));
      try {
        const sourced = sourceInBash(file, dir);
        t.is(sourced.status, 0);
        t.is(sourced.stderr, '');
        t.deepEqual(new Map([...sourced.vars].sort()), new Map([...expected].sort()));
        t.deepEqual(readdirSync(dir), [], 'sourcing created files');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
