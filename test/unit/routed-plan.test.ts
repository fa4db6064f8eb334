// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's plan: the sysctls it sets, dnsmasq's relay arguments, which guests get a route
// and a proxy ARP entry, and what it says when the uplink's address changes.
import test from 'ava';
import {
  bridgeAddress, hostRouteDestinations, parseNeighbours, planGuests, primaryIpv4, relayArgv, routedLinksProblem,
  routedSysctls, routeGateways, subnetOf, sysctlName, UNANSWERED_GRACE_MS, uplinkChange, type GuestPlanInput,
} from '../../src/settings/routed/routed-plan';
import { parseJson } from '../../src/settings/json-codec';
import { routedStateCodec } from '../../src/settings/routed/routed-state';

const links = { uplink: 'wlp2s0', bridge: 'br-wlp2s0' };
const uplink = { address: '192.0.2.10', prefixLength: 24 };

test('the sysctls are per interface, never the host-wide ip_forward', (t) => {
  t.deepEqual(routedSysctls(links).map((s) => `${sysctlName(s.path)}=${s.value}`), [
    'net/ipv4/conf/wlp2s0/forwarding=1',
    'net/ipv4/conf/br-wlp2s0/forwarding=1',
    'net/ipv4/conf/br-wlp2s0/proxy_arp=1',
    'net/ipv4/neigh/wlp2s0/proxy_delay=0',
    'net/ipv4/neigh/br-wlp2s0/proxy_delay=0',
  ]);
  // A VLAN's name has a dot: a path component, not a sysctl separator.
  t.deepEqual(routedSysctls({ uplink: 'eth0.100', bridge: 'br0' })[0]?.path, ['net', 'ipv4', 'conf', 'eth0.100', 'forwarding']);
});

test('the links are checked: names, and the uplink is not its own bridge', (t) => {
  t.is(routedLinksProblem(links), undefined);
  t.regex(routedLinksProblem({ uplink: 'eth0', bridge: 'eth0' }) ?? '', /must differ/);
  t.regex(routedLinksProblem({ uplink: 'eth0', bridge: '-x' }) ?? '', /not allowed/);
});

test('the bridge borrows the uplink address as a /32; the relay gives it as giaddr, broadcast or to a server', (t) => {
  t.deepEqual(bridgeAddress(uplink), { address: '192.0.2.10', prefixLength: 32 });
  const broadcast = relayArgv(links, uplink, { pidFile: '/run/x.pid' });
  t.true(broadcast.includes('--dhcp-relay=192.0.2.10,wlp2s0'));
  t.true(broadcast.includes('--interface=br-wlp2s0'));
  t.true(broadcast.includes('--port=0'), 'no DNS');
  t.true(broadcast.includes('--conf-file=/dev/null'), "never the host's dnsmasq.conf");
  t.true(relayArgv(links, uplink, { pidFile: '/run/x.pid', server: '192.0.2.1' }).includes('--dhcp-relay=192.0.2.10,192.0.2.1,wlp2s0'));
});

const input = (over: Partial<GuestPlanInput>): GuestPlanInput => ({
  uplink, gateways: ['192.0.2.1'], bridgeNeighbours: [], uplinkNeighbours: [], routes: [], proxies: [], known: [], bridgeMacs: [], nowMs: 1_000_000, ...over,
});

test('a live neighbour on the bridge on the uplink subnet is a guest: route and proxy entry added', (t) => {
  const plan = planGuests(input({
    bridgeNeighbours: [
      { address: '192.0.2.151', mac: '52:54:00:00:00:0B', states: ['STALE'] },
      { address: '192.0.2.150', mac: '52:54:00:00:00:0a', states: ['REACHABLE'] },
      { address: '192.0.2.160', mac: undefined, states: ['INCOMPLETE'] },
      { address: '192.0.2.161', mac: '52:54:00:00:00:0c', states: ['FAILED'] },
    ],
  }));
  t.deepEqual(plan.guests, [{ address: '192.0.2.150', mac: '52:54:00:00:00:0a' }, { address: '192.0.2.151', mac: '52:54:00:00:00:0b' }]);
  t.deepEqual(plan.addRoutes, ['192.0.2.150', '192.0.2.151']);
  t.deepEqual(plan.addProxies, ['192.0.2.150', '192.0.2.151']);
  t.deepEqual([plan.removeRoutes, plan.removeProxies], [[], []]);
});

test('a guest gone (entry failed or removed) loses its route and proxy entry; one kept is left alone', (t) => {
  const plan = planGuests(input({
    bridgeNeighbours: [{ address: '192.0.2.150', mac: '52:54:00:00:00:0a', states: ['STALE'] }, { address: '192.0.2.151', mac: '52:54:00:00:00:0b', states: ['FAILED'] }],
    routes: ['192.0.2.150', '192.0.2.151', '192.0.2.152'], proxies: ['192.0.2.150', '192.0.2.151'],
  }));
  t.deepEqual([plan.addRoutes, plan.addProxies], [[], []]);
  t.deepEqual(plan.removeRoutes, ['192.0.2.151', '192.0.2.152']);
  t.deepEqual(plan.removeProxies, ['192.0.2.151']);
});

test('a guest that stops answering ARP keeps its route while its MAC is on the bridge, for the grace time at most', (t) => {
  const guest = { address: '192.0.2.150', mac: '52:54:00:00:00:0a' };
  const failed = [{ address: guest.address, mac: undefined, states: ['FAILED'] }];
  const held = planGuests(input({ bridgeNeighbours: failed, known: [guest], bridgeMacs: ['52:54:00:00:00:0A'], routes: [guest.address], proxies: [guest.address] }));
  t.deepEqual(held.guests, [{ ...guest, unansweredSince: 1_000_000 }]);
  t.deepEqual([held.removeRoutes, held.removeProxies], [[], []]);
  const expired = planGuests(input({ bridgeNeighbours: failed, known: [{ ...guest, unansweredSince: 1_000_000 - UNANSWERED_GRACE_MS }], bridgeMacs: [guest.mac], routes: [guest.address], proxies: [guest.address] }));
  t.deepEqual([expired.guests, expired.removeRoutes], [[], [guest.address]]);
  const left = planGuests(input({ bridgeNeighbours: failed, known: [guest], bridgeMacs: [], routes: [guest.address], proxies: [guest.address] }));
  t.deepEqual([left.guests, left.removeRoutes, left.removeProxies], [[], [guest.address], [guest.address]], 'its MAC gone from the bridge: gone at once');
  const back = planGuests(input({ bridgeNeighbours: [{ ...guest, states: ['REACHABLE'] }], known: [{ ...guest, unansweredSince: 999_000 }], bridgeMacs: [guest.mac] }));
  t.deepEqual(back.guests, [guest], 'answering again clears it');
});

test("a guest cannot take the gateway, the host's address, a LAN host's, or one off the subnet", (t) => {
  const mac = '52:54:00:00:00:66';
  const plan = planGuests(input({
    bridgeNeighbours: ['192.0.2.1', '192.0.2.10', '192.0.2.0', '192.0.2.255', '192.0.2.20', '198.51.100.7', '192.0.2.21'].map((address) => ({ address, mac, states: ['STALE'] })),
    uplinkNeighbours: [{ address: '192.0.2.20', mac: 'aa:bb:cc:dd:ee:ff', states: ['REACHABLE'] }, { address: '192.0.2.21', mac: 'aa:bb:cc:dd:ee:fe', states: ['STALE'] }],
  }));
  t.deepEqual(plan.refused.map((r) => `${r.address}: ${r.reason}`), [
    "192.0.2.1: the uplink's gateway",
    "192.0.2.10: the host's own address",
    '192.0.2.0: the network or broadcast address of 192.0.2.0/24',
    '192.0.2.255: the network or broadcast address of 192.0.2.0/24',
    '192.0.2.20: a host on the LAN answers for it on the uplink',
    "198.51.100.7: not on the uplink's subnet 192.0.2.0/24",
  ]);
  // A LAN neighbour merely remembered (STALE) does not keep a guest out: a lease may move.
  t.deepEqual(plan.guests.map((g) => g.address), ['192.0.2.21']);
});

test('without an uplink address no guest is routed, and every route and proxy entry goes', (t) => {
  const plan = planGuests(input({ uplink: undefined, bridgeNeighbours: [{ address: '192.0.2.150', mac: '52:54:00:00:00:0a', states: ['STALE'] }], routes: ['192.0.2.150'], proxies: ['192.0.2.150'] }));
  t.deepEqual([plan.guests, plan.refused, plan.removeRoutes, plan.removeProxies], [[], [], ['192.0.2.150'], ['192.0.2.150']]);
});

test("the uplink's address changing: same subnet, another subnet (roaming), lost, back", (t) => {
  t.is(uplinkChange(uplink, uplink), undefined);
  t.regex(uplinkChange(uplink, { address: '192.0.2.11', prefixLength: 24 }) ?? '', /same subnet: guests keep their addresses/);
  t.regex(uplinkChange(uplink, { address: '198.51.100.4', prefixLength: 24 }) ?? '', /moved from 192\.0\.2\.0\/24 to 198\.51\.100\.0\/24 .* until they renew their lease/);
  t.regex(uplinkChange(uplink, undefined) ?? '', /lost its IPv4 address/);
  t.regex(uplinkChange(undefined, uplink) ?? '', /relaying from it/);
  t.is(subnetOf({ address: '10.1.2.3', prefixLength: 8 }), '10.0.0.0/8');
});

test('ip -j readings: the primary address, neighbours, gateways, our /32 routes', (t) => {
  // As iproute2 6.1 prints them in the lab.
  t.deepEqual(primaryIpv4([{ ifname: 'eth0', addr_info: [
    { family: 'inet', local: '192.0.2.9', prefixlen: 24, scope: 'global', secondary: true },
    { family: 'inet', local: '192.0.2.158', prefixlen: 24, scope: 'global', dynamic: true },
  ] }]), { address: '192.0.2.158', prefixLength: 24 });
  t.is(primaryIpv4([{ ifname: 'eth0', addr_info: [] }]), undefined);
  t.deepEqual(parseNeighbours([{ dst: '192.0.2.144', lladdr: '52:54:00:00:00:0a', state: ['STALE'] }, { dst: 'fe80::1', lladdr: 'aa:bb:cc:dd:ee:ff', state: ['REACHABLE'] }]),
    [{ address: '192.0.2.144', mac: '52:54:00:00:00:0a', states: ['STALE'] }]);
  t.deepEqual(routeGateways([{ dst: 'default', gateway: '192.0.2.1', protocol: 'dhcp' }, { dst: '192.0.2.0/24', protocol: 'kernel' }]), ['192.0.2.1']);
  t.deepEqual(hostRouteDestinations([{ dst: '192.0.2.150', dev: 'br9', scope: 'link' }, { dst: '192.0.2.151/32' }]), ['192.0.2.150', '192.0.2.151']);
});

test('the state file is read back through its codec; a damaged one is refused', (t) => {
  const state = {
    uplink: 'eth0', bridge: 'br-eth0', pid: 42, phase: 'running', uplinkAddress: '192.0.2.10/24', dhcpServer: null,
    sysctls: [{ path: ['net', 'ipv4', 'conf', 'eth0', 'forwarding'], original: '0' }], bridgeAddresses: ['192.0.2.10/32'],
    guests: [{ address: '192.0.2.150', mac: '52:54:00:00:00:0a' }], refused: [],
  };
  t.deepEqual(parseJson(JSON.stringify(state), routedStateCodec), state);
  t.throws(() => parseJson(JSON.stringify({ ...state, phase: 'dancing' }), routedStateCodec));
});
