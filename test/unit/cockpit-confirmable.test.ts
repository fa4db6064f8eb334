// SPDX-License-Identifier: GPL-2.0-or-later
// The Cockpit page decides whether to make changes under confirm-or-rollback by reading the
// service's Pending property. Only a service that says it has no such property goes without; a
// failure of the bus is an error, asked again next time, never a safety net quietly turned off.
import test from 'ava';
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../lab/lab';

type Service = { canConfirm(): Promise<boolean> };
type ServiceClass = new (events: object) => Service;

/** The page's service module as esbuild bundles it for the page, loaded into this process. */
function pageServiceClass(): ServiceClass {
  const dir = mkdtempSync(join(tmpdir(), 'cockpit-service.'));
  try {
    const file = join(dir, 'service.js');
    buildSync({ entryPoints: [join(REPO_ROOT, 'cockpit', 'src', 'service.ts')], bundle: true, format: 'cjs', platform: 'neutral', outfile: file, logLevel: 'silent' });
    writeFileSync(join(dir, 'package.json'), '{"type": "commonjs"}');
    return (require(file) as { SharedInterfaceService: ServiceClass }).SharedInterfaceService;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const SharedInterfaceService = pageServiceClass();

interface FakeCall { (path: string, iface: string, member: string, args: unknown[]): Promise<unknown[]> }

/** Loads the page's service module with a stand-in for cockpit.dbus whose calls `call` answers. */
function serviceWith(call: FakeCall): Service {
  const client = { call, subscribe: () => ({ remove() {} }), addEventListener: () => undefined, close: () => undefined };
  (globalThis as { cockpit?: unknown }).cockpit = { dbus: () => client, gettext: (s: string) => s, format: (s: string) => s };
  return new SharedInterfaceService({ changed() {}, progress() {}, closed() {}, propertiesChanged() {} });
}

const failure = (name: string) => Object.assign(new Error(name), { name });

test('a service with Pending: confirm-or-rollback on', async (t) => {
  t.true(await serviceWith(async () => [{ t: 'a{s(sst)}', v: {} }]).canConfirm());
});

test('a service that has no Pending property: off', async (t) => {
  t.false(await serviceWith(async () => { throw failure('org.freedesktop.DBus.Error.UnknownProperty'); }).canConfirm());
});

test('the bus failing while Pending is read: an error, and the next call asks again', async (t) => {
  let calls = 0;
  const service = serviceWith(async () => {
    calls += 1;
    if (calls === 1) throw failure('org.freedesktop.DBus.Error.NoReply');
    return [{ t: 'a{s(sst)}', v: {} }];
  });
  await t.throwsAsync(service.canConfirm(), { name: 'org.freedesktop.DBus.Error.NoReply' });
  t.true(await service.canConfirm());
  t.is(calls, 2);
});
