// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { NmChangeWaiters } from '../../src/settings/nm/nm-change-waiters';
import { FakeClock } from './fake-clock';

test('a condition that holds already resolves true at once, with no timer', async (t) => {
  const clock = new FakeClock();
  const waiters = new NmChangeWaiters(clock);
  t.true(await waiters.until(() => true, 2000));
  t.is(clock.scheduled, 0);
});

test('a condition is looked at again at each change, and its timer is cancelled once it holds', async (t) => {
  const clock = new FakeClock();
  const waiters = new NmChangeWaiters(clock);
  let holds = false;
  let looked = 0;
  const waiting = waiters.until(() => { looked += 1; return holds; }, 2000);
  waiters.check();
  t.is(looked, 2);
  holds = true;
  waiters.check();
  t.true(await waiting);
  t.is(clock.scheduled, 0);
  waiters.check();
  t.is(looked, 3, 'a condition that held is not looked at again');
});

test('a condition that never holds resolves false after its timeout, on the Clock', async (t) => {
  const clock = new FakeClock();
  const waiters = new NmChangeWaiters(clock);
  let settled = false;
  const waiting = waiters.until(() => false, 2000).then((held) => { settled = true; return held; });
  clock.advance(1999);
  await Promise.resolve();
  t.false(settled);
  clock.advance(1);
  t.false(await waiting);
  waiters.check();
});
