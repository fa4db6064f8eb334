// SPDX-License-Identifier: GPL-2.0-or-later
// The Cockpit page's view of the API (cockpit/src/api.ts, free of DOM and Cockpit): the same
// names as the spec, a title for every error the spec declares, ListInterfaces' reply decoded as
// cockpit.dbus delivers it, and an error's message split from its hint as the dispatcher joins them.
import test from 'ava';
import * as api from '../../cockpit/src/api';
import { BUS_NAME, ERROR_PREFIX, INTERFACE_NAME, OBJECT_PATH, sharedInterfaceSpec } from '../../src/service/shared-interface-spec';
import { ShareError } from '../../src/bridge/share-error';

test('the page names the bus, object, interface and errors as the spec does', (t) => {
  t.is(api.BUS_NAME, BUS_NAME);
  t.is(api.OBJECT_PATH, OBJECT_PATH);
  t.is(api.INTERFACE_NAME, INTERFACE_NAME);
  t.is(api.ERROR_PREFIX, ERROR_PREFIX);
  for (const name of Object.keys(sharedInterfaceSpec.errors)) t.true(api.KNOWN_ERROR_NAMES.includes(name), name);
});

test('ListInterfaces as cockpit.dbus hands it over: variants as {t, v}, missing details defaulted', (t) => {
  const reply = [[
    ['eth0', 'br-eth0', { type: { t: 's', v: 'ethernet' }, mac: { t: 's', v: '52:54:00:12:34:56' }, carrier: { t: 'b', v: true },
      shareable: { t: 'b', v: true }, reason: { t: 's', v: '' }, addresses: { t: 'as', v: ['192.0.2.10/24'] }, notes: { t: 'as', v: ['IPv6 changes'] }, mode: { t: 's', v: 'routed' },
      future: { t: 'u', v: 7 } }],
    ['lo', '', { type: { t: 's', v: 'loopback' }, shareable: { t: 'b', v: false }, reason: { t: 's', v: 'loopback' } }],
  ]];
  t.deepEqual(api.decodeInterfaces(reply), [
    { name: 'eth0', bridge: 'br-eth0', type: 'ethernet', mac: '52:54:00:12:34:56', carrier: true, shareable: true, reason: '', addresses: ['192.0.2.10/24'], notes: ['IPv6 changes'], mode: 'routed' },
    { name: 'lo', bridge: '', type: 'loopback', mac: '', carrier: false, shareable: false, reason: 'loopback', addresses: [], notes: [], mode: '' },
  ]);
});

test('a malformed ListInterfaces reply is refused, not shown half-read', (t) => {
  for (const reply of [undefined, [], [[['eth0', '']]], [[['eth0', '', { carrier: { t: 's', v: 'yes' } }]]], [[['eth0', '', { notes: { t: 'as', v: [1] } }]]]]) {
    t.throws(() => api.decodeInterfaces(reply), { instanceOf: api.ReplyFormatError }, JSON.stringify(reply));
  }
});

test('an error shows a title, its message and its hint, joined as the dispatcher joins them', (t) => {
  const err = new ShareError('InvalidArgs', 'an interface or profile named br-taken already exists', 'choose another bridge name');
  const message = `${err.message}\nHint: ${err.hint ?? ''}`;
  t.deepEqual(api.describeError('org.freedesktop.DBus.Error.InvalidArgs', message), {
    title: 'The settings are not valid', message: 'An interface or profile named br-taken already exists.', hint: 'Choose another bridge name.',
  });
  t.deepEqual(api.describeError(`${ERROR_PREFIX}.RolledBack`, 'the bridge did not get an address'), {
    title: 'The change was undone', message: 'The bridge did not get an address.', hint: '',
  });
  // Access is refused with polkit's words; the page adds what to do in Cockpit.
  t.regex(api.describeError('org.freedesktop.DBus.Error.AccessDenied', 'not authorized').hint, /administrative access/);
  // An unknown name still reads as a sentence, never as the name alone.
  t.deepEqual(api.describeError('com.example.Weird', undefined), { title: 'The request failed', message: 'The request failed.', hint: '' });
});

test('the guests named in Busy', (t) => {
  t.deepEqual(api.attachedGuests('guests are still attached to br-eth0: vnet0, vnet1\nHint: stop them first'), ['vnet0', 'vnet1']);
  t.deepEqual(api.attachedGuests('another change of eth0 is in progress'), []);
});

test('the default bridge name and what a guest needs', (t) => {
  t.is(api.defaultBridgeName('eth0', new Set()), 'br-eth0');
  t.is(api.defaultBridgeName('eth0', new Set(['br-eth0'])), '', 'taken: the service picks one');
  t.is(api.defaultBridgeName('enp0s31f6abcd', new Set()), '', 'over 15 bytes: the service picks one');
  const { xml, virtInstall } = api.guestSnippets('br-eth0');
  t.regex(xml, /^<interface type='bridge'>\n {2}<source bridge='br-eth0'\/>/);
  t.is(virtInstall, 'virt-install --network bridge=br-eth0');
});

test('properties as Properties.Get returns them through cockpit.dbus: Backend and Pending', (t) => {
  t.is(api.decodeStringProperty([{ t: 's', v: 'NetworkManager' }], 'Backend'), 'NetworkManager');
  t.throws(() => api.decodeStringProperty([{ t: 'b', v: true }], 'Backend'), { instanceOf: api.ReplyFormatError });
  t.deepEqual(api.decodePending([{ t: 'a{s(sst)}', v: { eth0: ['share', 'br-eth0', 1_764_560_000_000_000] } }]),
    new Map([['eth0', { operation: 'share', bridge: 'br-eth0', deadline: 1_764_560_000_000 }]]));
  t.deepEqual(api.decodePending([{ t: 'a{s(sst)}', v: {} }]), new Map());
  t.throws(() => api.decodePending([{ t: 'a{s(sst)}', v: { eth0: ['share', 'br-eth0', '1'] } }]), { instanceOf: api.ReplyFormatError });
});
