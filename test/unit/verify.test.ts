// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import {
  bridgeProblems, defaultGateways, expectIdentityMove, identityProblems, ipv6Follows, laterArrived, unsharedProblems,
  type IpRequirements, type LiveHost, type LiveLink,
} from '../../src/bridge/verify';

const IPV6_REQUIRED: IpRequirements = { ipv4Dhcp: false, ipv6Required: true };
const DHCP: IpRequirements = { ipv4Dhcp: true, ipv6Required: false };

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
    { family: 6, dst: 'default', dev: 'eth0', gateway: 'fe80::1', kernel: true },
  ],
};

test('the identity to move: IPv4, static and EUI-64 IPv6 addresses, user routes; not stable-privacy or link-local', (t) => {
  t.deepEqual(expectIdentityMove(before, 'eth0', 'br0', ['192.0.2.1'], IPV6_REQUIRED), {
    device: 'br0',
    addresses: ['192.0.2.158/24', '2001:db8::5054:ff:fe12:3456/64', '2001:db8::10/64'],
    routes: [{ family: 4, dst: 'default', gateway: '192.0.2.1' }, { family: 4, dst: '198.51.100.0/24', gateway: '192.0.2.254' }],
    gateways: ['192.0.2.1'],
    ipv4Lease: false,
    later: [],
  });
});

test('IPv6 not required and IPv4 there: autoconfigured IPv6 addresses and IPv6 gateways are followed, not awaited', (t) => {
  t.true(ipv6Follows(before, 'eth0', DHCP));
  const expectation = expectIdentityMove(before, 'eth0', 'br0', ['192.0.2.1'], DHCP);
  // The static IPv6 address is there at once (tentative counts): still awaited.
  t.deepEqual(expectation.addresses, ['192.0.2.158/24', '2001:db8::10/64']);
  t.deepEqual(expectation.later, ['2001:db8::5054:ff:fe12:3456/64']);
  t.deepEqual(defaultGateways(before, 'eth0', DHCP), ['192.0.2.1']);
  t.deepEqual(defaultGateways(before, 'eth0', IPV6_REQUIRED), ['192.0.2.1', 'fe80::1']);
  // Only IPv6 to prove the host reachable: it is awaited, whatever the profile says.
  const v6only: LiveHost = { links: new Map([['eth0', link('eth0', '52:54:00:12:34:56', { addresses: [{ cidr: '2001:db8::5054:ff:fe12:3456/64', family: 6, global: true, dynamic: true }] })]]), routes: before.routes };
  t.false(ipv6Follows(v6only, 'eth0', { ipv4Dhcp: false, ipv6Required: false }));
  t.deepEqual(expectIdentityMove(v6only, 'eth0', 'br0', []).addresses, ['2001:db8::5054:ff:fe12:3456/64']);
  // A DHCP lease still to come is IPv4 enough.
  t.true(ipv6Follows(v6only, 'eth0', DHCP));
});

test('the followed addresses: arrived once the device carries them, not while their DAD failed', (t) => {
  const later = ['2001:db8::5054:ff:fe12:3456/64'];
  const address = { cidr: '2001:db8::5054:ff:fe12:3456/64', family: 6 as const, global: true, dynamic: true };
  t.deepEqual(laterArrived({ links: new Map([['br0', link('br0', '52:54:00:12:34:56')]]), routes: [] }, 'br0', later), []);
  t.deepEqual(laterArrived({ links: new Map([['br0', link('br0', '52:54:00:12:34:56', { addresses: [address] })]]), routes: [] }, 'br0', later), later);
  t.deepEqual(laterArrived({ links: new Map([['br0', link('br0', '52:54:00:12:34:56', { addresses: [{ ...address, dadFailed: true }] })]]), routes: [] }, 'br0', later), []);
});

test('a NIC that held no IPv4 address and moves to DHCP: any lease will do, but one is needed', (t) => {
  const bare: LiveHost = { links: new Map([['eth0', link('eth0', '52:54:00:12:34:56')]]), routes: [] };
  const expectation = expectIdentityMove(bare, 'eth0', 'br0', [], DHCP);
  t.true(expectation.ipv4Lease);
  const withoutLease: LiveHost = { links: new Map([['br0', link('br0', '52:54:00:12:34:56')]]), routes: [] };
  t.deepEqual(identityProblems(expectation, withoutLease, new Set()), ['br0 has no DHCP lease']);
  const leased: LiveHost = { links: new Map([['br0', link('br0', '52:54:00:12:34:56', { addresses: [{ cidr: '192.0.2.160/24', family: 4, global: true, dynamic: true }] })]]), routes: [] };
  t.deepEqual(identityProblems(expectation, leased, new Set()), []);
  t.false(expectIdentityMove(before, 'eth0', 'br0', [], DHCP).ipv4Lease, 'a NIC with a lease expects that same address instead');
});

test('identity problems name what is missing', (t) => {
  const expectation = expectIdentityMove(before, 'eth0', 'br0', ['192.0.2.1'], IPV6_REQUIRED);
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
  const expectation = { device: 'br0', addresses: ['2001:db8::10/64', '2001:db8::5054:ff:fe12:3456/64'], routes: [], gateways: [], ipv4Lease: false, later: [] };
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
