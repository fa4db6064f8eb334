// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { bridgeProblems, expectIdentityMove, identityProblems, unsharedProblems, type LiveHost, type LiveLink } from '../../src/bridge/verify';

const link = (name: string, mac: string, more: Partial<LiveLink> = {}): LiveLink => ({ name, mac, up: true, controller: undefined, kind: undefined, addresses: [], ...more });

const before: LiveHost = {
  links: new Map([
    ['eth0', link('eth0', '52:54:00:12:34:56', {
      addresses: [
        { cidr: '192.0.2.158/24', family: 4, global: true, dynamic: true },
        { cidr: '2001:db8::5054:ff:fe12:3456/64', family: 6, global: true, dynamic: true },
        { cidr: '2001:db8::8c2a:1f3b:99e0:4d1/64', family: 6, global: true, dynamic: true },
        { cidr: '2001:db8::10/64', family: 6, global: true, dynamic: false },
        { cidr: 'fe80::5054:ff:fe12:3456/64', family: 6, global: false, dynamic: false },
      ],
    })],
  ]),
  routes: [
    { family: 4, dst: 'default', dev: 'eth0', gateway: '192.0.2.1', kernel: false },
    { family: 4, dst: '192.0.2.0/24', dev: 'eth0', gateway: undefined, kernel: true },
    { family: 4, dst: '198.51.100.0/24', dev: 'eth0', gateway: '192.0.2.254', kernel: false },
  ],
};

test('the identity to move: IPv4, static and EUI-64 IPv6 addresses, user routes; not stable-privacy or link-local', (t) => {
  t.deepEqual(expectIdentityMove(before, 'eth0', 'br0', ['192.0.2.1']), {
    device: 'br0',
    addresses: ['192.0.2.158/24', '2001:db8::5054:ff:fe12:3456/64', '2001:db8::10/64'],
    routes: [{ family: 4, dst: 'default', gateway: '192.0.2.1' }, { family: 4, dst: '198.51.100.0/24', gateway: '192.0.2.254' }],
    gateways: ['192.0.2.1'],
    ipv4Lease: false,
  });
});

test('a NIC that held no IPv4 address and moves to DHCP: any lease will do, but one is needed', (t) => {
  const bare: LiveHost = { links: new Map([['eth0', link('eth0', '52:54:00:12:34:56')]]), routes: [] };
  const expectation = expectIdentityMove(bare, 'eth0', 'br0', [], true);
  t.true(expectation.ipv4Lease);
  const withoutLease: LiveHost = { links: new Map([['br0', link('br0', '52:54:00:12:34:56')]]), routes: [] };
  t.deepEqual(identityProblems(expectation, withoutLease, new Set()), ['br0 has no DHCP lease']);
  const leased: LiveHost = { links: new Map([['br0', link('br0', '52:54:00:12:34:56', { addresses: [{ cidr: '192.0.2.160/24', family: 4, global: true, dynamic: true }] })]]), routes: [] };
  t.deepEqual(identityProblems(expectation, leased, new Set()), []);
  t.false(expectIdentityMove(before, 'eth0', 'br0', [], true).ipv4Lease, 'a NIC with a lease expects that same address instead');
});

test('identity problems name what is missing', (t) => {
  const expectation = expectIdentityMove(before, 'eth0', 'br0', ['192.0.2.1']);
  const after: LiveHost = { links: new Map([['br0', link('br0', '52:54:00:12:34:56', { addresses: [{ cidr: '192.0.2.158/24', family: 4, global: true, dynamic: true }] })]]), routes: [] };
  t.deepEqual(identityProblems(expectation, after, new Set()), [
    'br0 lacks the address 2001:db8::5054:ff:fe12:3456/64',
    'br0 lacks the address 2001:db8::10/64',
    'br0 lacks the route default via 192.0.2.1',
    'br0 lacks the route 198.51.100.0/24 via 192.0.2.254',
    'the gateway 192.0.2.1 does not answer through br0',
  ]);
  t.deepEqual(identityProblems(expectation, { links: new Map(), routes: [] }, new Set()), ['br0 does not exist']);
});

test('IPv6 on the bridge: a tentative address (DAD running) counts as moved; one whose DAD failed does not', (t) => {
  const expectation = { device: 'br0', addresses: ['2001:db8::10/64', '2001:db8::5054:ff:fe12:3456/64'], routes: [], gateways: [], ipv4Lease: false };
  // `ip -j` marks a tentative address with "tentative": the kernel has it, so it is there.
  const addresses = [
    { cidr: '2001:db8::10/64', family: 6 as const, global: true, dynamic: false },
    { cidr: '2001:db8::5054:ff:fe12:3456/64', family: 6 as const, global: true, dynamic: true },
  ];
  const tentative: LiveHost = { links: new Map([['br0', link('br0', '52:54:00:12:34:56', { addresses })]]), routes: [] };
  t.deepEqual(identityProblems(expectation, tentative, new Set()), []);
  const failed: LiveHost = { links: new Map([['br0', link('br0', '52:54:00:12:34:56', { addresses: [addresses[0]!, { ...addresses[1]!, dadFailed: true }] })]]), routes: [] };
  t.deepEqual(identityProblems(expectation, failed, new Set()), [
    "br0's address 2001:db8::5054:ff:fe12:3456/64 failed duplicate address detection (another host on the LAN uses it)",
  ]);
});

test('bridge problems: MAC, port, STP', (t) => {
  const host: LiveHost = { links: new Map([
    ['br0', link('br0', '02:00:00:00:00:01', { kind: 'bridge', stp: true })],
    ['eth0', link('eth0', '52:54:00:12:34:56')],
  ]), routes: [] };
  t.deepEqual(bridgeProblems(host, 'eth0', 'br0', '52:54:00:12:34:56', false), [
    "br0 has the MAC 02:00:00:00:00:01, not the NIC's 52:54:00:12:34:56",
    'br0 has spanning tree on',
    'eth0 is not a port of br0',
  ]);
  t.deepEqual(unsharedProblems(host, 'eth0', 'br0'), ['the bridge br0 still exists']);
});
