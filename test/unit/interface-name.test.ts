// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { interfaceNameProblem } from '../../src/bridge/interface-name';

for (const good of ['eth0', 'enp0s31f6', 'br-eth0', 'bond0.100', 'a', 'x'.repeat(15), '_x']) {
  test(`accepted: ${good}`, (t) => t.is(interfaceNameProblem(good), undefined));
}

for (const bad of ['', '.', '..', 'x'.repeat(16), 'eth/0', 'eth:0', 'eth 0', 'eth\t0', 'eth\n0', 'eth%d', 'x$(touch /tmp/p)', '`id`', 'a;b', "a'b", 'a"b', 'ä'.repeat(8), '../x', '-x', '.x', 'wlp2s0+', 'br+', '+x']) {
  test(`refused: ${JSON.stringify(bad)}`, (t) => t.truthy(interfaceNameProblem(bad)));
}
