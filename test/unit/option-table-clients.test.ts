// SPDX-License-Identifier: GPL-2.0-or-later
// The clients that cannot import the domain's table of options (src/bridge/request-options.ts)
// keep their own copy, checked against it here: a row changed in one place and not the other
// fails. The Cockpit page's strings stay literal so gettext can extract them.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METHOD_OPTIONS, REQUEST_OPTIONS, optionRow, type OptionName } from '../../src/bridge/request-options';
import { CONFIRM_TIMEOUT_SECONDS } from '../../cockpit/src/api';
import { REPO_ROOT } from '../lab/lab';

const byKey = new Map(Object.keys(REQUEST_OPTIONS).map((name) => [optionRow(name as OptionName).key, name as OptionName]));
const cockpitSource = (file: string) => readFileSync(join(REPO_ROOT, 'cockpit', 'src', file), 'utf8');

test('the Cockpit page sends each option under the table\'s key with the table\'s wire type, to a method that takes it', (t) => {
  const service = cockpitSource('service.ts');
  const sent = [...service.matchAll(/(?:dict\['([a-z-]+)'\]\s*=|'([a-z-]+)':|\{ ([a-z]+):)\s*\{ t: '([a-z]+)'/g)].map((m): [string, string] => [m[1] ?? m[2] ?? m[3] ?? '', m[4] ?? '']);
  t.true(sent.length >= 5, `found ${sent.map(([k]) => k).join(', ')}`);
  const pageMethods: readonly OptionName[] = [...METHOD_OPTIONS.Share, ...METHOD_OPTIONS.Unshare, ...METHOD_OPTIONS.ListInterfacesFiltered];
  for (const [key, type] of sent) {
    const name = byKey.get(key);
    t.not(name, undefined, `'${key}' is an option of the table`);
    if (name === undefined) continue;
    t.is(type, optionRow(name).type, `'${key}' is sent as ${optionRow(name).type}`);
    t.true(pageMethods.includes(name), `'${key}' is Share's, Unshare's or ListInterfacesFiltered's`);
  }
  const confirm = optionRow('confirmTimeout');
  t.true(confirm.type === 'u' && CONFIRM_TIMEOUT_SECONDS >= 1 && CONFIRM_TIMEOUT_SECONDS <= confirm.max);
});

test('the Share dialog\'s forward delay field has the table\'s range and default', (t) => {
  const dialog = cockpitSource('share-dialog.ts');
  const field = /name: 'forward-delay', min: '(\d+)', max: '(\d+)', value: '(\d+)'/.exec(dialog);
  const row = optionRow('forwardDelay');
  t.deepEqual(field?.slice(1).map(Number), row.type === 'u' ? [row.min, row.max, row.default] : []);
});
