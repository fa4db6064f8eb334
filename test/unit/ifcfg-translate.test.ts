// SPDX-License-Identifier: GPL-2.0-or-later
import test from 'ava';
import { readFileSync } from 'node:fs';
import { IfcfgError } from '../../src/settings/ifcfg/ifcfg-error';
import { parseShvar, shvarEntries, shvarGet, type ShvarFile } from '../../src/settings/ifcfg/ifcfg-shvar';
import { readIfcfgIpConfig } from '../../src/settings/ifcfg/ifcfg-ip-reader';
import { translateIfcfgShare, type IfcfgShareInput } from '../../src/settings/ifcfg/ifcfg-translate';
import { configFileName } from '../../src/settings/ifcfg/ifcfg-validate';
import { effectiveForwardDelay } from '../../src/bridge/share-request';
import { expectedPath, listCases, loadCase, renderCase } from '../fixtures/ifcfg/golden';

const REGENERATE = 'npm run fixtures';

const cases = listCases();
// The IP keys the golden inputs use (a test-side list, independent of the translator's table).
const IP_KEY = /^(IPADDR|PREFIX|NETMASK|GATEWAY|DNS)[0-9]*$|^IPV6|^DHCP|^(DOMAIN|DEFROUTE|PEERDNS|ZONE)$|^IPV4_/;

test('the golden cases are all there', (t) => {
  for (const name of ['static-ipv4', 'dhcp', 'no-file', 'ipv6-static', 'unknown-keys-comments', 'hostile-name']) {
    t.true(cases.includes(name), name);
  }
});

for (const name of cases) {
  test(`golden: ${name}`, (t) => {
    const files = renderCase(loadCase(name));
    const expected = (which: 'bridge' | 'nic'): string => readFileSync(expectedPath(name, which), 'utf8');
    t.is(files.bridgeText, expected('bridge'), `bridge differs; if intended: ${REGENERATE}`);
    t.is(files.nicText, expected('nic'), `NIC differs; if intended: ${REGENERATE}`);
  });

  test(`invariants: ${name}`, (t) => {
    const c = loadCase(name);
    const { bridge, nic, stp } = c.params;
    const files = renderCase(c);
    t.is(files.bridgeFileName, `ifcfg-${bridge}`);
    t.is(files.nicFileName, `ifcfg-${nic}`);

    const br = shvarEntries(parseShvar(files.bridgeText));
    t.is(br.get('DEVICE'), bridge);
    t.is(br.get('TYPE'), 'Bridge');
    t.is(br.get('ONBOOT'), 'yes');
    t.is(br.get('STP'), stp ? 'yes' : 'no');
    t.regex(br.get('DELAY') ?? '', /^[0-9]+$/);
    t.is(br.get('MACADDR'), c.params.nicMac.toUpperCase());
    t.is(br.get('NM_CONTROLLED'), 'no');
    t.false(br.has('HWADDR'));
    t.false(br.has('BRIDGE'));

    const port = shvarEntries(parseShvar(files.nicText));
    t.is(port.get('BRIDGE'), bridge);
    t.is(port.get('BOOTPROTO'), 'none');
    t.is(port.get('ONBOOT'), 'yes');
    for (const key of port.keys()) {
      t.false(IP_KEY.test(key), key);
    }

    if (c.input === undefined) {
      t.is(br.get('BOOTPROTO'), 'dhcp');
      return;
    }
    const input = shvarEntries(parseShvar(c.input));
    // Everything that is not IP configuration stays on the NIC with its value.
    for (const [key, value] of input) {
      if (!IP_KEY.test(key) && !['BOOTPROTO', 'ONBOOT', 'NM_CONTROLLED'].includes(key)) t.is(port.get(key), value, key);
    }
    // The IP configuration arrives on the bridge intact.
    const before = readIfcfgIpConfig(parseShvar(c.input));
    const after = readIfcfgIpConfig(parseShvar(files.bridgeText));
    t.deepEqual(after, before);
  });
}

function share(input: string | undefined, over: Partial<IfcfgShareInput> = {}): ReturnType<typeof translateIfcfgShare> {
  return translateIfcfgShare({
    nicFile: input === undefined ? undefined : parseShvar(input),
    nic: 'eth0',
    nicMac: '52:54:00:12:34:56',
    bridge: 'br0',
    stp: false,
    forwardDelay: 0,
    ...over,
  });
}

function failure(fn: () => unknown): IfcfgError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IfcfgError) return e;
    throw e;
  }
  throw new Error('expected an IfcfgError');
}

test('refuses invalid names, MACs and a bridge named like the NIC', (t) => {
  t.is(failure(() => share(undefined, { bridge: 'br0; reboot' })).code, 'InvalidValue');
  t.is(failure(() => share(undefined, { nic: '../eth0' })).code, 'InvalidValue');
  t.is(failure(() => share(undefined, { bridge: 'eth0' })).code, 'InvalidValue');
  t.is(failure(() => share(undefined, { nicMac: '52:54:00:12:34' })).code, 'InvalidValue');
  t.is(failure(() => share(undefined, { nicMac: '01:00:5e:00:00:01' })).code, 'InvalidValue');
});

test('STP: every plan the domain makes with STP is Unsupported (with a hint); without STP, DELAY=0', (t) => {
  const delay = (stp: boolean, forwardDelay: number): string | undefined =>
    shvarGet(parseShvar(share(undefined, { stp, forwardDelay }).bridgeText), 'DELAY');
  for (const asked of [0, 2, 15, 30]) {
    // The forward delay the domain plans for what a caller asked (planShare uses the same rule).
    t.is(delay(false, effectiveForwardDelay({ stp: false, forwardDelay: asked })), '0', String(asked));
    const e = failure(() => delay(true, effectiveForwardDelay({ stp: true, forwardDelay: asked })));
    t.is(e.code, 'Unsupported', String(asked));
    t.truthy(e.hint);
  }
  // What the domain never plans is refused, not guessed at.
  t.is(failure(() => delay(true, 0)).code, 'Unsupported');
  for (const bad of [2, 15, -1, 1.5, Number.NaN]) t.is(failure(() => delay(false, bad)).code, 'InvalidValue', String(bad));
});

test('the golden cases are plans the domain makes: no STP, no forward delay', (t) => {
  for (const name of cases) {
    const { stp, forwardDelay } = loadCase(name).params;
    t.false(stp, name);
    t.is(forwardDelay, effectiveForwardDelay({ stp, forwardDelay }), name);
  }
});

test('refuses a NIC file with lines it cannot read, naming the line', (t) => {
  const e = failure(() => share('DEVICE=eth0\nexport IPADDR=10.0.0.1\n'));
  t.is(e.code, 'InvalidSyntax');
  t.is(e.line, 2);
  const v = failure(() => share('DEVICE=eth0\nIPADDR=$(cat /etc/ip)\n'));
  t.is(v.code, 'InvalidSyntax');
  t.is(v.key, 'IPADDR');
  t.is(failure(() => share('DEVICE=eth0\nCUSTOM=`id`\n')).code, 'InvalidSyntax');
  t.is(failure(() => share('DEVICE=eth0\nNAME="multi\nline"\n')).code, 'InvalidSyntax');
});

test('refuses IP values that fail their strict pattern', (t) => {
  const bad: readonly string[] = [
    'IPADDR=010.0.0.1',
    'PREFIX=33',
    'NETMASK=255.0.255.0',
    'GATEWAY=10.0.0.1.1',
    'DNS1=dns.example.com',
    'BOOTPROTO=DHCP',
    'BOOTPROTO=ibft',
    'IPV6ADDR=2001:db8::1/129',
    'IPV6ADDR_SECONDARIES="2001:db8::1 nonsense"',
    'IPV6_DEFAULTGW=2001:db8::1%bad/name',
    'GATEWAYDEV="eth0 eth1"',
    'DEFROUTE=maybe',
    'MTU=100000',
    "DHCP_HOSTNAME=\"x'; touch /tmp/p; '\"",
    'DHCP_FQDN="a b"',
  ];
  for (const line of bad) {
    const e = failure(() => share(`DEVICE=eth0\n${line}\n`));
    t.is(e.code, 'InvalidValue', line);
    t.is(e.key, line.split('=')[0], line);
  }
});

test('refuses moved free text that cannot be written on one line', (t) => {
  t.is(failure(() => share("DEVICE=eth0\nDOMAIN=$'a\\nb'\n")).code, 'UnsafeValue');
});

test('refuses a file for another device and NICs that are already ports', (t) => {
  t.is(failure(() => share('DEVICE=eth1\n')).code, 'Mismatch');
  t.is(failure(() => share('HWADDR=52:54:00:99:99:99\n')).code, 'Mismatch');
  // initscripts upper-cases both sides before comparing.
  t.notThrows(() => share('HWADDR=52:54:00:ab:cd:ef\n', { nicMac: '52:54:00:AB:CD:EF' }));
  t.notThrows(() => share('HWADDR=52:54:00:AB:CD:EF\n', { nicMac: '52:54:00:ab:cd:ef' }));
  const ports = ['BRIDGE=br9', 'BRIDGE=br0', 'MASTER=bond0\nSLAVE=yes', 'SLAVE=yes', 'TEAM_MASTER=team0', 'TYPE=Bridge'];
  for (const text of ports) {
    t.is(failure(() => share(`DEVICE=eth0\n${text}\n`)).code, 'Unsupported', text);
  }
});

test('empty IP values count as unset and are not carried over', (t) => {
  const files = share('DEVICE=eth0\nBOOTPROTO=\nIPADDR=10.1.2.3\nPREFIX=8\nGATEWAY=\nDNS1=""\n');
  const br = shvarEntries(parseShvar(files.bridgeText));
  t.is(br.get('BOOTPROTO'), 'none');
  t.is(br.get('IPADDR'), '10.1.2.3');
  t.false(br.has('GATEWAY'));
  t.false(br.has('DNS1'));
  t.is(files.nicText, 'DEVICE=eth0\nBOOTPROTO=none\nBRIDGE=br0\nONBOOT=yes\nNM_CONTROLLED=no\n');
});

test('device references to the NIC follow the IP configuration to the bridge', (t) => {
  const br = shvarEntries(
    parseShvar(share('GATEWAYDEV=eth0\nIPV6_DEFAULTDEV=eth9\nIPV6_DEFAULTGW=fe80::1%eth0\n').bridgeText),
  );
  t.is(br.get('GATEWAYDEV'), 'br0');
  t.is(br.get('IPV6_DEFAULTDEV'), 'eth9');
  t.is(br.get('IPV6_DEFAULTGW'), 'fe80::1%br0');
});

test('keys named like object properties are ordinary unknown keys', (t) => {
  const files = share('DEVICE=eth0\nconstructor=a\n__proto__=b\ntoString=c\n');
  t.is(
    files.nicText,
    'DEVICE=eth0\nconstructor=a\n__proto__=b\ntoString=c\nBRIDGE=br0\nBOOTPROTO=none\nONBOOT=yes\nNM_CONTROLLED=no\n',
  );
  t.false(/constructor|__proto__|toString/.test(files.bridgeText));
});

test('configFileName validates the device name', (t) => {
  t.is(configFileName('ifcfg', 'br0'), 'ifcfg-br0');
  t.is(failure(() => configFileName('ifcfg', '../passwd')).code, 'InvalidValue');
});

function ip(text: string): ReturnType<typeof readIfcfgIpConfig> {
  return readIfcfgIpConfig(parseShvar(text));
}

test('readIfcfgIpConfig: static IPv4 with gateway and DNS', (t) => {
  t.deepEqual(ip(readFileSync(expectedPath('static-ipv4', 'bridge'), 'utf8')), {
    bootproto: 'none',
    dhcp: false,
    ipv4Addresses: [{ address: '192.168.122.10', prefix: 24 }],
    ipv4Gateway: '192.168.122.1',
    defaultRoute: true,
    dns: ['192.168.122.1', '9.9.9.9'],
    ipv6Init: false,
    ipv6Autoconf: true,
    dhcpv6: false,
    ipv6Addresses: [],
    ipv6Gateway: undefined,
    ipv6FailureFatal: false,
    mtu: undefined,
  });
});

test('readIfcfgIpConfig: IPV6_FAILURE_FATAL makes IPv6 required (NM\'s ipv6.may-fail=no)', (t) => {
  t.true(ip('DEVICE=br0\nIPV6INIT=yes\nIPV6_FAILURE_FATAL=yes\n').ipv6FailureFatal);
  t.false(ip('DEVICE=br0\nIPV6INIT=yes\nIPV6_FAILURE_FATAL=no\n').ipv6FailureFatal);
});

test('readIfcfgIpConfig: IPv6 static, secondaries default to /64, gateway without device', (t) => {
  const c = ip(readFileSync(expectedPath('ipv6-static', 'bridge'), 'utf8'));
  t.deepEqual(c.ipv4Addresses, [{ address: '10.0.0.5', prefix: 24 }]);
  t.true(c.ipv6Init);
  t.false(c.ipv6Autoconf);
  t.deepEqual(c.ipv6Addresses, [
    { address: '2001:db8:0:1::10', prefix: 64 },
    { address: '2001:db8:0:1::11', prefix: 64 },
    { address: '2001:db8:0:1::12', prefix: 64 },
  ]);
  t.is(c.ipv6Gateway, '2001:db8:0:1::1');
  t.deepEqual(c.dns, ['2001:db8::53']);
});

test('readIfcfgIpConfig: DHCP ignores static keys, as ifup-eth does', (t) => {
  const c = ip('BOOTPROTO=dhcp\nIPADDR=10.0.0.1\nPREFIX=24\nGATEWAY=10.0.0.254\nMTU=9000\nDNS2=1.1.1.1\nDNS1=8.8.8.8');
  t.is(c.bootproto, 'dhcp');
  t.true(c.dhcp);
  t.deepEqual(c.ipv4Addresses, []);
  t.is(c.ipv4Gateway, undefined);
  t.is(c.mtu, 9000);
  t.deepEqual(c.dns, ['8.8.8.8', '1.1.1.1']);
});

test('readIfcfgIpConfig: numbered addresses follow expand_config', (t) => {
  const c = ip(
    [
      'IPADDR=10.0.0.1', // PREFIX wins over NETMASK
      'PREFIX=16',
      'NETMASK=255.255.255.0',
      'IPADDR1=172.16.5.5', // no PREFIX/NETMASK: classful /16
      'IPADDR2=192.168.7.7',
      'NETMASK2=255.255.255.128',
      'IPADDR4=10.9.9.9', // after the gap at 3: ignored by initscripts
      'DEFROUTE=no',
      'IPV6FORWARDING=yes',
    ].join('\n'),
  );
  t.deepEqual(c.ipv4Addresses, [
    { address: '10.0.0.1', prefix: 16 },
    { address: '172.16.5.5', prefix: 16 },
    { address: '192.168.7.7', prefix: 25 },
  ]);
  t.false(c.defaultRoute);
  t.false(c.ipv6Autoconf);
});

test('readIfcfgIpConfig refuses what it cannot be sure about', (t) => {
  t.is(failure(() => ip('BOOTPROTO=Dhcp\n')).code, 'InvalidValue');
  t.is(failure(() => ip('IPADDR=300.1.1.1\n')).code, 'InvalidValue');
  t.is(failure(() => ip('IPADDR=224.0.0.1\n')).code, 'InvalidValue');
  t.is(failure(() => ip('IPADDR=$(x)\n')).code, 'InvalidSyntax');
  const empty: ShvarFile = parseShvar('');
  t.is(readIfcfgIpConfig(empty).bootproto, 'none');
});
