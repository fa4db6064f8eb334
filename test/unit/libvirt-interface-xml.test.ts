// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { readFileSync } from 'node:fs';
import { definedShare, type DefinedNic } from '../../src/bridge/libvirt-interface-view';
import { formatInterfaceXml, parseInterfaceXml } from '../../src/bridge/libvirt-interface-xml';
import { ShareError } from '../../src/bridge/share-error';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { decodeDefineOptions, decodeInterfaceXmlOptions } from '../../src/service/options-codec';
import { ifcfgConfiguredInterface } from '../../src/settings/ifcfg/ifcfg-interface-config';
import { parseShvar } from '../../src/settings/ifcfg/ifcfg-shvar';
import { configuredInterface } from '../../src/settings/nm/nm-interface-config';
import { shareProfiles } from '../../src/settings/nm/nm-translate';
import { loadCases, translateCase } from '../fixtures/libvirt/libvirt-golden';
import { loadCases as loadNmCases } from '../fixtures/nm/nm-golden';
import { settingsFromJson } from '../fixtures/nm/nm-json';
import { configuredInterfaceDefinition } from '../../src/bridge/libvirt-interface-view';
import { ifaceBridgeDefinition } from '../../src/cli/iface-bridge-definition';

for (const c of loadCases()) {
  test(`golden: ${c.name} (regenerate: npm run fixtures)`, (t) => {
    const xml = translateCase(c);
    t.is(xml, readFileSync(c.expectedPath, 'utf8'));
    // What we write, we read back the same: our writer and our schema checks agree.
    t.is(formatInterfaceXml(parseInterfaceXml(xml)), xml);
  });
}

function rejected(t: import('ava').ExecutionContext, xml: string, code: ShareError['code'], message: RegExp): void {
  const err = t.throws(() => parseInterfaceXml(xml), { instanceOf: ShareError });
  t.is(err?.code, code, err?.message);
  t.regex(err?.message ?? '', message);
}

// What `virsh iface-bridge eth0 br0 --no-stp` defines, given the NIC's inactive XML.
const IFACE_BRIDGE_NO_STP = `<?xml version="1.0"?>
<interface type="bridge" name="br0">
  <start mode="onboot"/>
  <protocol family="ipv4">
    <dhcp/>
  </protocol>
  <protocol family="ipv6">
    <autoconf/>
  </protocol>
  <bridge stp="off">
    <interface type="ethernet" name="eth0">
      <mac address="52:54:00:12:34:56"/>
    </interface>
  </bridge>
</interface>
`;

test('hostile XML: DTDs and entities (billion laughs, XXE) are refused with line and column, nothing expanded or fetched', (t) => {
  rejected(t, '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n<interface type="ethernet" name="&lol2;"/>',
    'InvalidArgs', /line 2, column \d+: a DOCTYPE is not accepted/);
  rejected(t, '<!DOCTYPE i SYSTEM "file:///etc/passwd"><interface/>', 'InvalidArgs', /line 1, column \d+: a DOCTYPE/);
  rejected(t, '<interface type="ethernet" name="&xxe;"/>', 'InvalidArgs', /line 1, column \d+: undefined entity/);
  rejected(t, '<?xml-stylesheet href="http://x/"?><interface/>', 'InvalidArgs', /processing instruction/);
});

test('hostile XML: size, namespaces, wrong root, text and CDATA are refused', (t) => {
  rejected(t, `<interface type="ethernet" name="eth0">${' '.repeat(10 * 1024 * 1024)}</interface>`, 'InvalidArgs', /10485\d+ bytes long; at most 65536/);
  rejected(t, '<interface xmlns="urn:x" type="ethernet" name="eth0"/>', 'InvalidArgs', /namespaces are not accepted/);
  rejected(t, '<i:interface xmlns:i="urn:x" type="ethernet" name="eth0"/>', 'InvalidArgs', /namespaces are not accepted/);
  rejected(t, '<network><name>default</name></network>', 'InvalidArgs', /line 1, column 1: the root element must be <interface>, not <network>/);
  rejected(t, '<interface type="ethernet" name="eth0">hello</interface>', 'InvalidArgs', /takes no text/);
  rejected(t, '<interface type="ethernet" name="eth0"><![CDATA[x]]></interface>', 'InvalidArgs', /CDATA/);
  rejected(t, '<interface type="ethernet" name="eth0">', 'InvalidArgs', /line 1, column \d+: unclosed tag/);
  rejected(t, '', 'InvalidArgs', /root/);
});

test('the schema\'s rules: unknown elements and attributes, bad values, missing parts, with their line', (t) => {
  rejected(t, '<interface type="ethernet" name="eth0">\n  <foo/>\n</interface>', 'InvalidArgs', /line 2, column 3: <foo> is not allowed in <interface type='ethernet'>/);
  rejected(t, '<interface type="ethernet" name="eth0" colour="red"/>', 'InvalidArgs', /no attribute 'colour'/);
  rejected(t, '<interface type="wifi" name="wlan0"/>', 'InvalidArgs', /type must be one of/);
  rejected(t, '<interface type="ethernet" name="eth0"><mac address="52:54:00:12:34"/></interface>', 'InvalidArgs', /not a MAC address/);
  rejected(t, '<interface type="ethernet" name="eth 0"/>', 'InvalidArgs', /not a device name/);
  rejected(t, '<interface type="ethernet" name="eth0"><protocol family="ipv4"><ip address="192.0.2.300"/></protocol></interface>', 'InvalidArgs', /not an IPv4 address/);
  rejected(t, '<interface type="ethernet" name="eth0"><protocol family="ipv4"><ip address="192.0.2.3" prefix="33"/></protocol></interface>', 'InvalidArgs', /prefix must be a whole number from 0 to 32/);
  rejected(t, '<interface type="ethernet" name="eth0"><protocol family="ipv4"/><protocol family="ipv4"/></interface>', 'InvalidArgs', /one <protocol> of each family/);
  rejected(t, '<interface type="ethernet" name="eth0"><protocol family="ipv4"><autoconf/></protocol></interface>', 'InvalidArgs', /<autoconf> is not allowed/);
  rejected(t, '<interface type="bridge" name="br0"/>', 'InvalidArgs', /needs a <bridge> element/);
  rejected(t, '<interface type="bridge" name="br0"><mac address="52:54:00:12:34:56"/><bridge/></interface>', 'InvalidArgs', /<mac> is not allowed in <interface type='bridge'>/);
  rejected(t, '<interface type="bridge" name="br0"><bridge stp="yes"/></interface>', 'InvalidArgs', /stp must be one of 'on', 'off'/);
  rejected(t, '<interface type="bridge" name="br0"><bridge delay="-1"/></interface>', 'InvalidArgs', /delay must be a number of seconds/);
  rejected(t, '<interface type="bridge" name="br0"><bridge><interface type="bridge" name="br1"><bridge/></interface></bridge></interface>', 'InvalidArgs', /type of a port of a bridge must be one of 'ethernet', 'bond', 'vlan'/);
  rejected(t, '<interface type="bridge" name="br0"><bridge><interface type="ethernet" name="eth0"><mtu size="1500"/></interface></bridge></interface>', 'InvalidArgs', /<mtu> is not allowed/);
  rejected(t, '<interface type="vlan"><vlan tag="4096"><interface name="eth0"/></vlan></interface>', 'InvalidArgs', /tag must be a whole number from 0 to 4095/);
  rejected(t, '<interface type="bond" name="bond0"><bond mode="active-backup"/></interface>', 'InvalidArgs', /<bond> needs at least one <interface>/);
  rejected(t, '<interface type="ethernet" name="eth0"><start mode="sometimes"/></interface>', 'InvalidArgs', /mode must be one of 'onboot', 'none', 'hotplug'/);
});

test('what the schema allows parses: every element of a full definition', (t) => {
  const def = parseInterfaceXml(`<interface type='bridge' name='br0'>
  <start mode='onboot'/><mtu size=' 1500 '/>
  <protocol family='ipv6'><autoconf/><dhcp peerdns='no'/><ip address='2001:db8::10' prefix='64'/><route gateway='2001:db8::1'/></protocol>
  <protocol family='ipv4'><ip address='192.0.2.10'/><route gateway='192.0.2.1'/></protocol>
  <bridge stp='on' delay='2.5'>
    <interface type='vlan' name='eth0.7'><link state='up'/><vlan tag='7'><interface name='eth0'/></vlan></interface>
    <interface type='bond' name='bond0'><bond mode='802.3ad'><miimon freq='100' carrier='netif'/><interface type='ethernet' name='eth1'/></bond></interface>
  </bridge>
</interface>`);
  t.is(def.mtu, 1500);
  t.deepEqual(def.bridge?.delay, 2.5);
  t.deepEqual(def.protocols?.map((p) => p.family), ['ipv6', 'ipv4']);
  t.like(def.bridge?.ports[1], { type: 'bond', bond: { mode: '802.3ad', miimon: { freq: 100, carrier: 'netif' } } });
});

const NIC_INACTIVE_XML = readFileSync(loadCases().find((c) => c.name === 'configured-nic-dhcp')?.expectedPath ?? '', 'utf8');

const NIC: DefinedNic = {
  iface: { name: 'eth0', type: 'ethernet', mac: '52:54:00:12:34:56', carrier: true, addresses: [], sharedThrough: undefined, controller: undefined, managed: true },
  mtu: 1500,
  configured: parseInterfaceXml(NIC_INACTIVE_XML),
};

function notSupported(t: import('ava').ExecutionContext, xml: string, message: RegExp): void {
  const err = t.throws(() => definedShare(parseInterfaceXml(xml), NIC), { instanceOf: ShareError });
  t.is(err?.code, 'NotSupported', err?.message);
  t.regex(err?.message ?? '', message);
}

test('DefineInterfaceXML: what virsh iface-bridge writes becomes a Share', (t) => {
  t.deepEqual(definedShare(parseInterfaceXml(IFACE_BRIDGE_NO_STP), NIC), { nic: 'eth0', bridge: 'br0', stp: false, forwardDelay: 0 });
  // STP on, as iface-bridge's default, with a delay the kernel takes; without <protocol>, the NIC's own.
  t.deepEqual(definedShare(parseInterfaceXml("<interface type='bridge' name='br1'><bridge stp='on' delay='4'><interface type='ethernet' name='eth0'/></bridge></interface>"), NIC),
    { nic: 'eth0', bridge: 'br1', stp: true, forwardDelay: 4 });
  // Without STP the kernel ignores the delay, so it may say anything.
  t.like(definedShare(parseInterfaceXml("<interface type='bridge' name='br1'><bridge stp='off' delay='15'><interface type='ethernet' name='eth0'/></bridge></interface>"), NIC), { stp: false, forwardDelay: 0 });
});

test('DefineInterfaceXML: what the schema allows but sharing cannot honour is NotSupported, with the reason', (t) => {
  const bridge = (inner: string, top = '') => `<interface type='bridge' name='br0'>${top}<bridge stp='off'>${inner}</bridge></interface>`;
  const port = "<interface type='ethernet' name='eth0'/>";
  notSupported(t, bridge(`${port}<interface type='ethernet' name='eth1'/>`), /has 2 ports \(eth0, eth1\)/);
  notSupported(t, bridge(''), /has no port/);
  notSupported(t, bridge(port, "<start mode='hotplug'/>"), /hotplug/);
  notSupported(t, bridge(port, "<mtu size='9000'/>"), /MTU 1500/);
  notSupported(t, bridge(port, "<protocol family='ipv4'><ip address='192.0.2.99' prefix='24'/></protocol>"), /differs from eth0's own IP configuration/);
  notSupported(t, bridge("<interface type='ethernet' name='eth0'><mac address='52:54:00:00:00:01'/></interface>"), /not eth0's MAC/);
  notSupported(t, "<interface type='ethernet' name='eth0'/>", /only a bridge can be defined/);
  notSupported(t, "<interface type='bridge' name='br0'><bridge stp='on' delay='0'><interface type='ethernet' name='eth0'/></bridge></interface>", /from 2 to 30.*not 0/);
  notSupported(t, "<interface type='bridge' name='br0'><bridge stp='on' delay='2.5'><interface type='ethernet' name='eth0'/></bridge></interface>", /whole number/);
  const err = t.throws(() => definedShare(parseInterfaceXml(bridge("<interface type='bond' name='eth0'><bond><interface type='ethernet' name='eth1'/></bond></interface>")), NIC));
  t.is((err as ShareError).code, 'InvalidArgs');
});

test('options: unknown keys and wrong types are InvalidArgs', (t) => {
  t.deepEqual(decodeDefineOptions(new Map()), { rollbackTimeout: 60, persist: true, firewall: true, confirmTimeout: 0 });
  t.deepEqual(decodeInterfaceXmlOptions(new Map([['inactive', makeVariant('b', true)]])), { inactive: true });
  t.is(t.throws(() => decodeInterfaceXmlOptions(new Map([['inactive', makeVariant('s', 'yes')]])), { instanceOf: ShareError })?.code, 'InvalidArgs');
  t.is(t.throws(() => decodeDefineOptions(new Map([['bridge', makeVariant('s', 'br0')]])), { instanceOf: ShareError })?.code, 'InvalidArgs');
});

test('NetworkManager profiles: the NIC\'s, and after sharing the bridge with its port', (t) => {
  const c = loadNmCases().find((x) => x.name === 'dhcp-profile');
  if (c === undefined || c.original === null) throw new Error('no dhcp-profile case');
  const original = settingsFromJson(c.original);
  const profiles = shareProfiles(c.plan, original);
  const macOf = () => '52:54:00:12:34:56';
  const before = configuredInterface('eth0', { all: [original], activeOn: new Map([['eth0', original]]), macOf });
  t.like(before, { name: 'eth0', type: 'ethernet', startOnBoot: true, ipv4: { dhcp: true } });
  const all = [original, profiles.bridge, profiles.port];
  const active = new Map([['eth0', profiles.port], ['br-eth0', profiles.bridge]]);
  const bridge = configuredInterface('br-eth0', { all, activeOn: active, macOf });
  t.like(bridge, { type: 'bridge', bridge: { stp: false, forwardDelay: 15 } });
  t.deepEqual(bridge?.bridge?.ports.map((p) => [p.name, p.ipv4]), [['eth0', undefined]]);
  t.is(bridge?.ipv4?.dhcp, before?.ipv4?.dhcp);
  // The port, on its own: an ethernet without IP configuration.
  t.is(configuredInterface('eth0', { all, activeOn: active, macOf })?.ipv4, undefined);
  t.is(configuredInterface('eth9', { all, activeOn: active, macOf }), undefined);
});

test('ifcfg files: a shared bridge and its port, as netcf read them', (t) => {
  const files = new Map([
    ['br0', parseShvar('DEVICE=br0\nTYPE=Bridge\nONBOOT=yes\nBOOTPROTO=none\nIPADDR=192.0.2.10\nPREFIX=24\nGATEWAY=192.0.2.1\nSTP=no\nDELAY=0\nMACADDR=52:54:00:12:34:56\n')],
    ['eth0', parseShvar('DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nBRIDGE=br0\nBOOTPROTO=none\nONBOOT=yes\n')],
  ]);
  const config = ifcfgConfiguredInterface('br0', files, () => undefined);
  t.like(config, { type: 'bridge', startOnBoot: true, ipv4: { dhcp: false, addresses: ['192.0.2.10/24'], gateway: '192.0.2.1' }, bridge: { stp: false, forwardDelay: 0 } });
  t.is(formatInterfaceXml(configuredInterfaceDefinition(config ?? { name: '', type: 'other', startOnBoot: false })), `<interface type='bridge' name='br0'>
  <start mode='onboot'/>
  <protocol family='ipv4'>
    <ip address='192.0.2.10' prefix='24'/>
    <route gateway='192.0.2.1'/>
  </protocol>
  <bridge stp='off' delay='0'>
    <interface type='ethernet' name='eth0'>
      <mac address='52:54:00:12:34:56'/>
    </interface>
  </bridge>
</interface>
`);
  t.is(ifcfgConfiguredInterface('eth0', files, () => undefined)?.ipv4, undefined);
});

test('iface-bridge builds what virsh iface-bridge builds: the NIC renamed to the bridge, its MAC, bond or VLAN moved to the port', (t) => {
  const nicXml = NIC_INACTIVE_XML;
  const noStp = ifaceBridgeDefinition(nicXml, 'br0', { stp: false });
  t.is(formatInterfaceXml(parseInterfaceXml(noStp)), formatInterfaceXml(parseInterfaceXml(IFACE_BRIDGE_NO_STP)));
  t.deepEqual(definedShare(parseInterfaceXml(noStp), NIC), { nic: 'eth0', bridge: 'br0', stp: false, forwardDelay: 0 });
  // virsh's default is STP on; its --delay goes into the XML only with STP.
  t.like(parseInterfaceXml(ifaceBridgeDefinition(nicXml, 'br0', { stp: true, delay: 4 })).bridge, { stp: true, delay: 4 });
  t.is(parseInterfaceXml(ifaceBridgeDefinition(nicXml, 'br0', { stp: false, delay: 4 })).bridge?.delay, undefined);
  const vlan = parseInterfaceXml(ifaceBridgeDefinition("<interface type='vlan' name='eth0.7'><start mode='onboot'/><mtu size='1400'/><vlan tag='7'><interface name='eth0'/></vlan></interface>", 'br7', { stp: false }));
  t.like(vlan, { type: 'bridge', name: 'br7', start: 'onboot', mtu: 1400 });
  t.deepEqual(vlan.bridge?.ports, [{ type: 'vlan', name: 'eth0.7', vlan: { tag: 7, device: 'eth0' } }]);
  t.throws(() => ifaceBridgeDefinition("<interface type='bridge' name='br0'><bridge/></interface>", 'br1', { stp: false }), { message: /already a bridge/ });
});
