// SPDX-License-Identifier: GPL-2.0-or-later
// Routed sharing's pure parts: the one NetworkManager profile it makes, what verification checks
// of the host after a routed Share and Unshare, and the probe's MAC and its reading of udhcpc.
import test from 'ava';
import * as t from '../../src/dbus-wire/bus-value';
import { routedGoneProblems, routedProblems } from '../../src/bridge/routed-change';
import type { LiveHost, LiveLink } from '../../src/bridge/verify';
import { ourTag } from '../../src/settings/nm/nm-profile-owner';
import { routedHookAction } from '../../src/settings/nm/nm-dispatcher-profile';
import { routedBridgeProfile } from '../../src/settings/nm/nm-routed-profile';
import { getSetting } from '../../src/settings/nm/nm-settings';
import { dhcpRelease, leaseFromOutput, leasingServerFromOutput, probeMac } from '../../src/settings/routed/routed-lease-probe';

const link = (name: string, extra: Partial<LiveLink> = {}): LiveLink => ({ name, mac: '52:54:00:12:34:56', up: true, controller: undefined, kind: undefined, addresses: [], ...extra });
const host = (...links: LiveLink[]): LiveHost => ({ links: new Map(links.map((l) => [l.name, l])), routes: [] });

test('the guests\' bridge profile: no port, no IP configuration of its own, a stable MAC, tagged routed', (tt) => {
  const profile = routedBridgeProfile({ nic: 'wlan0', bridge: 'br-wlan0' }, () => 'uuid-1');
  tt.is(getSetting(profile, 'connection', 'id', t.string), 'br-wlan0 (routed guests of wlan0)');
  tt.is(getSetting(profile, 'connection', 'type', t.string), 'bridge');
  tt.is(getSetting(profile, 'connection', 'interface-name', t.string), 'br-wlan0');
  tt.is(getSetting(profile, 'connection', 'master', t.string), undefined);
  tt.is(getSetting(profile, 'bridge', 'stp', t.boolean), false);
  tt.is(getSetting(profile, '802-3-ethernet', 'assigned-mac-address', t.string), 'stable');
  tt.is(getSetting(profile, 'ipv4', 'method', t.string), 'disabled');
  tt.is(getSetting(profile, 'ipv6', 'method', t.string), 'disabled');
  tt.deepEqual(ourTag(profile), { role: 'routed', nic: 'wlan0', bridge: 'br-wlan0', originalUuid: '', firewall: true });
  tt.is(getSetting(profile, 'connection', 'zone', t.string), undefined);
  // In the NIC's firewalld zone (forwarding within a zone is on), and firewall=false kept in its tag.
  const zoned = routedBridgeProfile({ nic: 'wlan0', bridge: 'br-wlan0', firewall: false }, () => 'uuid-2', 'home');
  tt.is(getSetting(zoned, 'connection', 'zone', t.string), 'home');
  tt.is(ourTag(zoned)?.firewall, false);
});

test('a routed share holds when the guests\' bridge is up and the NIC is nobody\'s port', (tt) => {
  tt.deepEqual(routedProblems(host(link('eth0'), link('br-eth0', { kind: 'bridge' })), 'eth0', 'br-eth0'), []);
  tt.deepEqual(routedProblems(host(link('eth0')), 'eth0', 'br-eth0'), ["the guests' bridge br-eth0 does not exist"]);
  tt.deepEqual(routedProblems(host(link('eth0', { controller: 'br-eth0' }), link('br-eth0', { kind: 'bridge', up: false })), 'eth0', 'br-eth0'),
    ['br-eth0 is down', 'eth0 is a port of br-eth0; routed sharing leaves it on its own']);
  tt.deepEqual(routedGoneProblems(host(link('eth0')), 'eth0', 'br-eth0'), []);
  tt.deepEqual(routedGoneProblems(host(link('eth0'), link('br-eth0', { kind: 'bridge' })), 'eth0', 'br-eth0'), ["the guests' bridge br-eth0 still exists"]);
});

test('the probe: one locally administered unicast MAC per bridge, and the lease read from udhcpc\'s output', (tt) => {
  const mac = probeMac('br-eth0');
  tt.regex(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  tt.is(parseInt(mac.slice(0, 2), 16) & 0x03, 0x02, 'locally administered, unicast');
  tt.is(probeMac('br-eth0'), mac);
  tt.not(probeMac('br-wlan0'), mac);
  tt.is(leaseFromOutput('udhcpc: started, v1.36.1\nudhcpc: broadcasting discover\nudhcpc: lease of 192.0.2.57 obtained from 192.0.2.1, lease time 3600\n'), '192.0.2.57');
  tt.is(leaseFromOutput('udhcpc: broadcasting discover\nudhcpc: no lease, failing\n'), undefined);
  tt.is(leasingServerFromOutput('udhcpc: lease of 192.0.2.57 obtained from 192.0.2.1, lease time 3600\n'), '192.0.2.1');
  tt.is(leasingServerFromOutput('udhcpc: no lease, failing\n'), undefined);
});

test('the probe\'s DHCPRELEASE: its address in ciaddr, its MAC as hardware address and client identifier, the server by its identifier', (tt) => {
  const packet = dhcpRelease('02:aa:bb:cc:dd:ee', '192.0.2.57', '192.0.2.1', 0x01020304);
  tt.deepEqual([...packet.subarray(0, 3)], [1, 1, 6], 'a request over Ethernet');
  tt.is(packet.readUInt32BE(4), 0x01020304);
  tt.deepEqual([...packet.subarray(12, 16)], [192, 0, 2, 57], 'ciaddr');
  tt.deepEqual([...packet.subarray(16, 28)], new Array(12).fill(0), 'no yiaddr, siaddr, giaddr');
  tt.deepEqual([...packet.subarray(28, 34)], [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
  tt.deepEqual([...packet.subarray(236, 240)], [99, 130, 83, 99], 'the magic cookie');
  tt.deepEqual([...packet.subarray(240)], [53, 1, 7, 54, 4, 192, 0, 2, 1, 61, 7, 1, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 255]);
});

test('the dispatcher hook starts and stops the data plane for a system-wide routed profile of ours only', (tt) => {
  const keyfile = (extra = '') => `[connection]\nid=br-eth0 (routed guests of eth0)\n${extra}\n[user]\norg.fedoraproject.shared-interface.role=routed\norg.fedoraproject.shared-interface.nic=eth0\norg.fedoraproject.shared-interface.bridge=br-eth0\n`;
  tt.deepEqual(routedHookAction('up', 'br-eth0', keyfile()), { action: 'start', nic: 'eth0', firewall: true });
  tt.deepEqual(routedHookAction('down', 'br-eth0', keyfile()), { action: 'stop', nic: 'eth0', firewall: true });
  tt.deepEqual(routedHookAction('up', 'br-eth0', `${keyfile()}org.fedoraproject.shared-interface.firewall=no\n`), { action: 'start', nic: 'eth0', firewall: false });
  tt.deepEqual(routedHookAction('up', 'br-other', keyfile()), { action: 'nothing' });
  tt.deepEqual(routedHookAction('up', 'br-eth0', keyfile('permissions=user:mallory;')), { action: 'nothing' }, "a user's private profile tagged like ours");
  tt.deepEqual(routedHookAction('down', 'br-eth0', undefined), { action: 'nothing' }, 'deleted: whoever deleted it stopped the data plane');
  tt.deepEqual(routedHookAction('up', 'br-eth0', keyfile().replace('role=routed', 'role=bridge')), { action: 'nothing' });
});
