// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { readFileSync } from 'node:fs';
import * as t from '../../src/dbus-wire/bus-value';
import { ShareError } from '../../src/bridge/share-error';
import { isPrivateProfile, ourTag } from '../../src/settings/nm/nm-profile-owner';
import { cloneSettings, getSetting, profileFitsInterface, setSetting } from '../../src/settings/nm/nm-settings';
import { dhcpProfile, ipv6AddressesWillChange, shareProfiles } from '../../src/settings/nm/nm-translate';
import { loadCases, translateCase } from '../fixtures/nm/nm-golden';
import { settingsFromJson, stringifyGolden } from '../fixtures/nm/nm-json';

for (const c of loadCases()) {
  test(`golden: ${c.name} (regenerate: npm run fixtures)`, (t) => {
    t.is(stringifyGolden(translateCase(c)), readFileSync(c.expectedPath, 'utf8'));
  });
}

const byName = new Map(loadCases().map((c) => [c.name, c]));
function profilesOf(name: string) {
  const c = byName.get(name);
  if (c === undefined) throw new Error(`no case ${name}`);
  const original = c.original === null ? undefined : settingsFromJson(c.original);
  return { plan: c.plan, original, ...shareProfiles(c.plan, original) };
}

test('the bridge takes the whole IP configuration, keys we do not model included', (tt) => {
  const { original, bridge } = profilesOf('static-profile');
  for (const setting of ['ipv4', 'ipv6']) tt.deepEqual(bridge.get(setting), original?.get(setting));
});

test('the port keeps everything else of the original, gains master and a higher autoconnect priority', (tt) => {
  const { port, bridge } = profilesOf('dhcp-profile');
  tt.is(getSetting(port, 'connection', 'master', t.string), getSetting(bridge, 'connection', 'uuid', t.string));
  tt.is(getSetting(port, 'connection', 'slave-type', t.string), 'bridge');
  tt.is(getSetting(port, 'connection', 'autoconnect-priority', t.int32), -998);
  tt.deepEqual(getSetting(port, '802-3-ethernet', 'mac-address', t.bytes), Buffer.from([82, 84, 0, 18, 52, 86]));
  tt.is(getSetting(port, '802-3-ethernet', 'wake-on-lan', t.uint32), 64);
  tt.false(port.has('ipv4'));
  tt.is(getSetting(port, 'connection', 'timestamp', t.uint64), undefined);
  tt.like(ourTag(port), { role: 'port', nic: 'eth0', bridge: 'br-eth0', originalUuid: '11111111-1111-4111-8111-111111111111' });
});

test("the bridge is in the NIC's firewalld zone, where the host's address goes", (tt) => {
  const { original } = profilesOf('dhcp-profile');
  tt.is(getSetting(shareProfiles(profilesOf('dhcp-profile').plan, original).bridge, 'connection', 'zone', t.string), undefined);
  const zoned = cloneSettings(original ?? new Map());
  setSetting(zoned, 'connection', 'zone', t.string, 'home');
  tt.is(getSetting(shareProfiles(profilesOf('dhcp-profile').plan, zoned).bridge, 'connection', 'zone', t.string), 'home');
});

test('a bond is shared as a bond port with its options kept', (tt) => {
  const { port } = profilesOf('bond');
  tt.is(getSetting(port, 'connection', 'type', t.string), 'bond');
  tt.deepEqual(getSetting(port, 'bond', 'options', t.dict(t.string)), new Map([['mode', 'active-backup'], ['miimon', '100']]));
  tt.is(getSetting(port, 'connection', 'slave-type', t.string), 'bridge');
});

test('a VLAN is shared as a VLAN port on the same parent and id', (tt) => {
  const { port, bridge } = profilesOf('vlan');
  tt.is(getSetting(port, 'connection', 'type', t.string), 'vlan');
  tt.is(getSetting(port, 'vlan', 'parent', t.string), 'eth0');
  tt.is(getSetting(port, 'vlan', 'id', t.uint32), 100);
  tt.is(getSetting(bridge, 'ipv4', 'method', t.string), 'manual');
});

test('STP off sends no forward delay (NetworkManager wants 2..30 s, the kernel ignores it); STP on sends it', (tt) => {
  tt.false(profilesOf('dhcp-profile').bridge.get('bridge')?.has('forward-delay'));
  tt.is(getSetting(profilesOf('static-profile').bridge, 'bridge', 'forward-delay', t.uint32), 15);
});

test('IPv6 addresses change with the interface name only under stable-privacy', (tt) => {
  tt.false(ipv6AddressesWillChange(profilesOf('dhcp-profile').original));
  tt.false(ipv6AddressesWillChange(profilesOf('static-profile').original), 'manual addresses move as they are');
  tt.true(ipv6AddressesWillChange(profilesOf('bond').original));
  tt.false(ipv6AddressesWillChange(undefined));
});

test('the DHCP profile for a NIC that had none uses EUI-64 addresses', (tt) => {
  const profile = dhcpProfile('eth0', 'ethernet', () => 'u');
  tt.is(getSetting(profile, 'ipv4', 'method', t.string), 'auto');
  tt.is(getSetting(profile, 'ipv6', 'addr-gen-mode', t.int32), 0);
});

test('only system-wide profiles carry a tag we believe; a private original is never copied into ours', (tt) => {
  const { original, port } = profilesOf('dhcp-profile');
  if (original === undefined) throw new Error('no original');
  // A user's private profile (settings.modify.own), tagged as if it were ours: not believed.
  const forged = cloneSettings(port);
  setSetting(forged, 'connection', 'permissions', t.array(t.string), ['user:mallory:']);
  tt.is(ourTag(forged), undefined);
  tt.true(isPrivateProfile(forged));
  tt.false(isPrivateProfile(original), 'an empty permissions list is system-wide');
  // A private original: refused with NotShareable and what to do, nothing of it built.
  const privateOriginal = cloneSettings(original);
  setSetting(privateOriginal, 'connection', 'permissions', t.array(t.string), ['user:alice:']);
  const refused = tt.throws(() => shareProfiles(profilesOf('dhcp-profile').plan, privateOriginal), { instanceOf: ShareError });
  tt.is(refused?.code, 'NotShareable');
  tt.regex(refused?.message ?? '', /^eth0 cannot be shared: .*private profile/);
  tt.notRegex(refused?.message ?? '', /alice/, 'the user is not named');
  tt.regex(refused?.hint ?? '', /connection\.permissions ''.*system-wide profile on eth0/);
});

test('the port keeps the link (802.1X too); secondaries and per-link DNS keys go with the addresses to the bridge', (tt) => {
  const { original, plan } = profilesOf('dhcp-profile');
  if (original === undefined) throw new Error('no original');
  const withMore = cloneSettings(original);
  setSetting(withMore, 'connection', 'secondaries', t.array(t.string), ['22222222-2222-4222-8222-222222222222']);
  setSetting(withMore, 'connection', 'mdns', t.int32, 2);
  setSetting(withMore, 'connection', 'metered', t.int32, 1);
  setSetting(withMore, '802-1x', 'eap', t.array(t.string), ['peap']);
  setSetting(withMore, '802-1x', 'identity', t.string, 'host');
  const { bridge, port } = shareProfiles(plan, withMore);
  tt.deepEqual(getSetting(bridge, 'connection', 'secondaries', t.array(t.string)), ['22222222-2222-4222-8222-222222222222']);
  tt.is(getSetting(bridge, 'connection', 'mdns', t.int32), 2);
  tt.is(getSetting(bridge, 'connection', 'metered', t.int32), 1);
  for (const key of ['secondaries', 'mdns', 'metered']) tt.false(port.get('connection')?.has(key), `port without ${key}`);
  tt.is(getSetting(port, '802-1x', 'identity', t.string), 'host');
  tt.false(bridge.has('802-1x'), 'the bridge does not authenticate');
});

test('a profile fits a NIC when it names it or no interface at all', (tt) => {
  const { original } = profilesOf('dhcp-profile');
  if (original === undefined) throw new Error('no original');
  tt.true(profileFitsInterface(original, 'eth0'));
  tt.false(profileFitsInterface(original, 'eth1'));
  const unbound = cloneSettings(original);
  unbound.get('connection')?.delete('interface-name');
  tt.true(profileFitsInterface(unbound, 'eth1'));
});
