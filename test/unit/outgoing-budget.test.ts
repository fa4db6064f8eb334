// SPDX-License-Identifier: GPL-2.0-or-later
// The budget of bytes sent to each connection and not yet proven read (outgoing-budget.ts):
// small limits, so each rule is visible in a few messages. No clock: proof is an answered Ping,
// never the passing of time.
import test from 'ava';
import { DROP_FACTOR, OutgoingBudget, type OutgoingLimits } from '../../src/dbus-wire/outgoing-budget';

const LIMITS: OutgoingLimits = {
  softBytes: 100, hardBytes: 1000, perUserBytes: 1500, totalBytes: 4000, backlogBytes: 500, pingsInFlight: 3, pingsPerUser: 2,
};

test('a reader: over the soft budget one Ping, whose answer proves everything before it read', (t) => {
  const budget = new OutgoingBudget(LIMITS);
  t.true(budget.charge(':1.1', 60));
  t.false(budget.takePing(':1.1'), 'under the soft budget: no Ping');
  t.true(budget.charge(':1.1', 60));
  t.true(budget.takePing(':1.1'));
  t.false(budget.takePing(':1.1'), 'one Ping in flight at a time');
  t.true(budget.charge(':1.1', 30)); // sent after the Ping: not proven by it
  budget.proven(':1.1');
  t.deepEqual(budget.figures, { unprovenBytes: 30, receivers: 1, pingsInFlight: 0 });
  t.false(budget.blocks(':1.1'));
});

test('a connection that does not read: calls refused past the hard budget, messages dropped past DROP_FACTOR times it', (t) => {
  const budget = new OutgoingBudget(LIMITS);
  let sent = 0;
  while (budget.charge(':1.2', 100)) sent += 100;
  t.true(budget.blocks(':1.2'));
  t.is(sent, LIMITS.hardBytes * DROP_FACTOR);
  t.true(budget.takePing(':1.2'));
  // Its Ping answered at last: everything before it was read; it may call again.
  budget.proven(':1.2');
  t.false(budget.blocks(':1.2'));
  t.true(budget.charge(':1.2', 100));
});

test('a reply larger than every budget still reaches a connection with nothing unproven', (t) => {
  const budget = new OutgoingBudget(LIMITS);
  t.true(budget.charge(':1.3', 50_000));
  t.false(budget.charge(':1.3', 10), 'the next waits for the proof');
  t.true(budget.takePing(':1.3'));
  budget.proven(':1.3');
  t.true(budget.charge(':1.3', 50_000));
});

test('one user\'s connections share its budget; another user\'s are not affected', (t) => {
  const budget = new OutgoingBudget(LIMITS);
  for (const name of [':1.10', ':1.11', ':1.12']) {
    t.true(budget.charge(name, 600));
    budget.assignUser(name, 65534);
  }
  t.true(budget.blocks(':1.10'), '1800 bytes to uid 65534, over its 1500');
  t.true(budget.blocks(':1.12'));
  t.true(budget.charge(':1.20', 600));
  budget.assignUser(':1.20', 1000);
  t.false(budget.blocks(':1.20'));
  // Pings: at most two in flight for the user, three in all.
  t.true(budget.takePing(':1.10'));
  t.true(budget.takePing(':1.11'));
  t.false(budget.takePing(':1.12'));
  t.true(budget.takePing(':1.20'));
  t.true(budget.charge(':1.21', 200));
  t.false(budget.takePing(':1.21'));
});

test('everyone\'s budget: past it every connection with bytes unproven is refused', (t) => {
  const budget = new OutgoingBudget(LIMITS);
  for (let i = 0; i < 5; i++) t.true(budget.charge(`:1.${30 + i}`, 900));
  t.true(budget.blocks(':1.30'));
  t.false(budget.blocks(':1.99'), 'one we never sent to calls as ever');
});

test('our socket\'s backlog: over its limit nothing more goes to a connection over its soft budget; a reader under it is served', (t) => {
  const budget = new OutgoingBudget(LIMITS);
  t.true(budget.charge(':1.40', 150));
  t.false(budget.charge(':1.40', 10, LIMITS.backlogBytes + 1));
  t.true(budget.charge(':1.41', 50));
  t.true(budget.charge(':1.41', 10, LIMITS.backlogBytes + 1));
  t.true(budget.charge(':1.40', 10, LIMITS.backlogBytes));
});

test('a connection that left: its bytes and its Ping are forgotten, and a late reply to it is not charged', (t) => {
  const budget = new OutgoingBudget(LIMITS);
  t.true(budget.charge(':1.50', 500));
  budget.assignUser(':1.50', 65534);
  t.true(budget.takePing(':1.50'));
  budget.departedFromBus(':1.50');
  t.deepEqual(budget.figures, { unprovenBytes: 0, receivers: 0, pingsInFlight: 0 });
  t.true(budget.charge(':1.50', 5000));
  t.false(budget.isNew(':1.50'));
  t.deepEqual(budget.figures, { unprovenBytes: 0, receivers: 0, pingsInFlight: 0 });
  // A Ping the bus refused frees its slot without proving anything.
  t.true(budget.charge(':1.51', 500));
  t.true(budget.takePing(':1.51'));
  budget.pingFailed(':1.51');
  t.deepEqual(budget.figures, { unprovenBytes: 500, receivers: 1, pingsInFlight: 0 });
  t.true(budget.takePing(':1.51'));
});
