// SPDX-License-Identifier: GPL-2.0-or-later
// Plans from NetworkManager's own device data: bonds, VLANs and Wi-Fi (which this kernel can't
// create) are proven here; ethernet is proven live in the lab.
import test from 'ava';
import * as bv from '../../src/dbus-wire/bus-value';
import { shareability } from '../../src/bridge/host-network';
import { ShareError } from '../../src/bridge/share-error';
import { defaultBridgeName, planShare, planUnshare } from '../../src/bridge/share-plan';
import { DEFAULT_SHARE_OPTIONS, DEFAULT_UNSHARE_OPTIONS } from '../../src/bridge/request-options';
import type { HostSnapshot } from '../../src/bridge/host-network';
import { NM_BACKEND_DESCRIPTION } from '../../src/settings/nm/nm-backend';
import { hostInterfaces } from '../../src/settings/nm/nm-devices';
import { NmObjects, type NmObject } from '../../src/settings/nm/nm-object-cache';

const DEVICE = 'org.freedesktop.NetworkManager.Device';
const v = (sig: string, value: bv.BusValue) => bv.makeVariant(sig, value);

function device(name: string, type: number, mac: string, extra: Record<string, bv.Variant> = {}, more: Record<string, Record<string, bv.Variant>> = {}): NmObject {
  const props = new Map<string, bv.Variant>(Object.entries({
    Interface: v('s', name), DeviceType: v('u', type), HwAddress: v('s', mac), Managed: v('b', true),
    State: v('u', 100), InterfaceFlags: v('u', 0x10001), Ports: v('ao', []), ActiveConnection: v('o', '/'), Ip4Config: v('o', '/'), Ip6Config: v('o', '/'),
    ...extra,
  }));
  return new Map([[DEVICE, props], ...Object.entries(more).map(([iface, p]) => [iface, new Map(Object.entries(p))] as [string, Map<string, bv.Variant>])]);
}

// What NetworkManager 1.42 reports for a host with a bond of two NICs, a VLAN, Wi-Fi and a bridge.
const objects = new NmObjects(new Map([
  ['/d/1', device('eth0', 1, '52:54:00:00:00:01')],
  ['/d/2', device('eth1', 1, '52:54:00:00:00:02')],
  ['/d/3', device('eth2', 1, '52:54:00:00:00:03')],
  ['/d/4', device('bond0', 10, '52:54:00:00:00:02', { Ports: v('ao', ['/d/2', '/d/3']) })],
  ['/d/5', device('eth0.100', 11, '52:54:00:00:00:01')],
  ['/d/6', device('wlan0', 2, '52:54:00:00:00:06', {}, { 'org.freedesktop.NetworkManager.Device.Wireless': { Mode: v('u', 2) } })],
  ['/d/7', device('wlan1', 2, '52:54:00:00:00:07', {}, { 'org.freedesktop.NetworkManager.Device.Wireless': { Mode: v('u', 3) } })],
  ['/d/8', device('virbr0', 13, '52:54:00:00:00:08')],
  ['/d/9', device('eth3', 1, '52:54:00:00:00:09', { Managed: v('b', false) })],
  ['/d/10', device('tap0', 16, '52:54:00:00:00:0a')],
]));
const snapshot: HostSnapshot = { interfaces: hostInterfaces(objects, new Map()), shared: new Map() };
const verdict = (name: string) => {
  const iface = snapshot.interfaces.find((i) => i.name === name);
  if (iface === undefined) throw new Error(name);
  return shareability(iface, NM_BACKEND_DESCRIPTION);
};
const plan = (nic: string, options = {}) => planShare(snapshot, nic, { ...DEFAULT_SHARE_OPTIONS, ...options }, NM_BACKEND_DESCRIPTION);
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ShareError) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('no refusal');
};

test('NetworkManager device types map to the domain\'s', (t) => {
  t.deepEqual(snapshot.interfaces.map((i) => [i.name, i.type]), [
    ['eth0', 'ethernet'], ['eth1', 'ethernet'], ['eth2', 'ethernet'], ['bond0', 'bond'], ['eth0.100', 'vlan'],
    ['wlan0', 'wifi'], ['wlan1', 'wifi'], ['virbr0', 'bridge'], ['eth3', 'ethernet'], ['tap0', 'tun'],
  ]);
  t.is(snapshot.interfaces.find((i) => i.name === 'eth1')?.controller, 'bond0');
  t.true(snapshot.interfaces.every((i) => i.carrier));
});

test('a bond and a VLAN are shareable, with deterministic bridge names', (t) => {
  t.like(plan('bond0'), { nic: 'bond0', nicType: 'bond', bridge: 'br-bond0', nicMac: '52:54:00:00:00:02', stp: false, forwardDelay: 0 });
  t.like(plan('eth0.100'), { nicType: 'vlan', bridge: 'br-eth0.100' });
});

test('refusals, each with a reason a user can act on', (t) => {
  t.like(refusal(() => plan('eth1')), { code: 'NotShareable', message: 'eth1 cannot be shared: it is already a port of bond0', hint: 'share bond0 instead, or remove eth1 from it first' });
  t.like(refusal(() => plan('wlan0')), { code: 'NotShareable' });
  t.regex(verdict('wlan0').reason, /station mode/);
  t.true(verdict('wlan1').shareable, 'a Wi-Fi access point can be a bridge port');
  t.regex(verdict('virbr0').reason, /bridge itself/);
  t.like(refusal(() => plan('eth3')), { code: 'NotShareable', hint: 'let NetworkManager manage it first: nmcli device set eth3 managed yes' });
  t.like(refusal(() => plan('tap0')), { code: 'NotShareable' });
  t.like(refusal(() => plan('nosuch')), { code: 'NoSuchInterface' });
  t.like(refusal(() => plan('eth/0')), { code: 'InvalidArgs' });
  t.like(refusal(() => plan('eth0', { bridge: 'virbr0' })), { code: 'InvalidArgs' });
  t.like(refusal(() => plan('eth0', { bridge: 'a b' })), { code: 'InvalidArgs' });
  t.like(refusal(() => plan('eth0', { stp: true, forwardDelay: 1 })), { code: 'InvalidArgs' });
  t.like(refusal(() => planShare({ ...snapshot, shared: new Map([['eth0', 'br-eth0']]) }, 'eth0', DEFAULT_SHARE_OPTIONS, NM_BACKEND_DESCRIPTION)), { code: 'AlreadyShared' });
});

test("a backend's own refusal (NM: a user's private profile is active) makes the NIC not shareable, with its hint", (t) => {
  const refusedEth0 = { ...snapshot, interfaces: snapshot.interfaces.map((i) => (i.name === 'eth0' ? { ...i, refusal: { reason: 'its profile is private', hint: 'make it system-wide' } } : i)) };
  t.like(refusal(() => planShare(refusedEth0, 'eth0', DEFAULT_SHARE_OPTIONS, NM_BACKEND_DESCRIPTION)), { code: 'NotShareable', message: 'eth0 cannot be shared: its profile is private', hint: 'make it system-wide' });
  t.true(verdict('eth0').shareable);
});

test('STP on without a forward delay gets the usual 15 s; STP off always 0', (t) => {
  t.is(plan('eth0', { stp: true }).forwardDelay, 15);
  t.is(plan('eth0', { stp: true, forwardDelay: 4 }).forwardDelay, 4);
  t.is(plan('eth0', { forwardDelay: 4 }).forwardDelay, 0);
});

test('default bridge names fit 15 bytes and avoid taken names', (t) => {
  t.is(defaultBridgeName('eth0', new Set()), 'br-eth0');
  t.is(defaultBridgeName('enp0s31f6', new Set()), 'br-enp0s31f6');
  t.is(defaultBridgeName('enx0123456789ab', new Set()), 'br0');
  t.is(defaultBridgeName('enx0123456789ab', new Set(['br0', 'br1'])), 'br2');
  t.is(defaultBridgeName('eth0', new Set(['br-eth0'])), 'br0');
});

test('unshare: not shared, and guests still attached', (t) => {
  const shared: HostSnapshot = { ...snapshot, shared: new Map([['eth0', 'br-eth0']]) };
  t.like(refusal(() => planUnshare(snapshot, 'eth0', DEFAULT_UNSHARE_OPTIONS, [])), { code: 'NotShared' });
  t.like(refusal(() => planUnshare(snapshot, 'nosuch', DEFAULT_UNSHARE_OPTIONS, [])), { code: 'NoSuchInterface' });
  t.like(refusal(() => planUnshare(shared, 'eth0', DEFAULT_UNSHARE_OPTIONS, ['eth0', 'vnet0', 'vnet1'])), { code: 'Busy', message: 'guests are still attached to br-eth0: vnet0, vnet1' });
  t.deepEqual(planUnshare(shared, 'eth0', { ...DEFAULT_UNSHARE_OPTIONS, force: true }, ['eth0', 'vnet0']).guests, ['vnet0']);
});
