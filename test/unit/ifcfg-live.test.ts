// SPDX-License-Identifier: GPL-2.0-or-later
// The pure parts of the ifcfg backend's live apply: what the kernel's JSON says about links and
// their IP configuration, and which processes are DHCP clients of a device.
import test from 'ava';
import type { IpState } from '../../src/settings/kernel-observer';
import { isDhcpClientFor } from '../../src/settings/host-tools/dhcp-client';
import { hostInterfacesFromIp, interfaceType } from '../../src/settings/host-tools/kernel-interfaces';
import { captureIpConfig, checkIpConfig } from '../../src/settings/host-tools/ip-config';
import { initscriptsSteps } from '../../src/settings/ifcfg/ifcfg-live-initscripts';

// Trimmed from `ip -j -d link show`, `ip -j addr show`, `ip -j -4/-6 route show table main` in the lab.
const STATE: IpState = {
  links: [
    { ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], link_type: 'loopback', address: '00:00:00:00:00:00' },
    { ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], link_type: 'ether', address: '52:54:00:12:34:56', linkinfo: { info_kind: 'veth' } },
    { ifname: 'enp1s0', flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], link_type: 'ether', address: '52:54:00:AB:CD:EF', inet6_addr_gen_mode: 'stable_secret' },
    { ifname: 'br-x', flags: ['UP', 'LOWER_UP'], link_type: 'ether', address: '52:54:00:00:00:01', linkinfo: { info_kind: 'bridge', info_data: { stp_state: 0 } } },
    { ifname: 'vnet0', flags: ['UP'], link_type: 'ether', address: 'fe:54:00:00:00:02', master: 'br-x', linkinfo: { info_kind: 'tun' } },
    { ifname: 'wg0', flags: ['UP'], link_type: 'none', linkinfo: { info_kind: 'wireguard' } },
  ],
  addresses: [
    {
      ifname: 'eth0',
      addr_info: [
        { family: 'inet', local: '192.0.2.10', prefixlen: 24, scope: 'global' },
        { family: 'inet6', local: '2001:db8::5054:ff:fe12:3456', prefixlen: 64, scope: 'global', dynamic: true },
        { family: 'inet6', local: '2001:db8::10', prefixlen: 64, scope: 'global' },
        { family: 'inet6', local: 'fe80::5054:ff:fe12:3456', prefixlen: 64, scope: 'link' },
      ],
    },
  ],
  routes4: [
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', protocol: 'boot' },
    { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link' },
    { dst: '198.51.100.0/24', gateway: '192.0.2.254', dev: 'eth0', protocol: 'static', metric: 100, flags: ['onlink'] },
    { dst: '203.0.113.0/24', gateway: '192.0.2.1', dev: 'br-x' },
    { dst: '-x', dev: 'eth0' },
  ],
  routes6: [
    { dst: '2001:db8::/64', dev: 'eth0', protocol: 'kernel', metric: 256 },
    { dst: 'default', gateway: 'fe80::1', dev: 'eth0', protocol: 'ra', metric: 1024 },
    { dst: '2001:db8:1::/48', gateway: '2001:db8::1', dev: 'eth0', protocol: 'boot', metric: 1024 },
  ],
};

test('link types: a veth is an ethernet, kinds and link types map as the domain expects', (t) => {
  t.is(interfaceType({ link_type: 'ether', linkinfo: { info_kind: 'veth' } }, false), 'ethernet');
  t.is(interfaceType({ link_type: 'ether' }, false), 'ethernet');
  t.is(interfaceType({ link_type: 'ether' }, true), 'wifi');
  t.is(interfaceType({ link_type: 'loopback' }, false), 'loopback');
  t.is(interfaceType({ link_type: 'ether', linkinfo: { info_kind: 'bridge' } }, false), 'bridge');
  t.is(interfaceType({ link_type: 'ether', linkinfo: { info_kind: 'bond' } }, false), 'bond');
  t.is(interfaceType({ link_type: 'ether', linkinfo: { info_kind: 'vlan' } }, false), 'vlan');
  t.is(interfaceType({ link_type: 'none', linkinfo: { info_kind: 'wireguard' } }, false), 'other');
  t.is(interfaceType({ link_type: 'none' }, false), 'tun');
});

test('host interfaces: managed, MAC lower-cased, carrier, controller and the shared map', (t) => {
  const all = hostInterfacesFromIp(STATE, new Map([['enp1s0', 'br-y']]), (name) => name === 'nothing');
  const byName = new Map(all.map((i) => [i.name, i]));
  t.deepEqual([...byName.keys()], ['lo', 'eth0', 'enp1s0', 'br-x', 'vnet0', 'wg0']);
  t.like(byName.get('eth0'), { type: 'ethernet', mac: '52:54:00:12:34:56', carrier: true, managed: true, sharedThrough: undefined, controller: undefined });
  t.deepEqual(byName.get('eth0')?.addresses, ['192.0.2.10/24', '2001:db8::5054:ff:fe12:3456/64', '2001:db8::10/64', 'fe80::5054:ff:fe12:3456/64']);
  t.like(byName.get('enp1s0'), { type: 'ethernet', mac: '52:54:00:ab:cd:ef', carrier: false, sharedThrough: 'br-y' });
  t.regex(byName.get('enp1s0')?.shareNotes?.[0] ?? '', /IPv6 addresses will change/);
  t.is(byName.get('eth0')?.shareNotes, undefined);
  t.like(byName.get('vnet0'), { type: 'tun', controller: 'br-x' });
  t.is(byName.get('lo')?.type, 'loopback');
});

test('a static NIC moves its addresses and every route the kernel and RAs did not make', (t) => {
  t.deepEqual(captureIpConfig(STATE, 'eth0', false), {
    dhcp: false,
    addresses: ['192.0.2.10/24', '2001:db8::10/64'],
    routes: [
      { family: 4, dst: 'default', gateway: '192.0.2.1', protocol: 'boot' },
      { family: 4, dst: '198.51.100.0/24', gateway: '192.0.2.254', metric: 100, protocol: 'static', onlink: true },
      { family: 6, dst: '2001:db8:1::/48', gateway: '2001:db8::1', metric: 1024, protocol: 'boot' },
    ],
  });
});

test('a DHCP NIC leaves IPv4 to its DHCP client; static IPv6 still moves', (t) => {
  t.deepEqual(captureIpConfig(STATE, 'eth0', true), {
    dhcp: true,
    addresses: ['2001:db8::10/64'],
    routes: [{ family: 6, dst: '2001:db8:1::/48', gateway: '2001:db8::1', metric: 1024, protocol: 'boot' }],
  });
  t.deepEqual(captureIpConfig(STATE, 'nosuch0', false), { dhcp: false, addresses: [], routes: [] });
});

test('a configuration read back from disk keeps only values safe to pass to ip', (t) => {
  t.deepEqual(checkIpConfig({
    dhcp: true,
    addresses: ['192.0.2.10/24', '-x', 'a b/24', 5],
    routes: [{ family: 4, dst: 'default', gateway: '192.0.2.1', protocol: 'boot' }, { family: 4, dst: '--help' }, { family: 5, dst: 'default' }, { family: 6, dst: '::/0', gateway: '-1' }],
  }), {
    dhcp: true,
    addresses: ['192.0.2.10/24'],
    routes: [{ family: 4, dst: 'default', gateway: '192.0.2.1', protocol: 'boot' }, { family: 6, dst: '::/0' }],
  });
  t.deepEqual(checkIpConfig(null), { dhcp: false, addresses: [], routes: [] });
});

test('DHCP clients of a device are recognised by their command line, not those of another device', (t) => {
  t.true(isDhcpClientFor(['busybox', 'udhcpc', '-i', 'eth0', '-s', '/x'], 'eth0'));
  t.true(isDhcpClientFor(['/usr/bin/busybox', 'udhcpc', '-ieth0'], 'eth0'));
  t.true(isDhcpClientFor(['udhcpc', '--interface=eth0'], 'eth0'));
  t.true(isDhcpClientFor(['/sbin/dhclient', '-1', '-q', '-lf', '/var/lib/dhclient/dhclient--eth0.lease', '-pf', '/run/dhclient-eth0.pid', 'eth0'], 'eth0'));
  t.true(isDhcpClientFor(['dhcpcd', '-q', 'eth0'], 'eth0'));
  t.false(isDhcpClientFor(['busybox', 'udhcpc', '-i', 'br-eth0'], 'eth0'));
  t.false(isDhcpClientFor(['busybox', 'ping', 'eth0'], 'eth0'));
  t.false(isDhcpClientFor(['ip', 'monitor', 'eth0'], 'eth0'));
  t.false(isDhcpClientFor(['dhclient', '-pf', '/run/dhclient-eth0.pid', 'eth1'], 'eth0'));
});

test('under systemd, ifup runs in a unit of its own that outlives it and us; ifdown stops that unit after releasing', (t) => {
  const systemd = { systemdRun: '/usr/bin/systemd-run', systemctl: '/usr/bin/systemctl' };
  t.deepEqual(initscriptsSteps('ifup', 'br-eth0', '/usr/sbin/ifup', systemd, 'abc123'), [
    { argv: ['/usr/bin/systemctl', 'stop', 'shared-interface-ifup-br-eth0.service'], mustSucceed: false },
    {
      argv: ['/usr/bin/systemd-run', '--quiet', '--collect', '--description=ifup br-eth0 (shared-interface)', '--unit=shared-interface-ifup-br-eth0.service',
        '--property=Type=oneshot', '--property=RemainAfterExit=yes', '--', '/usr/sbin/ifup', 'br-eth0'],
      mustSucceed: true,
    },
  ]);
  t.deepEqual(initscriptsSteps('ifdown', 'eth0', '/usr/sbin/ifdown', systemd, 'abc123'), [
    { argv: ['/usr/bin/systemd-run', '--quiet', '--collect', '--description=ifdown eth0 (shared-interface)', '--unit=shared-interface-ifdown-eth0-abc123.service', '--wait', '--', '/usr/sbin/ifdown', 'eth0'], mustSucceed: false },
    { argv: ['/usr/bin/systemctl', 'stop', 'shared-interface-ifup-eth0.service'], mustSucceed: false },
  ]);
  // Without systemd (the lab, a container): the scripts themselves; only ifup must succeed.
  t.deepEqual(initscriptsSteps('ifup', 'eth0', '/usr/sbin/ifup', undefined, 'x'), [{ argv: ['/usr/sbin/ifup', 'eth0'], mustSucceed: true }]);
  t.deepEqual(initscriptsSteps('ifdown', 'eth0', '/usr/sbin/ifdown', undefined, 'x'), [{ argv: ['/usr/sbin/ifdown', 'eth0'], mustSucceed: false }]);
  t.throws(() => initscriptsSteps('ifup', 'a b', '/usr/sbin/ifup', systemd, 'x'));
});
