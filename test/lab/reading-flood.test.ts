// SPDX-License-Identifier: GPL-2.0-or-later
// An unauthenticated caller's readings are bounded and shared: uid 65534 floods GetInterfaceXML
// (16 connections × 8 in flight, each sent again when answered) while root lists and shares.
// The flooder's calls wait their turn (a few of a user's at once) and share one reading of the
// host, so it gets answers at the pace of those readings; every one of root's calls succeeds with the daemon's tasks far below the unit's TasksMax (a
// process that could not start would fail a Share). Times are printed, not asserted: the
// benchmark (test/bench/bench.ts, part 'flood') checks them against their targets.
import test from 'ava';
import { describeFlood, measureFlood, UNIT_TASKS_MAX } from './reading-flood';

test('a flood of GetInterfaceXML from uid 65534: its calls wait their turn and share readings, root\'s calls all answered, tasks bounded', async (t) => {
  const figures = await measureFlood();
  for (const line of describeFlood(figures)) t.log(line);
  const answers = figures.flooderAnswers;
  t.true((answers['ok'] ?? 0) > 0, 'the flooder\'s readings are still answered');
  t.deepEqual(Object.keys(answers).filter((name) => name !== 'ok' && name !== 'org.freedesktop.DBus.Error.LimitsExceeded'), [], JSON.stringify(answers));
  t.true(figures.flood.maxTasks < UNIT_TASKS_MAX, `at most ${figures.flood.maxTasks} tasks`);
});
