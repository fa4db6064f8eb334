// SPDX-License-Identifier: GPL-2.0-or-later
// The one mapping from the ifcfg backend's errors to the domain's error codes.
import test from 'ava';
import { ShareError, type ShareErrorCode } from '../../src/bridge/share-error';
import { IfcfgError, type IfcfgErrorCode } from '../../src/settings/ifcfg/ifcfg-error';
import { translateIfcfgError } from '../../src/settings/ifcfg/ifcfg-share-error';

const expected: ReadonlyArray<[IfcfgErrorCode, ShareErrorCode]> = [
  ['InvalidSyntax', 'InvalidArgs'],
  ['InvalidValue', 'InvalidArgs'],
  ['UnsafeValue', 'InvalidArgs'],
  ['Unsupported', 'NotSupported'],
  ['Mismatch', 'NotShareable'],
  ['Internal', 'Failed'],
];

for (const [code, shareCode] of expected) {
  test(`IfcfgError ${code} → ShareError ${shareCode}, with its message, line and hint`, (t) => {
    const err = translateIfcfgError(new IfcfgError(code, 'DOMAIN is bad.', { key: 'DOMAIN', line: 7, hint: 'fix it' }), 'cannot share eth0');
    t.true(err instanceof ShareError);
    t.is(err.code, shareCode);
    t.is(err.message, 'cannot share eth0: DOMAIN is bad. (line 7)');
    t.is(err.hint, 'fix it');
  });
}

test('a ShareError passes through; anything else is Failed with its message', (t) => {
  const own = new ShareError('Busy', 'busy');
  t.is(translateIfcfgError(own, 'x'), own);
  const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  t.like(translateIfcfgError(denied, 'writing'), { code: 'Failed', message: 'writing: EACCES: permission denied' });
  t.truthy(translateIfcfgError(denied, 'writing').hint);
  t.like(translateIfcfgError('a string', 'doing'), { code: 'Failed', message: 'doing: a string' });
});
