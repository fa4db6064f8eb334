// SPDX-License-Identifier: GPL-2.0-or-later
// The option 'mode' and the plan's choice of it: auto shares a Wi-Fi station routed (this kernel
// has no Wi-Fi driver, so the station is described here as NetworkManager reports one) and
// everything else bridged; the listing shows a Wi-Fi station as shareable, with how.
import test from 'ava';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { shareability, WIFI_STATION_ROUTED, type HostInterface, type HostSnapshot } from '../../src/bridge/host-network';
import { refusal } from './share-refusal';
import { planShare, planUnshare } from '../../src/bridge/share-plan';
import type { BackendDescription } from '../../src/bridge/backend-description';
import { NM_BACKEND_DESCRIPTION } from '../../src/settings/nm/nm-backend';
import { DEFAULT_SHARE_OPTIONS, DEFAULT_UNSHARE_OPTIONS, describeOption } from '../../src/bridge/request-options';
import { decodeShareOptions } from '../../src/service/options-codec';
import { shareCommand } from '../../src/cli/share-command';

const iface = (name: string, extra: Partial<HostInterface> = {}): HostInterface => ({
  name, type: 'ethernet', mac: '52:54:00:00:00:01', carrier: true, addresses: ['192.0.2.10/24'], sharedThrough: undefined, controller: undefined, managed: true, ...extra,
});
const snapshot: HostSnapshot = {
  interfaces: [
    iface('eth0'),
    iface('wlan0', { type: 'wifi', wifiMode: 'station', mac: '52:54:00:00:00:06', addresses: ['192.0.2.20/24', 'fe80::1/64'] }),
    iface('wlan1', { type: 'wifi', wifiMode: 'ap', mac: '52:54:00:00:00:07' }),
    iface('wlan2', { type: 'wifi', wifiMode: 'station', mac: '52:54:00:00:00:08', addresses: [] }),
    iface('eth1', { sharedThrough: 'br-eth1' }),
  ],
  shared: new Map([['eth1', 'br-eth1']]),
  routed: new Set(['eth1']),
};
// What the backends say of themselves: NetworkManager can share routed, the ifcfg files cannot.
const NM = NM_BACKEND_DESCRIPTION;
const IFCFG: BackendDescription = { name: 'ifcfg', safetyNet: 'snapshot of the ifcfg files' };
const plan = (nic: string, options: Partial<typeof DEFAULT_SHARE_OPTIONS> = {}, backend = NM) => planShare(snapshot, nic, { ...DEFAULT_SHARE_OPTIONS, ...options }, backend);

test('the option mode: bridge by default, one of bridge, routed, auto; anything else is InvalidArgs', (t) => {
  t.is(DEFAULT_SHARE_OPTIONS.mode, 'bridge');
  t.is(decodeShareOptions(new Map()).mode, 'bridge');
  t.is(decodeShareOptions(new Map([['mode', makeVariant('s', 'routed')]])).mode, 'routed');
  t.is(decodeShareOptions(new Map([['mode', makeVariant('s', 'auto')]])).mode, 'auto');
  const bad = refusal(() => decodeShareOptions(new Map([['mode', makeVariant('s', 'nat')]])));
  t.is(bad.code, 'InvalidArgs');
  t.is(bad.message, "option 'mode' must be one of bridge, routed, auto, not 'nat'");
  t.regex(describeOption('mode'), /^mode \(s, one of bridge, routed, auto, default bridge\): bridge: /);
});

test('the CLI offers --mode with its choices, checked before connecting, and --routed', (t) => {
  const mode = shareCommand.options['mode'];
  t.deepEqual(mode?.complete, ['bridge', 'routed', 'auto']);
  t.is(mode?.check?.('routed'), undefined);
  t.is(mode?.check?.('nat'), "--mode must be one of bridge, routed, auto, not 'nat'");
  t.is(shareCommand.options['routed']?.type, 'boolean');
});

test('auto shares a Wi-Fi station routed and says why; an ethernet, bridged', (t) => {
  const wifi = plan('wlan0', { mode: 'auto' });
  t.is(wifi.mode, 'routed');
  t.is(wifi.bridge, 'br-wlan0');
  t.is(wifi.modeChoice, `mode auto: wlan0 is shared routed: ${WIFI_STATION_ROUTED}`);
  const wired = plan('eth0', { mode: 'auto' });
  t.is(wired.mode, 'bridge');
  t.regex(wired.modeChoice, /^mode auto: eth0 is shared bridged .*share it with mode routed\)$/);
  // A MAC-locked switch port looks like any other port from the host: asked for, it is routed.
  t.is(plan('eth0', { mode: 'routed' }).mode, 'routed');
  t.is(plan('eth0', { mode: 'routed' }).modeChoice, '');
  t.is(plan('eth0').mode, 'bridge');
  t.is(plan('wlan1', { mode: 'auto' }).mode, 'bridge', 'a Wi-Fi access point can be a bridge port');
});

test('a Wi-Fi station asked to be bridged is NotShareable, with the way that works', (t) => {
  const r = refusal(() => plan('wlan0'));
  t.is(r.code, 'NotShareable');
  t.is(r.message, 'wlan0 cannot be shared bridged: Wi-Fi in station mode cannot be a bridge port (the access point accepts only its own MAC address)');
  t.is(r.hint, "share it routed: shared-interface share wlan0 --routed (D-Bus: option 'mode' routed or auto)");
});

test('routed sharing needs the NIC\'s IPv4 address, NetworkManager, and no STP', (t) => {
  t.is(refusal(() => plan('wlan2', { mode: 'auto' })).code, 'NotShareable');
  t.regex(refusal(() => plan('wlan2', { mode: 'auto' })).message, /no IPv4 address/);
  const ifcfg = refusal(() => plan('eth0', { mode: 'routed' }, IFCFG));
  t.is(ifcfg.code, 'NotSupported');
  t.is(ifcfg.hint, 'start NetworkManager, or share with mode bridge');
  t.is(refusal(() => plan('eth0', { mode: 'routed', stp: true })).code, 'InvalidArgs');
});

test('the listing\'s verdict: a Wi-Fi station is shareable under NetworkManager, with a note of how; not under ifcfg', (t) => {
  const wlan0 = snapshot.interfaces[1]!;
  t.deepEqual(shareability(wlan0, NM), { shareable: true, reason: '', routedOnly: WIFI_STATION_ROUTED });
  const ifcfg = shareability(wlan0, IFCFG);
  t.false(ifcfg.shareable);
  t.regex(ifcfg.reason, /the ifcfg backend cannot share routed/);
  t.deepEqual(shareability(snapshot.interfaces[0]!, NM), { shareable: true, reason: '' });
});

test('Unshare plans the mode the NIC is shared in', (t) => {
  const unshare = planUnshare(snapshot, 'eth1', { ...DEFAULT_UNSHARE_OPTIONS, force: true }, ['vnet0']);
  t.is(unshare.mode, 'routed');
  // A routed bridge has no port to the LAN: every port is a guest's.
  t.deepEqual(unshare.guests, ['vnet0']);
  t.is(refusal(() => planUnshare(snapshot, 'eth1', DEFAULT_UNSHARE_OPTIONS, ['vnet0'])).code, 'Busy');
  t.is(planUnshare({ ...snapshot, routed: new Set() }, 'eth1', DEFAULT_UNSHARE_OPTIONS, ['eth1']).mode, 'bridge');
});
