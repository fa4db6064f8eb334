// SPDX-License-Identifier: GPL-2.0-or-later
// Costly readings admitted by user: a few run, the next wait in their user's queue (in order),
// beyond the queues' bounds they are refused; one user's queue never holds up another's turn.
import test from 'ava';
import { AdmissionRefused, UserAdmission } from '../../src/service/user-admission';

const t0 = Date.now();
/** Long enough for any turn handed on so far: its pause is at most as long as the test has run. */
const tick = () => new Promise((resolve) => setTimeout(resolve, Date.now() - t0 + 20));

test('a user\'s readings beyond its running share wait in order; beyond its queue they are refused; other users go ahead', async (t) => {
  const admission = new UserAdmission({ runningPerUser: 2, waitingPerUser: 2, waiting: 3 });
  const started: string[] = [];
  const take = (uid: number, name: string) => admission.admit(uid).then((release) => { started.push(name); return release; });
  const a1 = take(65534, 'a1');
  const a2 = take(65534, 'a2');
  const a3 = take(65534, 'a3');
  const a4 = take(65534, 'a4');
  await t.throwsAsync(take(65534, 'a5'), { instanceOf: AdmissionRefused, message: /2 wait \(at most 2\)/ });
  // Another user is not behind the first one's queue…
  const b1 = take(1000, 'b1');
  await tick();
  t.deepEqual(started, ['a1', 'a2', 'b1']);
  // …and every queue together is bounded too.
  const b2 = take(1000, 'b2');
  const b3 = take(1000, 'b3');
  await t.throwsAsync(take(1000, 'b4'), { instanceOf: AdmissionRefused, message: /3 readings wait \(at most 3\)/ });
  (await a1)();
  await tick();
  t.deepEqual(started, ['a1', 'a2', 'b1', 'b2', 'a3']);
  (await a2)();
  (await b1)();
  await tick();
  // Each user's in order; between users, whichever pause ended first.
  t.deepEqual(started.slice(0, 5), ['a1', 'a2', 'b1', 'b2', 'a3']);
  t.deepEqual(started.slice(5).sort(), ['a4', 'b3']);
  for (const release of await Promise.all([a3, a4, b2, b3])) release();
  // All released: a user's full share is free again.
  const again = await Promise.all([take(65534, 'c1'), take(65534, 'c2')]);
  t.deepEqual(started.slice(-2), ['c1', 'c2']);
  for (const release of again) release();
});

test('a waiting call is let in after a pause as long as the reading that freed its turn took', async (t) => {
  const admission = new UserAdmission({ runningPerUser: 1, waitingPerUser: 4, waiting: 4 });
  const first = await admission.admit(65534);
  let secondAt = 0;
  const second = admission.admit(65534).then((release) => { secondAt = Date.now(); return release; });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const freedAt = Date.now();
  first();
  (await second)();
  t.true(secondAt - freedAt >= 150, `let in ${secondAt - freedAt} ms after the 200 ms reading ended`);
  // Nothing waiting: no pause.
  const start = Date.now();
  (await admission.admit(65534))();
  t.true(Date.now() - start < 50);
});
