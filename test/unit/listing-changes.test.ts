// SPDX-License-Identifier: GPL-2.0-or-later
// InterfacesChanged's source: one announcement per burst, only the entries that changed, and
// nothing when the listing shows nothing new; and how `monitor` words a change.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListingChanges } from '../../src/service/listing-changes';
import { FakeClock } from './fake-clock';
import type { ListedInterface } from '../../src/service/listed-interface';
import { applyChange, describeChange } from '../../src/cli/monitor-command';

function nic(name: string, extra: Partial<ListedInterface> = {}): ListedInterface {
  return { name, bridge: '', type: 'ethernet', mac: '52:54:00:00:00:01', carrier: true, shareable: true, reason: '', addresses: [], notes: [], ...extra };
}

function recorder(initial: readonly ListedInterface[]) {
  let listing = initial;
  const announced: Array<{ changed: string[]; removed: readonly string[] }> = [];
  const changes = new ListingChanges(() => listing, (changed, removed) => announced.push({ changed: changed.map((i) => i.name), removed }), { quietMs: 20, maxDelayMs: 200 });
  changes.start();
  return { changes, announced, set: (next: readonly ListedInterface[]) => { listing = next; } };
}

test('a burst of events is one announcement of the entries that changed, appeared or went', async (t) => {
  const r = recorder([nic('eth0'), nic('eth1'), nic('lo', { type: 'loopback', shareable: false })]);
  for (let i = 0; i < 50; i++) r.changes.changed();
  r.set([nic('eth0', { addresses: ['192.0.2.7/24'] }), nic('eth1'), nic('br-eth0', { type: 'bridge' })]);
  r.changes.changed();
  await sleep(100);
  t.deepEqual(r.announced, [{ changed: ['eth0', 'br-eth0'], removed: ['lo'] }]);
  r.changes.close();
});

test('events that change nothing the listing shows announce nothing', async (t) => {
  const r = recorder([nic('eth0')]);
  r.set([nic('eth0')]);
  r.changes.changed();
  await sleep(100);
  t.deepEqual(r.announced, []);
  r.changes.close();
});

test('a steady stream of events is announced at most maxDelayMs after its first', async (t) => {
  const r = recorder([nic('eth0')]);
  r.set([nic('eth0', { carrier: false })]);
  const started = Date.now();
  while (r.announced.length === 0 && Date.now() - started < 2000) {
    r.changes.changed();
    await sleep(5);
  }
  t.is(r.announced.length, 1, 'announced while events kept coming');
  r.changes.close();
});

test('monitor words each change of an interface in a line', (t) => {
  t.deepEqual(describeChange(undefined, nic('eth1', { addresses: ['192.0.2.9/24'] })), ['eth1: appeared (ethernet, shareable, 192.0.2.9/24)']);
  t.deepEqual(describeChange(nic('eth1'), undefined), ['eth1: gone']);
  t.deepEqual(describeChange(nic('eth0', { addresses: ['192.0.2.1/24'] }), nic('eth0', { bridge: 'br-eth0', shareable: false, reason: 'already shared', carrier: false, addresses: ['192.0.2.2/24'] })), [
    'eth0: shared through br-eth0', 'eth0: carrier off', 'eth0: address 192.0.2.2/24 added', 'eth0: address 192.0.2.1/24 removed',
  ]);
  t.deepEqual(describeChange(nic('lo'), nic('lo', { shareable: false, reason: 'loopback\nhint' })), ['lo: not shareable: loopback']);
  const known = new Map([['eth0', nic('eth0')]]);
  t.deepEqual(applyChange(known, { changed: [nic('eth0', { carrier: false })], removed: ['eth0', 'gone0'] }), ['eth0: carrier off', 'eth0: gone']);
  t.deepEqual([...known.keys()], []);
});

test('on the injected clock: a burst is announced quietMs after its last event, a steady stream maxDelayMs after its first', (t) => {
  const clock = new FakeClock();
  let listing: readonly ListedInterface[] = [nic('eth0')];
  const announced: string[][] = [];
  const changes = new ListingChanges(() => listing, (changed) => announced.push(changed.map((i) => i.name)), { quietMs: 20, maxDelayMs: 200 }, clock);
  changes.start();
  listing = [nic('eth0', { carrier: false })];
  changes.changed();
  clock.advance(19);
  t.deepEqual(announced, []);
  clock.advance(1);
  t.deepEqual(announced, [['eth0']]);

  listing = [nic('eth0'), nic('eth1')];
  let events = 0;
  while (announced.length === 1) {
    changes.changed();
    events++;
    clock.advance(10);
  }
  t.is(events, 20, 'announced 200 ms after the first event, though events kept coming every 10 ms');
  changes.changed();
  t.is(clock.scheduled, 1);
  changes.close();
  t.is(clock.scheduled, 0, 'close cancels the timer');
});
