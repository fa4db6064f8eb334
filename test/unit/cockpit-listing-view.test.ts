// SPDX-License-Identifier: GPL-2.0-or-later
// What the Cockpit page shows of a long listing (cockpit/src/listing-view.ts): the rows matching the
// filter box, a page at a time, with the counts its toolbar says.
import test from 'ava';
import { listingView, matchesFilter } from '../../cockpit/src/listing-view';
import type { ListedInterface } from '../../src/service/listed-interface';

function nic(name: string, more: Partial<ListedInterface> = {}): ListedInterface {
  return { name, bridge: '', type: 'veth', mac: '', carrier: true, shareable: false, reason: '', addresses: [], notes: [], ...more };
}

const eth0 = nic('eth0', { type: 'ethernet', mac: '52:54:00:12:34:56', bridge: 'br-eth0', addresses: ['192.0.2.10/24', '2001:db8::5054:ff:fe12:3456/64'], shareable: true });
const veths = Array.from({ length: 2500 }, (_, i) => nic(`vb${i + 1}`));

test('the filter matches a part of the name, type, MAC, bridge or an address, whatever the case; every word must match', (t) => {
  for (const text of ['', '  ', 'ETH', 'ethernet', '52:54:00:12', 'br-eth0', '192.0.2.', '2001:DB8::', 'eth0 192.0.2.10']) t.true(matchesFilter(eth0, text), text);
  for (const text of ['vb', 'eth0 veth', '198.51.100.', 'br-eth1']) t.false(matchesFilter(eth0, text), text);
});

test('a page of rows at a time, in the service\'s order, with how many match and how many there are', (t) => {
  const all = [eth0, ...veths];
  const first = listingView(all, '', 100);
  t.is(first.rows.length, 100);
  t.is(first.rows[0], eth0);
  t.deepEqual([first.matching, first.total], [2501, 2501]);
  t.is(listingView(all, '', 200).rows[199]?.name, 'vb199');

  const found = listingView(all, 'vb25', 100);
  t.deepEqual(found.rows.map((r) => r.name), ['vb25', ...Array.from({ length: 10 }, (_, i) => `vb25${i}`), 'vb2500']);
  t.deepEqual([found.matching, found.total], [12, 2501]);
  t.deepEqual(listingView(all, 'vb25', 5).rows.map((r) => r.name), ['vb25', 'vb250', 'vb251', 'vb252', 'vb253']);
  t.deepEqual(listingView(all, 'nothing', 100), { rows: [], matching: 0, total: 2501 });
  t.is(listingView(all, 'vb', 100).matching, 2500);
});
