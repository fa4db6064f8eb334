// SPDX-License-Identifier: GPL-2.0-or-later
// `shared-interface list`'s footnotes at thousands of links: interfaces not shareable for the same
// reason share one footnote (their names, then a count), so `list --all` on a container host says
// why its veths can't be shared in one line, not thousands.
import test from 'ava';
import { footnotes, type Row } from '../../src/cli/list-command';
import { formatErrorMessage } from '../../src/service/error-message';
import type { ListedInterface } from '../../src/service/listed-interface';

function row(name: string, more: Partial<ListedInterface> = {}): Row {
  return { nic: { name, bridge: '', type: 'veth', mac: '', carrier: true, shareable: false, reason: '', addresses: [], notes: [], ...more }, pending: undefined };
}

const unmanaged = (name: string) => row(name, { reason: formatErrorMessage('NetworkManager does not manage it', `let NetworkManager manage it first: nmcli device set ${name} managed yes`) });
const FIELDS = ['interface', 'type', 'carrier', 'state', 'bridge', 'addresses'];

test('thousands of veths not shareable for one reason: one footnote, a few names and a count, the hint once', (t) => {
  const rows = [row('eth0', { shareable: true, type: 'ethernet' }), ...Array.from({ length: 5000 }, (_, i) => unmanaged(`v${i + 1}`))];
  t.deepEqual(footnotes(rows, FIELDS, 200), [
    'v1, v2, v3 and 4997 more: not shareable: NetworkManager does not manage it',
    'hint: let NetworkManager manage it first: nmcli device set v1 managed yes (and likewise for the others)',
  ]);
});

test('one interface, or a few, are named as before; other reasons keep their own footnote, in the listing\'s order', (t) => {
  const rows = [row('lo', { reason: 'the loopback interface carries no traffic to other machines' }), unmanaged('vb1'), row('br0', { reason: 'it is a bridge itself; guests can attach to it directly' }), unmanaged('vb2')];
  t.deepEqual(footnotes(rows, FIELDS, 200), [
    'lo: not shareable: the loopback interface carries no traffic to other machines',
    'vb1, vb2: not shareable: NetworkManager does not manage it',
    'hint: let NetworkManager manage it first: nmcli device set vb1 managed yes (and likewise for the others)',
    'br0: not shareable: it is a bridge itself; guests can attach to it directly',
  ]);
  t.deepEqual(footnotes([unmanaged('vb7')], FIELDS, 200), [
    'vb7: not shareable: NetworkManager does not manage it',
    'hint: let NetworkManager manage it first: nmcli device set vb7 managed yes',
  ]);
  t.deepEqual(footnotes(rows, [...FIELDS, 'reason'], 200), [], 'a reason column says it in the table');
});
