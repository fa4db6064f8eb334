// SPDX-License-Identifier: GPL-2.0-or-later
// The NetworkManager backend's cost follows what changed: a device is described again only when
// its own objects did, and the start's readings keep to the bus' limit of pending replies.
import test from 'ava';
import * as bv from '../../src/dbus-wire/bus-value';
import { DeviceDescriptions } from '../../src/settings/nm/nm-devices';
import { inTurns, NmObjects, type NmObject } from '../../src/settings/nm/nm-object-cache';

const DEVICE = 'org.freedesktop.NetworkManager.Device';
const IP4 = 'org.freedesktop.NetworkManager.IP4Config';
const v = (sig: string, value: bv.BusValue) => bv.makeVariant(sig, value);

/** Objects changed as the live cache changes them: the property set, the object's version moved on. */
class ChangingObjects extends NmObjects {
  set(path: string, iface: string, name: string, value: bv.Variant): void {
    this.get(path)?.get(iface)?.set(name, value);
    this.touched(path);
  }

  add(path: string, object: NmObject): void {
    this.objects.set(path, object);
    this.touched(path);
    this.deviceChanged(path);
  }

  remove(path: string): void {
    this.objects.delete(path);
    this.forget(path);
    this.deviceChanged(path);
  }

  rename(path: string, name: string): void {
    this.set(path, DEVICE, 'Interface', v('s', name));
    this.deviceChanged(path);
  }
}

function device(name: string, ip4: string): NmObject {
  return new Map([[DEVICE, new Map(Object.entries({
    Interface: v('s', name), DeviceType: v('u', 1), HwAddress: v('s', '52:54:00:00:00:01'), Managed: v('b', true),
    State: v('u', 100), InterfaceFlags: v('u', 0x10000), Ports: v('ao', []), ActiveConnection: v('o', '/'), Ip4Config: v('o', ip4), Ip6Config: v('o', '/'),
  }))]]);
}

const addresses = (address: string) => new Map([[IP4, new Map([['AddressData', v('aa{sv}', [{ address: v('s', address), prefix: v('u', 24) }])]])]]);

test('a device is described again only when its device or IP configuration object changed', (t) => {
  const objects = new ChangingObjects(new Map([
    ['/d/1', device('eth0', '/ip4/1')], ['/ip4/1', addresses('192.0.2.10')],
    ['/d/2', device('eth1', '/ip4/2')], ['/ip4/2', addresses('198.51.100.10')],
  ]));
  const descriptions = new DeviceDescriptions(objects);
  const [eth0, eth1] = descriptions.interfaces(new Map());
  t.deepEqual(eth0?.addresses, ['192.0.2.10/24']);

  objects.set('/ip4/1', IP4, 'AddressData', v('aa{sv}', [{ address: v('s', '192.0.2.11'), prefix: v('u', 24) }]));
  descriptions.changed('/ip4/1');
  const [eth0After, eth1After] = descriptions.interfaces(new Map());
  t.deepEqual(eth0After?.addresses, ['192.0.2.11/24'], 'the changed address is read');
  t.is(eth1After, eth1, 'the other device is not read again');

  objects.set('/d/2', DEVICE, 'Managed', v('b', false));
  descriptions.changed('/d/2');
  const [, eth1Unmanaged] = descriptions.interfaces(new Map([['eth1', 'br-eth1']]));
  t.false(eth1Unmanaged?.managed);
  t.is(eth1Unmanaged?.sharedThrough, 'br-eth1', 'what comes from our profiles is added at each call');
});

test('only the objects told as changed are looked at; a device that comes or goes is told too, and \'\' means all', (t) => {
  const objects = new ChangingObjects(new Map([['/d/1', device('eth0', '/ip4/1')], ['/ip4/1', addresses('192.0.2.10')]]));
  const descriptions = new DeviceDescriptions(objects);
  t.deepEqual(descriptions.interfaces(new Map()).map((i) => i.name), ['eth0']);

  objects.set('/ip4/1', IP4, 'AddressData', v('aa{sv}', [{ address: v('s', '192.0.2.11'), prefix: v('u', 24) }]));
  t.deepEqual(descriptions.interfaces(new Map())[0]?.addresses, ['192.0.2.10/24'], 'a change not told is not looked for');

  objects.add('/d/2', device('br-eth0', '/ip4/2'));
  objects.add('/ip4/2', addresses('198.51.100.10'));
  descriptions.changed('/d/2');
  descriptions.changed('/ip4/2');
  t.deepEqual(descriptions.interfaces(new Map()).map((i) => [i.name, i.addresses]), [['eth0', ['192.0.2.10/24']], ['br-eth0', ['198.51.100.10/24']]]);

  objects.remove('/d/1');
  descriptions.changed('/d/1');
  t.deepEqual(descriptions.interfaces(new Map()).map((i) => i.name), ['br-eth0'], 'a device gone is no longer described');

  objects.add('/d/1', device('eth0', '/ip4/1'));
  descriptions.changed('');
  t.deepEqual(descriptions.interfaces(new Map()).map((i) => [i.name, i.addresses]), [['br-eth0', ['198.51.100.10/24']], ['eth0', ['192.0.2.11/24']]], 'every device is looked at after a reading of all');
});

test('devices by name follow devices that come, go and are renamed; of two of one name the real one is the device', (t) => {
  const objects = new ChangingObjects(new Map([['/d/1', device('eth0', '/')]]));
  t.is(objects.devicePath('eth0'), '/d/1');
  const unrealized = device('br-eth0', '/');
  unrealized.get(DEVICE)?.set('Real', v('b', false));
  objects.add('/d/2', unrealized);
  t.is(objects.devicePath('br-eth0'), '/d/2', 'an unrealized device is the one of its name while there is no other');
  objects.add('/d/3', device('br-eth0', '/'));
  t.is(objects.devicePath('br-eth0'), '/d/3', 'the real one of the name');
  objects.remove('/d/3');
  t.is(objects.devicePath('br-eth0'), '/d/2');
  objects.rename('/d/1', 'lan0');
  t.is(objects.devicePath('eth0'), undefined);
  t.is(objects.devicePath('lan0'), '/d/1');
});

test('inTurns runs every item, never more than its limit at once, and fails with the first failure', async (t) => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  await inTurns(Array.from({ length: 50 }, (_, i) => i), async (i) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setImmediate(resolve));
    done.push(i);
    running--;
  }, 4);
  t.is(most, 4);
  t.deepEqual([...done].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  await t.throwsAsync(inTurns([1, 2, 3], async (i) => { if (i === 2) throw new Error('gone'); }), { message: 'gone' });
});
