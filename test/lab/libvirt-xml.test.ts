// SPDX-License-Identifier: GPL-2.0-or-later
// libvirt's interface XML (what virt-manager and virsh iface-* read and define), in one lab with NetworkManager, our daemon, and libvirt's own
// libvirtd (its udev interface backend, the one left where netcf is gone). Every XML we answer is
// checked by xmllint against libvirt's interface.rng; ours and `virsh iface-dumpxml` agree on what
// both describe; the XML `virsh iface-bridge eth0 br0 --no-stp` would define shares eth0 and a
// guest on br0 gets a LAN lease; hostile XML gets its typed error and changes nothing; the CLI's
// virsh-like commands work, human and --json. xmllint comes from test/lab/ensure-libvirt-xml.sh
// and libvirt from test/guest/ensure-libvirt.sh (both run by npm test): without them this fails.
import test from 'ava';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVariant } from '../../src/dbus-wire/bus-value';
import { parseInterfaceXml, type LibvirtInterface } from '../../src/bridge/libvirt-interface-xml';
import { FIXTURE_DIR } from '../fixtures/ifcfg/golden';
import { Lab, REPO_ROOT } from './lab';
import { addGuestNamespace, guestDhcp, removeGuestNamespace } from './lab-guests';
import { LabLibvirt } from './libvirt-lab';
import { globalAddresses, links, networkState } from './nm-state';
import { callError, ServiceClient } from './service-client';

const RNG = '/usr/share/libvirt/schemas/interface.rng';
const CLI = join(REPO_ROOT, 'bin', 'shared-interface');
const NIC_MAC = '52:54:00:12:34:56';
// The lab's "Wired eth0": DHCP and IPv6 autoconfiguration, brought up at boot.
const ETH0_INACTIVE = `<interface type='ethernet' name='eth0'>
  <start mode='onboot'/>
  <protocol family='ipv4'>
    <dhcp/>
  </protocol>
  <protocol family='ipv6'>
    <autoconf/>
  </protocol>
  <mac address='${NIC_MAC}'/>
</interface>
`;
// What `virsh iface-bridge eth0 br0 --no-stp` defines from that (virsh-interface.c: the NIC's
// inactive XML, type and name changed to the bridge's, a <bridge stp='off'> holding an
// <interface> of the NIC's type and name to which its <mac> moves), as libxml2 writes it.
const VIRSH_IFACE_BRIDGE_NO_STP = `<?xml version="1.0"?>
<interface type="bridge" name="br0">
  <start mode="onboot"/>
  <protocol family="ipv4">
    <dhcp/>
  </protocol>
  <protocol family="ipv6">
    <autoconf/>
  </protocol>
  <bridge stp="off"><interface type="ethernet" name="eth0"><mac address="${NIC_MAC}"/></interface></bridge>
</interface>
`;
const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<interface type="bridge" name="&lol3;"><bridge><interface type="ethernet" name="eth0"/></bridge></interface>`;


/** Each port's name, MAC and link, as both XMLs describe ports. */
function ports(def: LibvirtInterface): Array<[string | undefined, string | undefined, unknown]> {
  return (def.bridge?.ports ?? []).map((p) => [p.name, p.mac?.toLowerCase(), p.link]);
}

test('libvirt interface XML: valid against interface.rng, the same as virsh iface-dumpxml, iface-bridge\'s XML shares eth0, hostile XML refused, the virsh-like CLI', async (t) => {
  const lab = await Lab.start();
  const bus = await lab.connect();
  try {
    await lab.startDaemon();
    const client = new ServiceClient(bus);
    const getXml = async (name: string, inactive = false): Promise<string> => {
      const [xml] = await client.call('GetInterfaceXML', 'sa{sv}', [name, inactive ? { inactive: makeVariant('b', true) } : {}]);
      if (typeof xml !== 'string') throw new Error('GetInterfaceXML answered no string');
      return xml;
    };
    const define = (xml: string) => client.call('DefineInterfaceXML', 'sa{sv}', [xml, {}]);
    const validate = async (what: string, xml: string): Promise<void> => {
      const r = await lab.exec(['xmllint', '--noout', '--relaxng', RNG, '-'], { input: xml, allowFailure: true });
      t.is(r.code, 0, `${what} fails libvirt's schema:\n${xml}\n${r.stderr}`);
    };
    const validateAll = async (names: readonly string[]): Promise<Map<string, string>> => {
      const out = new Map<string, string>();
      for (const name of names) {
        for (const inactive of [false, true]) {
          const xml = await getXml(name, inactive);
          await validate(`${name}${inactive ? ' --inactive' : ''}`, xml);
          out.set(`${name}${inactive ? ' --inactive' : ''}`, xml);
        }
      }
      return out;
    };
    const cli = (args: string[], input?: string) => lab.exec([CLI, ...args], { allowFailure: true, timeoutMs: 180_000, ...(input === undefined ? {} : { input }) });

    // 1. eth0 before sharing, live and configured.
    const before = await validateAll(['eth0']);
    t.is(before.get('eth0 --inactive'), ETH0_INACTIVE);
    t.regex(before.get('eth0') ?? '', new RegExp(`<mac address='${NIC_MAC}'/>[\\s\\S]*</interface>`));
    t.regex(before.get('eth0') ?? '', /<dhcp\/>\n {4}<ip address='192\.0\.2\.1\d\d' prefix='24'\/>\n {4}<route gateway='192\.0\.2\.1'\/>/);
    // Our own golden outputs pass the same schema.
    const fixtures = join(REPO_ROOT, 'test', 'fixtures', 'libvirt');
    for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.expected.xml'))) await validate(file, readFileSync(join(fixtures, file), 'utf8'));

    // 2. Hostile XML: its typed error, and nothing changes.
    const state = await networkState(lab);
    const invalidArgs = 'org.freedesktop.DBus.Error.InvalidArgs';
    const laughs = await callError(define(BILLION_LAUGHS));
    t.is(laughs.name, invalidArgs);
    t.regex(laughs.message, /line 6, column \d+: a DOCTYPE is not accepted/);
    const xxe = await callError(define('<!DOCTYPE i [<!ENTITY x SYSTEM "file:///etc/shadow">]><interface type="ethernet" name="&x;"/>'));
    t.is(xxe.name, invalidArgs);
    // 10 MiB: refused by its size before any parsing (or by the bus's own limits, also typed).
    const huge = await callError(define(`<interface type="bridge" name="br0"><!--${'x'.repeat(10 * 1024 * 1024)}--></interface>`));
    t.true([invalidArgs, 'org.freedesktop.DBus.Error.LimitsExceeded'].includes(huge.name), huge.name);
    const wrongRoot = await callError(define("<network><name>default</name><bridge name='virbr0'/></network>"));
    t.is(wrongRoot.name, invalidArgs);
    t.regex(wrongRoot.message, /line 1, column 1: the root element must be <interface>, not <network>/);
    const twoPorts = await callError(define("<interface type='bridge' name='br0'><bridge stp='off'><interface type='ethernet' name='eth0'/><interface type='ethernet' name='lo'/></bridge></interface>"));
    t.is(twoPorts.name, 'org.fedoraproject.SharedInterface.Error.NotSupported');
    t.regex(twoPorts.message, /2 ports \(eth0, lo\)/);
    const schema = await callError(define("<interface type='bridge' name='br0'>\n  <bridge stp='maybe'/>\n</interface>"));
    t.is(schema.name, invalidArgs);
    t.regex(schema.message, /line 2, column 3: <bridge>'s stp must be one of 'on', 'off'/);
    t.deepEqual(await networkState(lab), state);
    t.deepEqual(await client.shared(), new Map());

    // 3. What virsh iface-bridge eth0 br0 --no-stp defines shares eth0 as br0; a guest on it is on the LAN.
    t.deepEqual(await define(VIRSH_IFACE_BRIDGE_NO_STP), ['br0']);
    const shared = await links(lab);
    t.is(shared.get('eth0')?.master, 'br0');
    t.is(shared.get('br0')?.address, NIC_MAC);
    t.deepEqual(await client.shared(), new Map([['eth0', 'br0']]));
    // Defined again, it is already so: a no-op, as a second Share through the same bridge.
    t.deepEqual(await define(VIRSH_IFACE_BRIDGE_NO_STP), ['br0']);
    const guest = await addGuestNamespace(lab, 'guest1', 'br0', '02:00:00:00:00:01');
    const lease = await guestDhcp(lab, guest);
    t.regex(lease, /^192\.0\.2\.1\d\d$/);
    t.regex(readFileSync(join(lab.dir, 'dnsmasq.leases'), 'utf8'), /02:00:00:00:00:01/);

    // 4. The shared bridge and its port, live and configured.
    const after = await validateAll(['br0', 'eth0']);
    const ours = parseInterfaceXml(after.get('br0') ?? '');
    t.deepEqual(ours.protocols?.find((p) => p.family === 'ipv4')?.ips.map((ip) => `${ip.address}/${ip.prefix ?? ''}`),
      globalAddresses((await links(lab)).get('br0')).filter((a) => !a.includes(':')), 'the bridge\'s addresses are the kernel\'s');
    t.like(parseInterfaceXml(after.get('br0 --inactive') ?? ''), { type: 'bridge', start: 'onboot', bridge: { stp: false } });
    t.deepEqual(parseInterfaceXml(after.get('br0 --inactive') ?? '').bridge?.ports, [{ type: 'ethernet', name: 'eth0', mac: NIC_MAC }]);

    // 5. libvirt's own view of the same bridge (its udev backend reads sysfs; no udevd is needed).
    const libvirt = await LabLibvirt.start(lab);
    const theirsXml = await libvirt.virsh(['iface-dumpxml', 'br0']);
    t.log(`ours (GetInterfaceXML br0):\n${after.get('br0') ?? ''}`);
    t.log(`libvirt's (virsh iface-dumpxml br0):\n${theirsXml}`);
    await validate('virsh iface-dumpxml br0', theirsXml);
    const theirs = parseInterfaceXml(theirsXml);
    t.is(theirs.name, ours.name);
    t.is(theirs.type, ours.type);
    t.is(theirs.mtu, ours.mtu);
    t.is(theirs.bridge?.stp, ours.bridge?.stp);
    // libvirt's udev backend copies sysfs's forward_delay, which counts centiseconds (USER_HZ);
    // the XML's delay, as virsh iface-bridge --delay and netcf wrote it, is seconds.
    t.is(theirs.bridge?.delay, (ours.bridge?.delay ?? NaN) * 100);
    t.deepEqual(ports(theirs), ports(ours), 'the same ports (eth0 and the guest\'s veth) with the same MACs and links');
    t.deepEqual(ports(ours).map(([name]) => name), ['eth0', guest.port]);
    // That backend reports no addresses at all (nprotos = 0); ours are checked against ip above.
    t.is(theirs.protocols, undefined);
    const theirsPort = parseInterfaceXml(await libvirt.virsh(['iface-dumpxml', 'eth0']));
    const oursPort = parseInterfaceXml(after.get('eth0') ?? '');
    t.deepEqual([theirsPort.mac, theirsPort.mtu, theirsPort.link], [oursPort.mac, oursPort.mtu, oursPort.link]);
    await removeGuestNamespace(lab, guest);

    // 6. The CLI, as a libvirt user would use it.
    const dump = await cli(['dumpxml', 'br0', '--inactive']);
    t.is(dump.code, 0, dump.stderr);
    t.is(dump.stdout, after.get('br0 --inactive') ?? '');
    const dumpJson = JSON.parse((await cli(['--json', 'dumpxml', 'eth0'])).stdout) as { schema: number; interface: string; inactive: boolean; xml: string };
    t.like(dumpJson, { schema: 1, interface: 'eth0', inactive: false });
    await validate('dumpxml --json', dumpJson.xml);
    const missing = await cli(['dumpxml', 'nosuch0']);
    t.is(missing.code, 10);
    t.regex(missing.stderr, /no network interface named nosuch0[\s\S]*NoSuchInterface/);
    const unbridged = await cli(['iface-unbridge', 'br0', '--json']);
    t.is(unbridged.code, 0, unbridged.stderr);
    t.like(JSON.parse(unbridged.stdout), { schema: 1, bridge: 'br0', interface: 'eth0', shared: false });
    t.false((await links(lab)).has('br0'));
    const bridged = await cli(['iface-bridge', 'eth0', 'br1', '--no-stp']);
    t.is(bridged.code, 0, bridged.stderr);
    t.is(bridged.stdout, 'Created bridge br1 with attached device eth0\nBridge interface br1 started\n');
    t.is((await links(lab)).get('eth0')?.master, 'br1');
    const noStart = await cli(['iface-bridge', 'eth0', 'br2', '--no-start', '--json']);
    t.is(noStart.code, 1);
    t.like(JSON.parse(noStart.stdout), { error: 'org.fedoraproject.SharedInterface.Error.NotSupported' });
    const notShared = await cli(['iface-unbridge', 'br9']);
    t.is(notShared.code, 10);
    t.regex(notShared.stderr, /br9 is not a bridge shared through this service/);
    t.is((await cli(['iface-unbridge', 'br1'])).stdout, 'Device eth0 un-attached from bridge br1\nInterface eth0 started\n');
    const refused = await cli(['define', '-', '--json'], "<interface type='bridge' name='br3'><start mode='hotplug'/><bridge><interface type='ethernet' name='eth0'/></bridge></interface>");
    t.is(refused.code, 1);
    t.like(JSON.parse(refused.stdout), { error: 'org.fedoraproject.SharedInterface.Error.NotSupported' });
    t.regex(refused.stderr, /hotplug/);
    const badXml = await cli(['define', '-'], "<interface type='bridge' name='br3'>\n<bridge></interface>");
    t.is(badXml.code, 2);
    t.regex(badXml.stderr, /line 2, column \d+/);
    const defined = await cli(['define', '-'], ETH0_INACTIVE.replace("<interface type='ethernet' name='eth0'>", "<interface type='bridge' name='br4'>").replace(`  <mac address='${NIC_MAC}'/>\n`, "  <bridge stp='off'><interface type='ethernet' name='eth0'/></bridge>\n"));
    t.is(defined.code, 0, defined.stderr);
    t.regex(defined.stdout, /^Interface br4 defined from standard input/);
    t.is((await cli(['iface-unbridge', 'br4'])).code, 0);
    t.deepEqual(await client.shared(), new Map());
  } finally {
    bus.close();
    await lab.stop();
  }
});

test('without NetworkManager: the ifcfg files\' view (--inactive) is valid, and iface-bridge shares eth0 through them', async (t) => {
  const lab = await Lab.start({ networkManager: false });
  const bus = await lab.connect();
  try {
    const ifcfgDir = join(lab.dir, 'network-scripts');
    mkdirSync(ifcfgDir);
    writeFileSync(join(ifcfgDir, 'ifcfg-eth0'), readFileSync(join(FIXTURE_DIR, 'lab-static.input')), { mode: 0o644 });
    await lab.sh('ip addr add 192.0.2.10/24 dev eth0 && ip route add default via 192.0.2.1 dev eth0');
    await lab.startDaemon(['--ifcfg-dir', ifcfgDir, '--state-dir', join(lab.dir, 'state')]);
    const client = new ServiceClient(bus);
    const getXml = async (name: string, inactive: boolean): Promise<string> => {
      const [xml] = await client.call('GetInterfaceXML', 'sa{sv}', [name, inactive ? { inactive: makeVariant('b', true) } : {}]);
      if (typeof xml !== 'string') throw new Error('GetInterfaceXML answered no string');
      const r = await lab.exec(['xmllint', '--noout', '--relaxng', RNG, '-'], { input: xml, allowFailure: true });
      t.is(r.code, 0, `${name}${inactive ? ' --inactive' : ''} fails libvirt's schema:\n${xml}\n${r.stderr}`);
      return xml;
    };
    const nic = parseInterfaceXml(await getXml('eth0', true));
    t.like(nic, { type: 'ethernet', name: 'eth0', start: 'onboot' });
    t.deepEqual(nic.protocols?.find((p) => p.family === 'ipv4'), { family: 'ipv4', ips: [{ address: '192.0.2.10', prefix: 24 }], gateway: '192.0.2.1' });
    const bridged = await lab.exec([CLI, 'iface-bridge', 'eth0', 'br0', '--no-stp', '--json'], { allowFailure: true, timeoutMs: 180_000 });
    t.is(bridged.code, 0, bridged.stderr);
    t.like(JSON.parse(bridged.stdout), { interface: 'eth0', bridge: 'br0', stp: false });
    t.is((await links(lab)).get('eth0')?.master, 'br0');
    const bridge = parseInterfaceXml(await getXml('br0', true));
    t.deepEqual(bridge.protocols?.find((p) => p.family === 'ipv4'), nic.protocols?.find((p) => p.family === 'ipv4'), 'the bridge\'s file carries the NIC\'s addresses');
    t.deepEqual(bridge.bridge?.ports.map((p) => [p.type, p.name, p.mac]), [['ethernet', 'eth0', NIC_MAC]]);
    await getXml('br0', false);
    await getXml('eth0', false);
    t.is(parseInterfaceXml(await getXml('eth0', true)).protocols, undefined, 'the port\'s file has no IP configuration');
    const unbridged = await lab.exec([CLI, 'iface-unbridge', 'br0'], { allowFailure: true, timeoutMs: 180_000 });
    t.is(unbridged.code, 0, unbridged.stderr);
    t.deepEqual(parseInterfaceXml(await getXml('eth0', true)), nic);
  } finally {
    bus.close();
    await lab.stop();
  }
});
