// SPDX-License-Identifier: GPL-2.0-or-later
// Every golden fixture (nm, ifcfg, libvirt) is what the code produces now, and belongs to a case.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_ROOT } from '../lab/lab';
import { GOLDEN_FAMILIES, orphans, REGENERATE_FIXTURES } from '../fixtures/golden';

for (const family of GOLDEN_FAMILIES) {
  test(`${family.name} golden fixtures are current (if a change is intended: ${REGENERATE_FIXTURES}, then review the diff)`, (t) => {
    const outputs = family.outputs();
    t.true(outputs.length > 0, 'a family without cases');
    const stale = outputs.filter(({ path, text }) => !existsSync(path) || readFileSync(path, 'utf8') !== text).map(({ path }) => relative(REPO_ROOT, path));
    t.deepEqual(stale, [], `stale: ${stale.join(', ')}; run ${REGENERATE_FIXTURES}`);
    t.deepEqual(orphans(family), [], `expected files without a case; run ${REGENERATE_FIXTURES}`);
  });
}
