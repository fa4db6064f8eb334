// SPDX-License-Identifier: GPL-2.0-or-later
// The `ip -j` reader: what verification believes about addresses comes from here.
import test from 'ava';
import { parseLinks } from '../../src/settings/kernel-observer';

test('ip -j addr: a tentative IPv6 address is kept as an address; a dadfailed one is marked', (t) => {
  // As iproute2 prints them (ip -j -d link show; ip -j addr show), trimmed to what is read.
  const details = [{ ifname: 'br0', address: '52:54:00:12:34:56', flags: ['UP'], linkinfo: { info_kind: 'bridge' } }];
  const addresses = [{
    ifname: 'br0',
    addr_info: [
      { family: 'inet6', local: '2001:db8::10', prefixlen: 64, scope: 'global', tentative: true },
      { family: 'inet6', local: '2001:db8::11', prefixlen: 64, scope: 'global', tentative: true, dadfailed: true },
    ],
  }];
  const br0 = parseLinks(details, addresses).get('br0');
  t.deepEqual(br0?.addresses, [
    { cidr: '2001:db8::10/64', family: 6, global: true, dynamic: false },
    { cidr: '2001:db8::11/64', family: 6, global: true, dynamic: false, dadFailed: true },
  ]);
});
