// SPDX-License-Identifier: GPL-2.0-or-later
// The `ip -j` reader: what verification believes about addresses comes from here.
import test from 'ava';
import { deviceBatch, linksMaybeListed, namesDevice, parseDeviceBatch, parseLinks } from '../../src/settings/kernel-observer';

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

test('ip -o monitor lines wake verification only when they name a watched device', (t) => {
  // As iproute2 6.1 printed them in the lab during a Share of eth0 through br0.
  const lines = {
    bridgeMade: '3: br0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default \\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff',
    nicAddressGone: 'Deleted 2: eth0    inet 192.0.2.158/24 brd 192.0.2.255 scope global dynamic noprefixroute eth0\\       valid_lft 3598sec preferred_lft 3598sec',
    nicRouteGone: 'Deleted default via 192.0.2.1 dev eth0 proto dhcp src 192.0.2.158 metric 100 ',
    portJoined: '2: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP group default \\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff link-netns lan',
    bridgeAddress: '3: br0    inet 192.0.2.158/24 brd 192.0.2.255 scope global dynamic noprefixroute br0\\       valid_lft 3600sec preferred_lft 3600sec',
    bridgeRoute: 'default via 192.0.2.1 dev br0 proto dhcp src 192.0.2.158 metric 425 ',
    otherBridge: '4: br01: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group default',
  };
  const woken = Object.entries(lines).filter(([, line]) => namesDevice(line, ['br0'])).map(([name]) => name);
  t.deepEqual(woken, ['bridgeMade', 'portJoined', 'bridgeAddress', 'bridgeRoute']);
  t.true(namesDevice(lines.nicAddressGone, ['eth0', 'br0']));
  t.true(namesDevice(lines.portJoined, ['eth0']), 'eth0@if2 is eth0');
});

test('one ip -batch reading of the devices in question: a device that is gone is no link, other tables\' routes are left out, families told apart', (t) => {
  t.is(deviceBatch(['gone0', 'eth0']), 'addr show dev gone0\naddr show dev eth0\nroute show table all dev gone0\nroute show table all dev eth0\n');
  // As `ip -j -d -force -batch -` (iproute2 6.1) printed that batch, trimmed to what is read.
  const stdout = [
    '[{"link":"lan0","ifname":"eth0","flags":["NO-CARRIER","BROADCAST","MULTICAST","UP","M-DOWN"],"mtu":1500,"operstate":"LOWERLAYERDOWN","address":"ba:fe:c0:2a:30:87","linkinfo":{"info_kind":"veth"},"addr_info":[{"family":"inet","local":"192.0.2.10","prefixlen":24,"scope":"global"},{"family":"inet6","local":"2001:db8::10","prefixlen":64,"scope":"global"}]}]',
    '[{"type":"unicast","dst":"198.51.100.0/24","gateway":"192.0.2.1","table":"100","protocol":"boot","flags":["linkdown"]},{"type":"unicast","dst":"default","gateway":"192.0.2.1","table":"main","protocol":"boot","flags":["linkdown"]},{"type":"unicast","dst":"192.0.2.0/24","table":"main","protocol":"kernel","flags":["linkdown"]},{"type":"local","dst":"192.0.2.10","table":"local","protocol":"kernel","flags":[]},{"type":"broadcast","dst":"192.0.2.255","table":"local","protocol":"kernel","flags":["linkdown"]},{"type":"unicast","dst":"2001:db8::/64","table":"main","protocol":"kernel","flags":["linkdown"],"pref":"medium"},{"type":"unicast","dst":"default","gateway":"2001:db8::1","table":"main","protocol":"boot","flags":["linkdown"],"pref":"medium"},{"type":"local","dst":"2001:db8::10","table":"local","protocol":"kernel","flags":[],"pref":"medium"},{"type":"multicast","dst":"ff00::/8","table":"local","protocol":"kernel","flags":["linkdown"],"pref":"medium"}]',
  ].join('\n');
  const stderr = 'Device "gone0" does not exist.\nCommand failed -:1\nCannot find device "gone0"\nCommand failed -:3\n';
  const host = parseDeviceBatch(['gone0', 'eth0'], stdout, stderr);
  t.deepEqual([...host.links.keys()], ['eth0']);
  t.like(host.links.get('eth0'), { kind: 'veth', up: true, mtu: 1500, addresses: [
    { cidr: '192.0.2.10/24', family: 4, global: true, dynamic: false },
    { cidr: '2001:db8::10/64', family: 6, global: true, dynamic: false },
  ] });
  t.deepEqual(host.routes, [
    { family: 4, dst: 'default', dev: 'eth0', gateway: '192.0.2.1', kernel: false },
    { family: 4, dst: '192.0.2.0/24', dev: 'eth0', gateway: undefined, kernel: true },
    { family: 6, dst: '2001:db8::/64', dev: 'eth0', gateway: undefined, kernel: true },
    { family: 6, dst: 'default', dev: 'eth0', gateway: '2001:db8::1', kernel: false },
  ]);
});

test('ip -j -d link: the links a person\'s listing may show, by the kernel\'s word alone', (t) => {
  // As iproute2 6.1 prints them, trimmed to what is read: a veth's peer here is named (link), one
  // in another namespace is not (link_netnsid).
  const links = [
    { ifname: 'lo', link_type: 'loopback' },
    { ifname: 'eth0', link_type: 'ether', link_index: 2, link_netnsid: 0, linkinfo: { info_kind: 'veth' } },
    { ifname: 'vb1', link_type: 'ether', link: 'vc1', linkinfo: { info_kind: 'veth' } },
    { ifname: 'vc1', link_type: 'ether', link: 'vb1', linkinfo: { info_kind: 'veth' } },
    { ifname: 'vnet0', link_type: 'ether', master: 'br0', linkinfo: { info_kind: 'tun' } },
    { ifname: 'tap1', link_type: 'ether', linkinfo: { info_kind: 'tun' } },
    { ifname: 'eth1', link_type: 'ether', master: 'br-eth1' },
    { ifname: 'br-eth1', link_type: 'ether', linkinfo: { info_kind: 'bridge' } },
    { ifname: 'eth2', link_type: 'ether' },
    { ifname: 'eth2.7', link_type: 'ether', link: 'eth2', linkinfo: { info_kind: 'vlan' } },
  ];
  t.deepEqual(linksMaybeListed(links), ['eth0', 'br-eth1', 'eth2', 'eth2.7']);
  t.deepEqual(linksMaybeListed('not a list'), []);
});
